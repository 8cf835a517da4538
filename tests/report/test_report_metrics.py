"""metrics.json rendering: any JSON becomes labelled rows; quantities show unit, kind, k, ESS."""

import math

import pytest

from torchlvm.report.metrics import cell_text, format_number, format_value, sections


@pytest.mark.parametrize(
    "value, text",
    [
        (3.14159265, "3.142"),
        (-93.41234, "-93.41"),
        (1.23456e-7, "1.235e-7"),
        (12345678.9, "1.235e+7"),
        (5000, "5000"),
        (True, "yes"),
        (None, "—"),
        (math.nan, "NaN"),
        (-math.inf, "−∞"),
        ("dynamic", "dynamic"),
    ],
    ids=["pi", "negative", "tiny", "large", "int", "bool", "null", "nan", "-inf", "text"],
)
def test_format_number(value, text):
    assert format_number(value) == text


def test_standard_errors_have_two_significant_digits():
    """'0.355 ± 0.01225' and '8.389 ± 1.136e-10': an error is told to 2 digits, not 4."""
    metrics = {"separability": {"latent": {"value": 0.355, "stderr": 0.01225},
                                "pixels": {"value": 8.389, "stderr": 1.136e-10,
                                           "data_stderr": 0.2224}}}  # fmt: skip
    ((latent, pixels),) = [s.rows for s in sections(metrics)]
    assert latent.value == "0.355 ± 0.012"
    assert pixels.value == "8.38900 ± 1.1e-10" and "± 0.22 over examples" in pixels.details


def test_long_number_lists_are_shortened():
    assert format_value([0.5, 1]) == "[0.5, 1]"
    assert format_value(list(range(30))).endswith(", …] (30 values)")


def test_quantity_rows_carry_unit_kind_k_and_ess():
    metrics = {
        "likelihood": {
            "iwae": {"value": -90.123, "unit": "nats", "kind": "bound", "k": 5000},
            "log_marginal": {"value": -89.5, "stderr": 0.012, "ess": 41.7, "kind": "estimate"},
        }
    }
    (section,) = sections(metrics)
    assert section.title == "Likelihood"
    iwae, logp = section.rows
    assert (iwae.label, iwae.value, iwae.unit, iwae.details) == (
        "IWAE bound",
        "-90.12",
        "nats",
        ["bound", "k = 5000"],
    )
    assert logp.value == "-89.500 ± 0.012" and logp.details == ["estimate", "ESS 41.7"]
    assert cell_text(iwae) == "-90.12 nats (bound; k = 5000)"


def test_nesting_scalars_and_odd_json():
    metrics = {
        "seed": 3,
        "separability": {"probe": {"logistic": {"latent": 0.91234}}},
        "empty": {},
        "weird": [1, {"a": None}],
        "outliers": {"auroc": {"value": {"noise": 0.99}}},
    }
    summary, separability, outliers = sections(metrics)
    assert [r.key for r in summary.rows] == ["seed", "empty", "weird"]
    assert summary.rows[2].value == '[1, {"a": null}]'
    (row,) = separability.rows
    assert (row.label, row.key, row.value) == (
        "probe › logistic › latent",
        "separability.probe.logistic.latent",
        "0.9123",
    )
    assert outliers.rows[0].label == "AUROC › value › noise"


@pytest.mark.parametrize(
    "document", [[1, 2], "text", None, 4.5, {"a": {"b": {"c": {"d": {"e": {"f": {"g": 1}}}}}}}]
)
def test_any_json_renders(document):
    assert all(isinstance(r.value, str) for s in sections(document) for r in s.rows)


def test_the_evaluation_records_render_with_notes_and_undefined_values():
    metrics = {
        "likelihood": {
            "elbo": {
                "nats": {
                    "value": -25.1,
                    "unit": "nats/example",
                    "kind": "bound",
                    "k": 1,
                    "data_stderr": 0.4,
                    "note": "a lower bound on log p(x)",
                },
            }
        },
        "sample_quality": {"fd": {"value": None, "kind": "undefined", "note": "no classifier"}},
    }
    likelihood, quality = sections(metrics)
    (elbo,) = likelihood.rows
    assert elbo.label == "ELBO (lower bound) › nats"
    assert elbo.details == ["bound", "k = 1", "± 0.40 over examples"]
    assert elbo.note == "a lower bound on log p(x)"  # apart from the short details
    undefined = quality.rows[0]
    assert (undefined.value, undefined.details, undefined.note) == (
        "—",
        ["undefined"],
        "no classifier",
    )


