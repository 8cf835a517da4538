"""The headline card: the numbers that matter, picked by what metrics.json holds, with units."""

import math

import pytest

from torchlvm.report.headline import HEADLINE_LABELS, headline, missing_headlines


def cards_by_key(metrics):
    return {card.key: card for card in headline(metrics)}


def test_demo_vae_headline_numbers_labels_and_units(demo_metrics):
    cards = headline(demo_metrics)
    assert [c.key for c in cards] == [
        "log_px",
        "elbo",
        "gap",
        "active_units",
        "probe",
        "frechet",
        "outliers",
    ]
    assert all(c.label and c.unit for c in cards)  # nothing unlabelled
    log_px, elbo, gap, active, probe, frechet, outliers = cards
    # the importance-sampled estimate ± its Monte Carlo error, k, nats and bits/dim
    assert (log_px.label, log_px.value, log_px.unit) == (
        "test log p(x)",
        "−23.6512 ± 0.0020",
        "nats/example",
    )
    # the spread over examples beside it: the ± of the value is only the sampler's (userC: PPCA
    # −7.384 beside VAE −7.3411 ± 0.0040 read as separated, where rows spread ± 2.4)
    assert log_px.note == (
        "0.5331 bits/dim · ± 0.1884 over examples (the ± beside the value: the sampler's) · "
        "estimate, k = 1000, ESS 482"
    )
    assert log_px.title.startswith("importance-sampled log p(x)")
    assert (elbo.value, elbo.unit) == ("−24.15", "nats/example")
    assert elbo.note == "0.5445 bits/dim · ± 0.2185 over examples · lower bound, k = 1"
    # the gap is log p(x) − ELBO from the unrounded numbers
    assert gap.value == "0.5035" and gap.unit == "nats/example"
    assert math.isclose(float(gap.value), -23.6512 + 24.1547, abs_tol=1e-4)
    assert "KL(q(z|x) ‖ p(z|x))" in gap.note
    assert (active.value, active.unit, active.note) == (
        "8 of 8",
        "latent dimensions",
        "Cov_x(E_q[zᵢ]) > 0.01",
    )
    # probe accuracy next to the same probe on raw pixels
    assert (probe.value, probe.unit) == ("70.8 ± 1.7", "% accuracy")
    assert probe.note.startswith("raw pixels 71.3 % · logistic probe on posterior means, 5-fold")
    # Fréchet distance next to its real-data floor
    assert (frechet.value, frechet.unit) == ("24.46", "64-d classifier features")
    assert frechet.note == "real-data reference 4.822 · lower is better"
    # outlier AUROC per OOD set, for the likelihood score and the typicality test
    assert outliers.unit == "AUROC (chance 0.5)"
    assert outliers.grid == (
        ("OOD set", "−log p(x)", "typicality"),
        ("noise", "1.000", "1.000"),
        ("flip", "0.719", "0.653"),
        ("other", "0.902", "0.877"),
    )
    assert missing_headlines(demo_metrics, cards) == []


def test_cvae_headline_has_the_conditional_likelihood_and_accuracy(demo_metrics):
    demo_metrics["likelihood"]["quantity"] = "log p(x | c)"
    demo_metrics["sample_quality"]["conditional_accuracy"] = {
        "value": 0.98886,
        "unit": "accuracy",
        "kind": "estimate",
        "note": "samples generated for class c that the classifier calls c",
    }
    cards = cards_by_key(demo_metrics)
    assert cards["log_px"].label == "test log p(x | c)"
    # the bound and the gap are of the conditional model: the KL is to p(z | x, c)
    assert cards["gap"].label == "gap ELBO → log p(x | c)"
    assert cards["gap"].note.startswith("log p(x | c) − ELBO = KL(q(z|x,c) ‖ p(z|x,c))")
    demo_metrics["likelihood"]["quantity"] = "log p(x | x_o)"  # an imputation CVAE's
    gap = cards_by_key(demo_metrics)["gap"]
    assert gap.note.startswith("log p(x | x_o) − ELBO = KL(q(z|x,x_o) ‖ p(z|x,x_o))")
    conditional = cards["conditional"]
    assert (conditional.value, conditional.unit) == ("98.9", "% accuracy")
    assert "classifier's own test accuracy 97.8 %" in conditional.note
    assert list(cards).index("conditional") == list(cards).index("frechet") + 1


