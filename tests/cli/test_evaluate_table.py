"""The table ``torchlvm evaluate`` prints (cli/_evaluate_table.py), row by row."""

from __future__ import annotations

import pytest

from torchlvm.cli._evaluate_table import WIDTH, _outlier_rows, format_table
from torchlvm.evaluation.records import Evaluation, Outliers, Protocol


def test_a_skipped_sets_reason_is_printed_whole_wrapped_at_words() -> None:
    """A skip reason was cut at 80 characters, mid-word, losing its fix: it is wrapped."""
    reason = (
        "OOD set 'fashion-mnist' was not found (looked in /usr/share/datasets/fashion-mnist and "
        "$TORCHLVM_DATA/fashion-mnist); install dataset-fashion-mnist or pass --ood noise,flip"
    )
    rows = _outlier_rows(Outliers(skipped={"fashion-mnist": reason}))
    lines = "\n".join(rows[1:]).splitlines()
    assert len(lines) > 1 and all(len(line) <= WIDTH for line in lines)
    assert lines[0].startswith("  fashion-mnist: skipped")
    assert all(line.startswith(" " * 47) for line in lines[1:])  # under the first line's text
    assert " ".join(line.strip() for line in lines).endswith(reason)  # every word, in order


def _codes_table(model: str, deterministic: bool = False, condition: str | None = None) -> str:
    """The table of a run whose record holds a reconstruction and probe accuracies alone."""
    from torchlvm.evaluation.records import (
        Evaluation,
        ModelInfo,
        Probes,
        Protocol,
        Quantity,
        Reconstruction,
        Separability,
    )

    accuracy = Probes(Quantity(0.9, "accuracy"), Quantity(0.8, "accuracy"))
    return format_table(
        Evaluation(
            model=ModelInfo(model, 4, deterministic),
            protocol=Protocol(condition=condition),
            reconstruction=Reconstruction(Quantity(3.0), Quantity(0.05)),
            separability=Separability(latent=accuracy),
        )
    )


def test_an_autoencoders_table_names_its_code_not_a_posterior() -> None:
    """An autoencoder's table said 'x̂ = decoder mean at the posterior mean' and 'posterior
    means: logistic / 5-NN': it has a code f(x), no posterior."""
    ae, vae = _codes_table("ae", deterministic=True), _codes_table("vae")
    assert "x̂ = decoder mean at the code f(x))" in ae and "the codes f(x): logistic" in ae
    assert "posterior" not in ae
    assert "x̂ = decoder mean at the posterior mean)" in vae and "posterior means: logistic" in vae


def test_a_cvaes_probes_say_its_encoder_was_given_the_class() -> None:
    """A CVAE's table said 'posterior means: logistic / 5-NN' as a VAE's does, though its
    q(z | x, c) was given the class the probes then read back: its rows say so (a mask
    condition gives no class, so its rows stay as they were)."""
    label = _codes_table("cvae", condition="label")
    assert "posterior means of q(z|x,class): logistic / 5-NN" in label
    lines = label.splitlines()  # (its values in the column the others share, under the label)
    at = next(i for i, line in enumerate(lines) if "of q(z|x,class): logistic" in line)
    assert lines[at].endswith("logistic / 5-NN") and lines[at + 1][47:].startswith("0.9")
    assert "  posterior means: logistic / 5-NN" in _codes_table("cvae", condition="mask:top")
    # a label that is noise read back at 0.900 beside raw features' 0.467 (userA): said why
    assert "q is given each example's class" in label
    assert "given each" not in _codes_table("cvae", condition="mask:top")


def test_the_outlier_heading_nests_no_parentheses() -> None:
    description = "−log p(x), importance-sampled, k=100 (higher = more anomalous; positives = OOD)"
    heading = _outlier_rows(Outliers(score_description=description))[0]
    assert heading == f"outliers: AUROC / AUPRC; score: {description}"