def test_nats_and_bits_per_dim_pair_is_one_row():
    metrics = {
        "likelihood": {
            "elbo": {
                "nats": {"value": -24.15, "unit": "nats/example", "kind": "bound", "k": 1},
                "bits_per_dim": {"value": 0.5445, "unit": "bits/dim", "stderr": 0.0049},
            }
        }
    }
    ((row,),) = [s.rows for s in sections(metrics)]
    assert (row.label, row.key, row.value, row.unit) == (
        "ELBO (lower bound)",
        "likelihood.elbo",
        "-24.15",
        "nats/example",
    )
    assert row.also == "0.5445 ± 0.0049 bits/dim"
    assert cell_text(row) == "-24.15 nats/example (0.5445 ± 0.0049 bits/dim; bound; k = 1)"


def test_a_quantity_with_a_list_value_is_one_row():
    metrics = {"latent": {"kl_per_dim": {"value": [0.5, 0.25], "unit": "nats", "kind": "exact"}}}
    ((row,),) = [s.rows for s in sections(metrics)]
    assert (row.value, row.unit, row.details) == ("[0.5, 0.25]", "nats", ["exact"])


def test_a_nested_record_of_settings_is_one_row_but_a_section_is_not():
    classifier = {
        "dataset": "digits",
        "feature_dim": 64,
        "shape": [1, 8, 8],
        "seed": 0,
        "test_accuracy": {"value": 0.9777, "unit": "accuracy", "kind": "measured"},
    }
    protocol = {"data": "digits", "split": "test", "n": 359, "seed": 0, "k": 1000}
    protocol_rows, quality_rows = [
        s.rows for s in sections({"protocol": protocol, "quality": {"classifier": classifier}})
    ]
    assert len(protocol_rows) == 5
    (row,) = quality_rows
    assert row.value == (
        "dataset digits · feature dim 64 · shape [1, 8, 8] · seed 0 · "
        "test accuracy 0.9777 (measured)"
    )


def test_iwae_bounds_stored_by_k_are_labelled_l_k():
    """``likelihood.iwae.10`` is the bound L_10 of Burda et al., not 'IWAE bound › 10'."""
    bound = {"value": -27.95, "unit": "nats/example", "kind": "bound"}
    metrics = {"likelihood": {"iwae": {"1": {**bound, "k": 1}, "10": {**bound, "k": 10}}}}
    ((one, ten),) = [s.rows for s in sections(metrics)]
    assert (one.label, ten.label) == ("IWAE bound L_1", "IWAE bound L_10")
    assert ten.key == "likelihood.iwae.10"


def test_what_fit_measured_carries_its_units():
    """PPCA's summary rows read 'train log likelihood 9.035', 'noise variance 0.03604' and
    'fit seconds 0.05778' with no unit beside any of them."""
    metrics = {
        "unit": "nats per example (exact log p(x))",
        "train_log_likelihood": 9.035,
        "test_bits_per_dim": -0.1892,
        "noise_variance": 0.03604,
        "fit_seconds": 0.05778,
    }
    ((_, train, bits, noise, seconds),) = [s.rows for s in sections(metrics)]
    assert (train.value, train.unit) == ("9.035", "nats per example (exact log p(x))")
    assert (bits.unit, seconds.unit) == ("bits/dim", "s")
    assert noise.unit.startswith("σ², in the squared units of the data")