def test_autoencoder_states_why_it_has_no_likelihood(demo_metrics):
    reason = "undefined for a deterministic autoencoder: its encoder is a point mass"
    demo_metrics["likelihood"] = {"value": None, "kind": "undefined", "note": reason}
    demo_metrics["sample_quality"]["frechet_fitted_codes"] = {"value": 11.6974}
    cards = cards_by_key(demo_metrics)
    assert "elbo" not in cards and "gap" not in cards
    log_px = cards["log_px"]
    assert (log_px.value, log_px.unit) == ("n/a", "not defined")
    assert log_px.note == "undefined for a deterministic autoencoder"
    assert log_px.title == reason
    # the headline number decodes N(0, I) codes (no prior), the samples figure fitted ones:
    # the card said only 'decoder on fitted codes 11.7' beside a number that is not that
    assert cards["frechet"].note.startswith("decoder on N(0, I) codes; on fitted codes 11.7")
    demo_metrics["model"]["deterministic_encoder"] = True  # an autoencoder has no posterior
    assert "logistic probe on codes, 5-fold CV" in cards_by_key(demo_metrics)["probe"].note


def test_exact_log_likelihood_is_preferred_and_its_gap_is_exact(demo_metrics):
    exact = {"value": -23.5, "unit": "nats/example", "kind": "exact", "note": "closed form"}
    demo_metrics["likelihood"]["exact"] = {
        "nats": exact,
        "bits_per_dim": {"value": 0.53, "unit": "bits/dim", "kind": "exact"},
    }
    cards = cards_by_key(demo_metrics)
    assert cards["log_px"].value == "−23.50"  # no Monte Carlo error on an exact value
    assert cards["log_px"].note == "0.5300 bits/dim · exact"
    assert cards["gap"].value == "0.6547" and cards["gap"].note.endswith("· exact")


def test_an_exact_gap_at_rounding_level_reads_zero(demo_metrics):
    elbo = demo_metrics["likelihood"]["elbo"]["nats"]["value"]
    exact = {"value": elbo + 1.137e-13, "unit": "nats/example", "kind": "exact"}
    demo_metrics["likelihood"]["exact"] = {"nats": exact}
    gap = cards_by_key(demo_metrics)["gap"]
    assert gap.value == "0" and gap.note.endswith("q is p(z|x)")


def test_ppca_fit_metrics_give_the_exact_test_log_likelihood():
    metrics = {  # what `torchlvm fit ppca` writes
        "model": "ppca",
        "unit": "nats per example (exact log p(x))",
        "train_log_likelihood": 17.60924,
        "test_log_likelihood": 16.55523,
        "test_bits_per_dim": -0.37319,
    }
    cards = headline(metrics)
    assert [c.key for c in cards] == ["log_px"]
    (card,) = cards
    assert (card.label, card.value, card.unit) == ("test log p(x)", "16.56", "nats/example")
    assert card.note == "−0.3732 bits/dim · exact · train 17.61"
    assert missing_headlines(metrics, cards) == [
        "active units",
        "probe accuracy",
        "Fréchet distance",
        "outlier AUROC",
    ]


def test_imputation_likelihood_is_a_card():
    metrics = {
        "imputation": {
            "nats": {
                "value": -12.25,
                "unit": "nats/example",
                "kind": "estimate",
                "k": 500,
                "stderr": 0.031,
            },
            "bits_per_dim": {"value": 0.55, "unit": "bits/dim", "kind": "estimate"},
        }
    }
    (card,) = headline(metrics)
    assert (card.key, card.value, card.unit) == ("imputation", "−12.250 ± 0.031", "nats/example")
    assert card.note == "0.5500 bits per missing dim · estimate, k = 500"


ODD = {  # id: (metrics.json content, the cards it still gives)
    "not a dict": ([1, 2, 3], []),
    "empty": ({}, []),
    "wrong types": (
        {
            "likelihood": [],
            "latent": {"active_units": "8", "latent_dim": None},
            "separability": {"latent": {"logistic": {"value": "high"}}},
            "sample_quality": {"frechet": {"value": math.nan}},
            "outliers": {"sets": {"noise": 3, "flip": {"score": {"auroc": {"value": None}}}}},
        },
        [],
    ),
    "infinite": (
        {
            "likelihood": {"log_marginal": {"nats": {"value": -math.inf}}, "elbo": {"value": 1}},
            "test_log_likelihood": True,
        },
        ["elbo"],
    ),
    "deep nesting": ({"likelihood": {"elbo": {"nats": {"value": {"nested": 1}}}}}, []),
}