def _likelihood(posterior: str | None = None, k: int = 50, ess: float = 900.0, ais=None):
    from torchlvm.evaluation.records import Evaluation, Likelihood, Pair, Quantity

    def pair(value: float, kind: str, kk: int) -> Pair:
        return Pair(Quantity(value, "nats/example", kind, kk, stderr=0.05, ess=ess))  # type: ignore[arg-type]

    like = Likelihood(
        elbo=pair(-260.0, "bound", 1),
        iwae={1: pair(-260.0, "bound", 1), 10: pair(-253.0, "bound", 10),
              100: pair(-251.55, "bound", 100)},
        log_marginal=pair(-252.07, "estimate", k),
        posterior=posterior,
        ais=None if ais is None else pair(ais, "estimate", 16),
    )  # fmt: skip
    return format_table(Evaluation(likelihood=like))


def test_a_refined_q_is_named_above_the_likelihood_rows() -> None:
    """``evaluate --refine 50`` printed the same rows as without it; only metrics.json said that
    every bound and estimate used the encoder's q refined by 50 Adam steps."""
    refined = "encoder q refined by 50 Adam steps per example"
    lines = _likelihood(refined).splitlines()
    at = [i for i, line in enumerate(lines) if refined in line]
    assert at and "q of the ELBO, IWAE bounds and IS estimate" in lines[at[0]]
    assert at[0] < min(i for i, line in enumerate(lines) if "ELBO on" in line)
    assert "refined" not in _likelihood(None) and "q of the" not in _likelihood(None)


def test_an_estimate_with_fewer_samples_than_a_bound_says_it_is_weaker() -> None:
    """``evaluate --k 50`` printed "IWAE bound L_100 -251.550" above "log p(x),
    importance-sampled -252.069 (k=50)": an estimate below a bound, without a word that with
    k=50 it is L_50 in expectation."""
    text = _likelihood(k=50)
    assert "(with k=50 this estimate is L_50 in expectation: a weaker bound than L_100)" in text
    assert "in expectation" not in _likelihood(k=1000)


def test_a_long_kl_list_shows_the_largest_by_dimension() -> None:
    """'KL per dimension 2.56, 0.00, ... (12 shown), … (20 in all)' left out 2 of a table's 3
    active dimensions (userA): past 12, the largest are shown, named z1..zK as the figures name
    them, and the rest bounded."""
    from torchlvm.evaluation.records import Evaluation, Latent, Quantity

    values = [0.0] * 20
    values[0], values[13], values[16] = 2.56, 2.9, 2.88
    latent = Latent(latent_dim=20, kl_per_dim=Quantity(values, "nats/row", "exact"))
    text = " ".join(format_table(Evaluation(latent=latent)).split())
    assert "KL per dimension (nats), largest 12 z14 2.90, z17 2.88, z1 2.56, z2 0.00" in text
    assert "8 others ≤ 0.00" in text
    few = Latent(latent_dim=3, kl_per_dim=Quantity([0.5, 0.25, 0.0], "nats/row", "exact"))
    assert "KL per dimension (nats) 0.50, 0.25, 0.00" in " ".join(
        format_table(Evaluation(latent=few)).split()
    )


def test_a_density_on_grey_levels_is_not_called_the_literatures_bits_per_dim() -> None:
    """A Gaussian VAE on 8-bit colour images printed '5.3442 bits/dim', a density on x/255,
    which reads 8 bits/dim better than any published (discrete) number (userB)."""
    from torchlvm.evaluation.records import Evaluation, Protocol

    grey = format_table(Evaluation(protocol=Protocol(binarize="none", shape=(3, 8, 8))))
    assert "not the discrete bits/dim of the literature" in grey and "this + 8" in grey
    drawn = format_table(Evaluation(protocol=Protocol(binarize="dynamic", shape=(1, 8, 8))))
    assert "literature" not in drawn  # 0s and 1s: a discrete likelihood already


@pytest.mark.parametrize(
    ("n", "rows", "said"),
    [
        (5000, 20000, "n=5000 of 20000 rows (a seeded subsample; --n all: every one)"),
        (300, 300, "n=300,"),
        (300, None, "n=300,"),  # a metrics.json written before the split's size was recorded
    ],
    ids=["subsample", "whole-split", "older-file"],
)
def test_header_says_a_subsample_is_n_of_the_split(n, rows, said):
    # userA: fit's exact log p(x) is over all 20,000 test rows, evaluate's over 5,000 of them;
    # the header said only 'n=5000', so two 'exact' numbers differed with nothing saying why
    p = Protocol(n=n, split_rows=rows, split="test", example="row")
    first = " ".join(format_table(Evaluation(protocol=p)).split()).split("binarize")[0]
    assert said in first
    assert Protocol.from_json(p.to_json()) == p