@pytest.mark.parametrize(
    "value, stderr, text",
    [
        (-27.29999, 0.0051, "-27.3000 ± 0.0051"),  # was '-27.3 ± 0.0051': digits the error backs
        (-89.5, 0.012, "-89.500 ± 0.012"),
        (0.355, 0.01225, "0.355 ± 0.012"),
        (0.43, 0.033, "0.430 ± 0.033"),
        (70.8, 1.7, "70.8 ± 1.7"),
        (8.389, 1.136e-10, "8.38900 ± 1.1e-10"),  # at most 6 significant digits
        (-27.3, None, "-27.30"),  # a measured value keeps its zeros: 4 significant digits
        (1.0, 0.0, "1.000 ± 0"),
        (12345.6, 52.0, "12346 ± 52"),
        # below a million, whole numbers (compare's table and figure wrote these so, and the
        # report '-5.56e+4 ± 1.2e+3': one rule now writes both)
        (-55603.0, 1234.0, "-55600 ± 1200"),
        (55603.0, None, "55603"),
        (9999.6, None, "10000"),
        (2.5e6, None, "2.500e+6"),
    ],
)
def test_a_value_is_shown_to_the_digit_its_standard_error_reaches(value, stderr, text):
    """'−27.3 ± 0.0051' showed an error ten times finer than the value it qualifies, and an
    IWAE bound of −27.300 as '-27.3' beside '-27.32': a measured value is written to 4
    significant digits with its zeros, and with a standard error to that error's last digit."""
    row = {"value": value, "unit": "nats/example", "kind": "estimate"}
    if stderr is not None:
        row["stderr"] = stderr
    ((row,),) = [s.rows for s in sections({"likelihood": {"log_marginal": row}})]
    assert row.value == text


def _auc(value, unit):
    return {"value": value, "unit": unit, "kind": "measured", "chance": 0.5}


def test_an_outlier_set_is_one_row_not_ten():
    """Outlier detection filled 30 rows ('sets › flip › score › AUPRC', 'sets › flip › n in', ...)
    for three sets, the mean scores without a unit: each set is one row, its AUROC and AUPRC per
    score side by side, its sizes and mean scores as details, its description as the note."""
    flip = {
        "description": "digits test images flipped vertically",
        "mean_score_in": 27.29995,
        "mean_score_out": 28.34958,
        "n_in": 200,
        "n_out": 150,
        "score": {"auprc": _auc(0.59543, "AUPRC"), "auroc": _auc(0.5888, "AUROC")},
        "typicality": {"auprc": _auc(0.55818, "AUPRC"), "auroc": _auc(0.550275, "AUROC")},
    }
    metrics = {"outliers": {"score_description": "−log p(x), importance-sampled, k=100",
                            "sets": {"flip": flip}}}  # fmt: skip
    (section,) = sections(metrics)
    description, row = section.rows
    assert description.label == "score description"
    assert row.label == "flip"
    assert row.value == "AUROC 0.5888 · AUPRC 0.5954"
    assert row.details == [
        "typicality: AUROC 0.5503 · AUPRC 0.5582",
        "n = 200 in-distribution, 150 OOD",
        "mean score 27.30 in-distribution, 28.35 OOD",
        "chance: AUROC 0.5, AUPRC 0.5",
    ]
    assert row.note == "digits test images flipped vertically"


def test_a_settings_record_does_not_count_short_lists_or_repeat_a_unit():
    """The classifier record read 'shape [1, 8, 8] (3 values)' and 'test accuracy 0.9777
    accuracy': a list is counted only where it is cut short, and a unit its key already names
    is not repeated."""
    accuracy = {"value": 0.97772, "unit": "accuracy", "kind": "measured"}
    classifier = {"version": 1, "dataset": "digits", "shape": [1, 8, 8], "feature_dim": 64,
                  "test_accuracy": accuracy}  # fmt: skip
    ((row,),) = [s.rows for s in sections({"sample_quality": {"classifier": classifier}})]
    assert "shape [1, 8, 8] · " in row.value
    assert row.value.endswith("test accuracy 0.9777 (measured)")
    assert format_value(list(range(30))).endswith(", …] (30 values)")


def test_the_probes_reference_is_the_raw_input_not_pixels_of_a_table():
    """'pixels › logistic' on a wine table: the reference probe reads the raw input, pixels or
    features."""
    metrics = {"separability": {"pixels": {"logistic": {"value": 0.9, "unit": "accuracy"}}}}
    ((row,),) = [s.rows for s in sections(metrics)]
    assert row.label == "raw input › logistic"


def test_a_section_that_is_undefined_keeps_its_own_heading():
    """A table's sample quality is one undefined quantity; it was listed under 'Summary' as
    'sample quality —' instead of under its own heading with its reason."""
    reason = "sample quality compares image features; the data are a table"
    metrics = {"sample_quality": {"value": None, "kind": "undefined", "note": reason}}
    (section,) = sections(metrics)
    assert section.title == "Sample quality"
    ((row,),) = [section.rows]
    assert row.note == reason