@pytest.mark.parametrize("metrics, keys", ODD.values(), ids=ODD.keys())
def test_odd_metrics_give_fewer_cards_never_an_error(metrics, keys):
    cards = headline(metrics)
    assert [card.key for card in cards] == keys
    assert all(card.key in HEADLINE_LABELS for card in cards)
    if isinstance(metrics, dict):
        assert len(missing_headlines(metrics, cards)) == 5  # the core numbers, all named


def test_undefined_sections_say_why(demo_metrics):
    demo_metrics["separability"] = {
        "value": None,
        "kind": "undefined",
        "note": "the data has no class labels",
    }
    probe = cards_by_key(demo_metrics)["probe"]
    assert (probe.value, probe.note) == ("n/a", "the data has no class labels")


def test_a_negative_estimated_gap_is_explained_not_called_a_kl(demo_metrics):
    """On 6 table rows the one-draw ELBO (−15.545) stood above the importance-sampled log p(x)
    (−16.181): the card said '−0.6358 = KL(q(z|x) ‖ p(z|x))', a negative KL."""
    demo_metrics["likelihood"]["elbo"]["nats"]["value"] = -23.0
    demo_metrics["protocol"]["n"] = 6
    gap = cards_by_key(demo_metrics)["gap"]
    assert gap.value == "−0.6512"
    assert gap.note.startswith("KL(q(z|x) ‖ p(z|x)) ≥ 0; below 0 by Monte Carlo error")
    assert "two z per example (n = 6)" in gap.note and "= KL" not in gap.note


def test_the_gap_carries_the_monte_carlo_errors_of_both_its_terms(demo_metrics):
    """The ELBO (two z per example) and the estimate each have a Monte Carlo error; their
    difference, from independent draws, has the root of the summed variances."""
    demo_metrics["likelihood"]["elbo"]["nats"]["stderr"] = 0.003
    est = demo_metrics["likelihood"]["log_marginal"]["nats"]["stderr"]  # 0.00201076
    cards = cards_by_key(demo_metrics)
    assert cards["gap"].value.endswith(f"± {math.hypot(0.003, est):.4f}"), cards["gap"].value
    assert cards["elbo"].value.endswith("± 0.0030"), cards["elbo"].value


def test_a_tables_cards_say_features_and_standardized_units(demo_metrics):
    """On a wine table the probe card compared with 'raw pixels' and the log p(x) card gave
    nats/row without saying they are of the standardized columns (the CLI and the detailed
    table do): a table's cards name features and the units of the density; the probe's n is
    stated (5-fold CV on 18 rows is not 5-fold CV on 359 images)."""
    demo_metrics["protocol"].update(shape=[13], example="row")
    demo_metrics["likelihood"]["units"] = "in the run's standardized units"
    for name in ("logistic", "knn"):
        demo_metrics["separability"]["latent"][name]["n"] = 18
    cards = cards_by_key(demo_metrics)
    assert cards["probe"].note.startswith("raw features 71.3 % · logistic probe on posterior")
    assert cards["probe"].note.endswith("5-fold CV, n = 18")
    assert cards["log_px"].note.startswith("in the run's standardized units · 0.5331 bits/dim")
    assert cards["elbo"].note.startswith("in the run's standardized units · 0.5445 bits/dim")


def test_an_image_runs_probe_is_against_raw_pixels(demo_metrics):
    assert cards_by_key(demo_metrics)["probe"].note.startswith("raw pixels 71.3 %")


def test_a_table_without_outliers_is_told_how_to_get_them(demo_metrics):
    """A wine run's report said 'Not in metrics.json: outlier AUROC.' with no word why: a table
    has no default OOD set (evaluate --ood FILE names one)."""
    demo_metrics["protocol"].update(shape=[13], example="row")
    del demo_metrics["outliers"]
    cards = headline(demo_metrics)
    assert missing_headlines(demo_metrics, cards) == [
        "outlier AUROC (a table has no default OOD set: evaluate RUN --ood FILE scores the rows "
        "of FILE against the test split)"
    ]