def test_an_estimate_carried_by_a_few_weights_and_an_ais_far_above_say_so() -> None:
    """userD: 'log p(x) -181.541 (±0.0797 MC stderr, ESS 2.2)' at k=50 was 12 nats low (k=1000:
    -169.2) with no word; IS and AIS 8 nats apart were printed a line apart. A line under each
    says what the records' notes say."""
    few = " ".join(_likelihood(k=1000, ess=3.0).split())
    assert "(Its mean ESS is 3.0 of k = 1000 (under 10): a few weights carry it, its" in few
    assert "ESS is" not in _likelihood(k=1000, ess=900.0)
    far = " ".join(_likelihood(k=1000, ess=900.0, ais=-244.0).split())
    assert "(It differs from the importance-sampled estimate by 8.07 nats, 114 times their " in far
    assert "so AIS is the better one" in far
    assert "differs" not in _likelihood(k=1000, ess=900.0, ais=-252.0)


def test_the_likelihoods_plus_minus_is_said_to_be_the_samplers_beside_the_datas() -> None:
    """userN #1: "±0.0082 MC stderr" at --n 100 sat 0.57 nats (69 of them) from the whole
    split's mean; the spread over examples (data_stderr) was in metrics.json only. A line under
    the rows gives it, for the n examples evaluated, and what the ± is for."""
    from torchlvm.evaluation.records import Likelihood, Pair, Quantity

    def table(data_stderr: float | None, stderr: float | None = 0.0082, rows: int = 359) -> str:
        q = Quantity(-26.8, "nats/example", "estimate", 100, stderr=stderr, ess=62.0,
                     data_stderr=data_stderr)  # fmt: skip
        like = Likelihood(log_marginal=Pair(q))
        protocol = Protocol(data="digits", split="test", n=100, split_rows=rows)
        return " ".join(format_table(Evaluation(protocol=protocol, likelihood=like)).split())

    assert (
        "(each ± is Monte Carlo error only; the standard error of log p(x) over the 100 examples "
        "is ±0.3379, about what another subsample moves it by: compare runs on the same --n and "
        "--seed)"
    ) in table(0.3379)
    assert "about what another set of as many examples moves it by" in table(0.3, rows=100)
    assert "each ±" not in table(None)  # (a record without it: nothing to say)
    assert "each ±" not in table(0.3379, stderr=None)  # (no ± printed: exact)


def test_a_table_autoencoder_is_not_pointed_to_score() -> None:
    """userC: evaluate of a table autoencoder said 'torchlvm score gives −log p(x) in the
    file's units' above 'log p(x) undefined', and score refuses an autoencoder."""
    from torchlvm.evaluation.records import Undefined

    rows = Protocol(example="row")
    ae = format_table(Evaluation(protocol=rows, likelihood=Undefined("no likelihood")))
    assert "torchlvm score" not in ae and "likelihood (per row, " in ae
    vae = format_table(Evaluation(protocol=rows, likelihood=_likelihood_record()))
    assert "torchlvm score gives −log p(x) in the file's units)" in vae


def _likelihood_record():
    from torchlvm.evaluation.records import Likelihood, Pair, Quantity

    return Likelihood(log_marginal=Pair(Quantity(-5.0, "nats/row", "estimate", 10)))


def test_a_flow_qs_kl_per_dimension_and_rate_say_how_they_were_obtained() -> None:
    """A VAE with a flow q printed 'KL per dimension (nats) z6 0.03, ...' and 'rate 0.306' as
    if exact: metrics.json called the per-dimension KLs an approximation (Gaussians matched to
    each marginal) and the rate a 2-draw estimate, the console neither."""
    from torchlvm.evaluation.records import Evaluation, Latent, Quantity

    def text(kind: str, rate: Quantity) -> str:
        latent = Latent(
            latent_dim=2,
            kl_per_dim=Quantity([0.5, 0.25], "nats/example", kind),
            rate=rate,
            distortion=Quantity(27.7, "nats/example", rate.kind, k=rate.k, stderr=rate.stderr),
        )
        return " ".join(format_table(Evaluation(latent=latent)).split())

    drawn = text("approximation", Quantity(0.306, "nats/example", "estimate", k=2, stderr=0.027))
    assert "0.306 / 27.700 nats (estimates from 2 draws of z per example, rate ±0.027)" in drawn
    assert "(approximate: KLs between Gaussians matched to each 1-D marginal" in drawn
    exact = text("exact", Quantity(0.306, "nats/example", "exact"))
    assert "0.306 / 27.700 nats" in exact and "approximate" not in exact
    assert "estimates from" not in exact