def test_a_label_cvaes_probe_card_says_its_encoder_was_given_the_class(demo_metrics):
    """The probe card of a CVAE said 'logistic probe on posterior means', as a VAE's does,
    though its q(z | x, c) was given the class the probe reads back."""
    demo_metrics["protocol"]["condition"] = "label"
    assert "on posterior means of q(z|x,class), 5-fold" in cards_by_key(demo_metrics)["probe"].note
    demo_metrics["protocol"]["condition"] = "mask:top"
    assert "on posterior means, 5-fold" in cards_by_key(demo_metrics)["probe"].note


def test_a_split_with_missing_cells_sets_train_beside_test_of_the_same_cells():
    """A PPCA fitted by EM on a table with missing cells, then evaluated: the card set the
    likelihood of the 4 complete test rows (−13.23) beside fit's train number over every row's
    observed cells (−14.47), two quantities as one. It says which rows it covers, and sets the
    train number beside the test split's observed-cell number (−13.63)."""
    exact = {"value": -13.2269, "unit": "nats/row", "kind": "exact"}
    metrics = {  # from `fit ppca --method em --allow-missing` and `evaluate` on wine with holes
        "model": "ppca",
        "train_log_likelihood": -14.47195,
        "test_log_likelihood": -13.63091,
        "likelihood": {
            "quantity": "log p(x)",
            "exact": {"nats": exact},
            "rows": "on the 4 complete rows of 18 only (the observed-cell likelihood covers "
            "every row)",
        },
        "observed_likelihood": {
            "nats": {"value": -13.63091, "unit": "nats/row", "kind": "exact"},
            **{"rows": 18, "incomplete_rows": 14, "missing_cells": 22, "cells": 234},
        },
    }
    card = cards_by_key(metrics)["log_px"]  # (since userC, 17:03: every row's, like with like)
    assert (card.label, card.value) == ("test log p(x_o)", "−13.63")
    assert card.note == (
        "every row's observed cells (18 rows, 14 with missing cells) · exact · log p(x) −13.23 "
        "on the 4 complete rows of 18 only · train −14.47"
    )
    del metrics["observed_likelihood"]  # (a record without it: no train number to set beside)
    assert cards_by_key(metrics)["log_px"].note.endswith("covers every row)")
    for key in ("train_log_likelihood", "test_log_likelihood", "model"):
        del metrics[key]  # an evaluate-only record (a VAE trained with MIWAE): no fit numbers
    assert cards_by_key(metrics)["log_px"].note == (
        "exact · on the 4 complete rows of 18 only (the observed-cell likelihood covers every row)"
    )  # (the card said nothing of the rows it covers without fit's train number)


def test_active_units_undefined_at_one_example_is_a_card_saying_why(demo_metrics):
    """evaluate on a one-example split marks active units undefined (a covariance over one
    example is 0 by construction); the report said only 'Not in metrics.json: active units.'"""
    reason = "a variance over examples needs at least 2 examples; evaluate --split train"
    demo_metrics["latent"]["active_units"] = {"value": None, "kind": "undefined", "note": reason}
    card = cards_by_key(demo_metrics)["active_units"]
    assert (card.value, card.title) == ("n/a", reason)


def test_ppca_em_fit_on_missing_cells_is_said_of_the_observed_cells():
    """A PPCA fitted by EM with --allow-missing: its card said 'test log p(x) · 1.543 bits/dim
    · exact' with no word that rows were scored on their observed cells only, and bits/dim
    divided by D though rows hold fewer cells (userA #38). A run written before fit said so
    (its bits/dim present) reads the same."""
    metrics = {
        "model": "ppca",
        "unit": "nats per row (exact log p(x))",
        "example": "row",
        "train_log_likelihood": -4.875,
        "test_log_likelihood": -4.278,
        "test_bits_per_dim": 1.543,
        "em": {"covers": "observed cells only"},
    }
    (card,) = headline(metrics)
    assert (card.label, card.value) == ("test log p(x_o)", "−4.278")
    assert card.note == "exact over each row's observed cells · train −4.875"
    assert "bits/dim" not in card.note + card.title