def test_a_binarized_runs_pixel_reference_says_what_it_probed() -> None:
    """'raw pixels (reference)' read 0.665 for a VAE on binarized digits and 0.885 for a PPCA on
    grey ones (userE): the reference is the data as evaluated, one Bernoulli draw for the VAE.
    Under a binarized run the row says so; a grey-level run's says nothing more."""
    from torchlvm.evaluation.records import Evaluation, Protocol, Quantity
    from torchlvm.evaluation.sections import Probes, Separability

    probes = Probes(logistic=Quantity(0.665, "accuracy"), knn=Quantity(0.68, "accuracy"))
    sep = Separability(latent=probes, pixels=probes)

    def text(binarize: str) -> str:
        evaluation = Evaluation(protocol=Protocol(binarize=binarize), separability=sep)
        return " ".join(format_table(evaluation).split())

    assert "raw pixels (reference): logistic / 5-NN 0.665 / 0.680 (the pixels as this" in text(
        "dynamic"
    )
    assert "one Bernoulli draw of each grey level" in text("dynamic")
    assert "thresholded at 0.5" in text("threshold")
    assert "as this model sees them" not in text("none")


@pytest.mark.parametrize("condition, given", [(None, False), ("none", False), ("label", True)])
def test_a_cvaes_rate_distortion_and_kl_rows_name_c(condition, given) -> None:
    """A CVAE's rows read 'rate (KL) / distortion (−E_q log p(x|z))' and 'KL per dimension'
    beside an ELBO on log p(x | c) (userE): they name c."""
    from torchlvm.evaluation.records import Evaluation, Latent, Protocol, Quantity

    latent = Latent(
        latent_dim=2,
        kl_per_dim=Quantity([0.5, 0.25], "nats/example", "exact"),
        rate=Quantity(0.75, "nats/example", "exact"),
        distortion=Quantity(27.7, "nats/example", "exact"),
    )
    table = format_table(Evaluation(protocol=Protocol(condition=condition), latent=latent))
    assert ("distortion (−E_q log p(x|z,c))" in table) == given
    assert ("KL per dimension, given c (nats)" in table) == given
    assert ("distortion (−E_q log p(x|z))" in table) != given


def test_rows_that_are_not_a_table_are_not_called_pixels():
    """userI #12: a two-moons run's table said "squared error per example / per pixel" and "raw
    pixels (reference)" for 2-D points: rows of features are named so, table or not."""
    from torchlvm.evaluation.records import Evaluation, Protocol, Quantity
    from torchlvm.evaluation.sections import Probes, Reconstruction, Separability

    probes = Probes(logistic=Quantity(0.82, "accuracy"), knn=Quantity(1.0, "accuracy"))
    rec = Reconstruction(Quantity(0.621, "squared error"), Quantity(0.31, "squared error"))
    for shape, unit in (((2,), "features"), ((1, 8, 8), "pixels")):
        protocol = Protocol(shape=shape, example="example", binarize="none")
        m = Evaluation(
            protocol=protocol, separability=Separability(probes, probes), reconstruction=rec
        )
        text = " ".join(format_table(m).split())
        assert f"squared error per example / per {unit[:-1]}" in text
        assert f"raw {unit} (reference)" in text