def test_a_split_with_missing_cells_headlines_every_rows_observed_cells(demo_metrics):
    """report PPCA_EM VAE on a table with holes put PPCA's log p(x_o) over all 30 test rows
    beside the VAE's log p(x) over its 3 complete rows in one row (userC): where the split has
    missing cells the card is log p(x_o) of every row, which every run records; the complete
    rows' log p(x) follows in the note with its rows."""
    demo_metrics["likelihood"]["rows"] = "on the 3 complete rows of 30 only (the observed-cell ...)"
    q = {"value": -5.3551, "unit": "nats/row", "kind": "estimate", "k": 1000, "stderr": 0.004}
    q["data_stderr"] = 0.41
    demo_metrics["observed_likelihood"] = {
        "nats": q,
        "rows": 30,
        "incomplete_rows": 27,
        "missing_cells": 40,
        "cells": 120,
    }
    card = cards_by_key(demo_metrics)["log_px"]
    assert (card.label, card.value, card.unit) == (
        "test log p(x_o)",
        "−5.3551 ± 0.0040",
        "nats/row",
    )
    assert "every row's observed cells (30 rows, 27 with missing cells)" in card.note
    assert "± 0.4100 over rows" in card.note
    assert card.note.endswith("log p(x) −23.65 on the 3 complete rows of 30 only")


def test_an_estimate_of_few_effective_samples_says_its_error_is_understated(demo_metrics):
    """userD: log p(x) at ESS 2.2 of k = 50 was 12 nats low with a ± of 0.08; the card showed it
    as any other (evaluate prints the caveat since e75157e): the card says so too, and the gap
    from an estimate is 'at least' that."""
    nats = demo_metrics["likelihood"]["log_marginal"]["nats"]
    nats.update(ess=2.2, k=50)
    cards = cards_by_key(demo_metrics)
    assert "ESS under 10: the ± understates its error" in cards["log_px"].note
    assert "at least this" in cards["gap"].note
    nats.update(ess=900.0, k=1000)
    assert "understates" not in cards_by_key(demo_metrics)["log_px"].note


def test_a_frechet_distance_below_its_reference_is_not_read_as_better_than_real():
    """userM #13: the report card said 'real-data floor 53.980' beside a distance of 35.752."""
    from torchlvm.evaluation.records import Evaluation, Quantity, SampleQuality
    from torchlvm.report.headline import frechet

    def note(generated: float) -> str:
        quality = SampleQuality(
            frechet=Quantity(generated, "Fréchet distance", "estimate"),
            frechet_real_reference=Quantity(53.98, "Fréchet distance", "estimate"),
        )
        return frechet(Evaluation(sample_quality=quality)).note

    assert note(35.752) == (
        "real-data reference 53.98 · below it: at this n mostly estimation bias · lower is better"
    )
    assert note(60.0) == "real-data reference 53.98 · lower is better"


@pytest.mark.parametrize(
    "generated, reference",
    [(35.752, 53.98), (60.0, 53.98), (53.98, 53.98), (35.7, math.inf), (35.7, math.nan),
     (math.inf, 53.98), ([1.0, 2.0], 53.98)],
    ids=["below", "above", "equal", "infinite-reference", "nan-reference", "infinite", "a-list"],
)  # fmt: skip
def test_the_console_and_the_card_judge_below_the_reference_by_one_rule(generated, reference):
    """readD D10: evaluate's table and the report card each wrote "below the real-vs-real
    reference" by its own comparison, and they parted where a value was not a finite number
    (the console said an infinite reference was passed, the card said nothing); one rule,
    SampleQuality.lies_below_reference, says it for both."""
    from torchlvm.evaluation.records import Evaluation, Quantity, SampleQuality
    from torchlvm.evaluation.sample_section import below_reference
    from torchlvm.report.headline import frechet

    quality = SampleQuality(
        frechet=Quantity(generated, "Fréchet distance", "estimate"),
        frechet_real_reference=Quantity(reference, "Fréchet distance", "estimate"),
    )
    card = frechet(Evaluation(sample_quality=quality))
    said = card is not None and "below it" in card.note
    assert bool(below_reference(quality)) == said == (generated == 35.752)