def test_a_generated_distance_below_the_real_reference_is_said_to_be_no_floor() -> None:
    """userM #13: 'generated vs test 35.752 / real train vs test (floor at this n) 53.980': the
    samples 18 below a 'floor', read as closer to the test set than real images are. It is a
    reference at this n, and a distance below it is said to be mostly estimation bias."""
    from torchlvm.evaluation.records import Quantity, SampleQuality

    def table(generated: float) -> str:
        reference = Quantity(53.98, "Fréchet distance", "estimate", extra={"n": 180})
        quality = SampleQuality(frechet=Quantity(generated, "Fréchet distance", "estimate"),
                                frechet_real_reference=reference)  # fmt: skip
        return " ".join(format_table(Evaluation(sample_quality=quality)).split())

    below = table(35.752)
    assert "real train vs test (reference at this n) 53.980" in below
    assert (
        "(the generated distance lies below the real-vs-real reference: at n = 180 the distance "
        "is mostly its small-sample bias, and decoder means, less varied than images, can score "
        "low; evaluate more examples (--n) or compare runs at one n)"
    ) in below
    assert "lies below" not in table(60.0) and "floor" not in below


def test_probe_accuracies_carry_their_standard_error_and_n() -> None:
    """userP #13: the console printed 'logistic / 5-NN 0.950 / 0.950' on 18 rows where the
    report gave 95.0 ± 5.0 %: the table prints the ± (the report's digits rule) and the n."""
    from torchlvm.evaluation.records import Evaluation, Quantity
    from torchlvm.evaluation.sections import Probes, Separability

    def accuracy(value: float, stderr: float) -> Quantity:
        return Quantity(value, "accuracy", "estimate", stderr=stderr, extra={"n": 18})

    probes = Probes(logistic=accuracy(0.95, 0.05), knn=accuracy(0.95, 0.05))
    text = " ".join(format_table(Evaluation(separability=Separability(latent=probes))).split())
    assert "separability (5-fold CV accuracy on 18 examples, ± s.e.)" in text
    assert "posterior means: logistic / 5-NN 0.950 ± 0.050 / 0.950 ± 0.050" in text


def test_an_autoencoders_generated_distance_says_its_codes_came_from_n01() -> None:
    """userN #8: an AE's 'generated vs test' Fréchet distance decodes N(0, I) codes (it has no
    prior), beside 'generated (fitted codes)'; the first row did not say so."""
    from torchlvm.evaluation.records import Evaluation, Quantity, SampleQuality

    def fd(value: float) -> Quantity:
        return Quantity(value, "Fréchet distance", "estimate")

    ae = SampleQuality(frechet=fd(300.0), frechet_fitted_codes=fd(40.0))
    text = " ".join(format_table(Evaluation(sample_quality=ae)).split())
    assert "generated (N(0, I) codes) vs test 300.000" in text
    assert "generated (fitted codes) vs test 40.000" in text
    vae = " ".join(format_table(Evaluation(sample_quality=SampleQuality(frechet=fd(30.0)))).split())
    assert "generated vs test 30.000" in vae


def test_a_label_cvaes_log_px_over_its_classes_is_printed_under_its_log_px_given_c() -> None:
    """userU #3: evaluate printed a CVAE's log p(x | c) alone; its log p(x) over the classes, the
    number of x alone that ranks against a VAE's log p(x), is a row of its own, said to be it."""
    from torchlvm.evaluation.records import Likelihood, Pair, Quantity

    given = Quantity(-23.123, "nats/example", "estimate", k=100, stderr=0.0049, data_stderr=0.27)
    extra = {"n": 200, "classes": 10, "class_prior": "π_c the train split's class frequencies"}
    over = Quantity(-24.738, "nats/example", "estimate", k=100, stderr=0.0038, ess=71.3,
                    data_stderr=0.2502, extra=extra)  # fmt: skip
    like = Likelihood("log p(x | c)", log_marginal=Pair(given), over_classes=Pair(over))
    table = format_table(Evaluation(protocol=Protocol(n=200, split_rows=359), likelihood=like))
    lines = table.splitlines()
    at = next(i for i, line in enumerate(lines) if "the marginal over classes" in line)
    assert at > next(
        i for i, line in enumerate(lines) if "log p(x | c), importance-sampled" in line
    )
    assert lines[at].split() == [
        "log", "p(x),", "the", "marginal", "over", "classes", "-24.738", "nats", "(estimate,",
        "k=100", "per", "class,", "±0.0038", "MC", "stderr,", "ESS", "71.3)",
    ]  # fmt: skip
    said = " ".join(line.strip() for line in lines[at + 1 :])
    assert "log p(x) = log Σ_c π_c p(x | c), π_c the train split's class frequencies" in said
    assert "as a VAE's log p(x) is" in said and "±0.2502 over the 200 examples" in said
