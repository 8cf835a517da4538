"""The comparison figure: a panel per row, a bar per model, labels clear of each other."""

import math

import pytest
from matplotlib.image import imread

from torchlvm.errors import ConfigError
from torchlvm.plots import comparison_figure, comparison_scores, save_figure

MODELS = ("AE", "VAE", "β-VAE (β=4)", "CVAE")
SCORES = {
    "interpretability": {
        "question": "does one latent dimension follow each known factor?",
        "measure": "mutual information gap (MIG)",
        "higher_is_better": True,
        "values": dict(zip(MODELS, (0.05, 0.11, 0.31, 0.02), strict=True)),
    },
    "separability": {
        "question": "can a linear probe read the class off the code?",
        "measure": "logistic-probe accuracy",
        "higher_is_better": True,
        "values": dict(zip(MODELS, (0.86, 0.71, 0.52, 0.30), strict=True)),
        "errors": dict(zip(MODELS, (0.02, 0.017, 0.03, 0.02), strict=True)),
        "reference": 0.885,
        "reference_label": "raw pixels",
    },
    "generation": {
        "question": "do samples look like the data?",
        "measure": "Fréchet distance to test images",
        "higher_is_better": False,
        "values": dict(zip(MODELS, (326.0, 24.5, 60.1, None), strict=True)),
        "reference": 7.86,
        "reference_label": "real vs real",
    },
}


def test_a_panel_per_row_and_a_bar_per_measured_model(tmp_path):
    fig = comparison_figure(SCORES, title="AE vs VAE on digits")
    fig.canvas.draw()
    assert len(fig.axes) == 3
    for ax, (name, row) in zip(fig.axes, SCORES.items(), strict=True):
        assert ax.get_title(loc="left").startswith(f"{name}: ")
        top_down = sorted(ax.get_yticklabels(), key=lambda t: -t.get_position()[1])
        assert [t.get_text() for t in top_down] == list(MODELS)  # first model on top
        widths = sorted(p.get_width() for p in ax.patches)
        measured = sorted(v for v in row["values"].values() if v is not None)
        assert widths == pytest.approx(measured)
        better = "higher is better" if row["higher_is_better"] else "lower is better"
        assert better in ax.get_xlabel()
    texts = [t.get_text() for t in fig.axes[2].texts]
    assert "not measurable" in texts and "real vs real 7.860" in texts
    assert "0.860 ± 0.020" in [t.get_text() for t in fig.axes[1].texts]
    path = tmp_path / "compare.png"
    save_figure(fig, path)
    assert imread(path)[..., :3].std() > 0.05


def test_large_values_are_written_without_an_exponent():
    values = dict(zip(MODELS, (55603.0, 24.46, 0.0614, None), strict=True))
    fig = comparison_figure({"generation": {**SCORES["generation"], "values": values}})
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts[:3] == ["55603", "24.46", "0.06140"]  # not 5.56e+04 (format_measured's rule)


def test_labels_do_not_overlap_each_other_or_leave_the_axes():
    fig = comparison_figure(SCORES)
    fig.canvas.draw()
    for ax in fig.axes:
        boxes = [t.get_window_extent() for t in ax.texts]
        frame = ax.get_window_extent()
        for i, box in enumerate(boxes):
            assert frame.x0 <= box.x0 and box.x1 <= frame.x1 + 0.5, ax.texts[i].get_text()
            assert all(not box.overlaps(other) for other in boxes[i + 1 :])


def test_rows_naming_other_models_are_refused():
    bad = {**SCORES, "generation": {**SCORES["generation"], "values": {"AE": 1.0}}}
    with pytest.raises(ConfigError, match="same models in the same order"):
        comparison_figure(bad)
    with pytest.raises(ConfigError, match="at least one row"):
        comparison_figure({})


def test_a_value_is_written_to_its_errors_decimal_place():
    """'0.3 ± 0.022' stood above '0.305 ± 0.025': the same precision now, the error's."""
    row = {"question": "q?", "measure": "m", "values": {"a": 0.3, "b": 0.305, "c": 12.34},
           "errors": {"a": 0.022, "b": 0.025, "c": 1.2}}  # fmt: skip
    texts = [t.get_text() for t in comparison_figure({"only": row}).axes[0].texts]
    assert texts == ["0.300 ± 0.022", "0.305 ± 0.025", "12.3 ± 1.2"]


def test_missing_errors_and_reference_are_optional():
    row = {"question": "q?", "measure": "m", "values": {"a": 1.0, "b": math.nan}}
    fig = comparison_figure({"only": row})
    assert [p.get_width() for p in fig.axes[0].patches] == [1.0]


def entry(label, mig, probe=None, fd=None, *, pixels=None, floor=None, mig_stderr=None):
    """One model of a compare result, with the metrics.json paths compare reads."""
    metrics = {"separability": {}, "sample_quality": {}}
    if probe is not None:
        metrics["separability"]["latent"] = {"logistic": {"value": probe[0], "stderr": probe[1]}}
    if pixels is not None:
        metrics["separability"]["pixels"] = {"logistic": {"value": pixels}}
    if fd is not None:
        metrics["sample_quality"]["frechet"] = {"value": fd}
    if floor is not None:
        metrics["sample_quality"]["frechet_real_reference"] = {"value": floor}
    mig_record = {"value": mig, "stderr": mig_stderr}
    return {"label": label, "metrics": metrics, "interpretability": {"mig": mig_record}}


def test_scores_read_off_a_compare_result():
    result = {
        "models": {
            "ae": entry("AE", 0.05, (0.86, 0.02), 326.0, pixels=0.885, floor=7.86, mig_stderr=0.01),
            "vae": entry("VAE", 0.11, (0.71, 0.017), 24.5, floor=7.9, mig_stderr=0.02),
            "cvae": entry("CVAE", 0.02),  # no labels on this data: nothing but MIG
        }
    }
    scores = comparison_scores(result)
    assert list(scores) == ["interpretability", "separability", "generation"]
    assert scores["interpretability"]["values"] == {"AE": 0.05, "VAE": 0.11, "CVAE": 0.02}
    # qa3: each MIG records its bootstrap s.e., which the figure did not draw
    assert scores["interpretability"]["errors"] == {"AE": 0.01, "VAE": 0.02, "CVAE": None}
    sep = scores["separability"]
    assert sep["values"] == {"AE": 0.86, "VAE": 0.71, "CVAE": None}
    assert sep["errors"] == {"AE": 0.02, "VAE": 0.017, "CVAE": None}
    assert sep["reference"] == 0.885 and sep["higher_is_better"]
    gen = scores["generation"]
    assert gen["values"]["CVAE"] is None and gen["reference"] == 7.86
    assert not gen["higher_is_better"]
    assert all(row["question"].endswith("?") for row in scores.values())
    fig = comparison_figure(scores)
    assert [len(ax.patches) for ax in fig.axes] == [3, 2, 2]


def test_the_autoencoders_generation_bar_says_its_codes_and_gives_the_fitted_ones():
    """compare.png drew the AE's Fréchet distance of N(0, I) codes (1066) unlabelled beside the
    VAE's (740), while the AE on fitted-Gaussian codes, what `sample` draws, measured 263
    (userB): the AE's bar says which codes, and names the fitted ones' distance."""
    ae = entry("AE", 0.05, fd=1065.7, floor=7.9)
    ae["metrics"]["sample_quality"]["frechet_fitted_codes"] = {"value": 262.8}
    result = {"models": {"ae": ae, "vae": entry("VAE", 0.1, fd=740.4, floor=7.9)}}
    scores = comparison_scores(result)
    assert scores["generation"]["notes"] == {"AE": "N(0, I) codes; ◆ fitted-Gaussian codes 262.8"}
    assert scores["generation"]["marks"] == {"AE": 262.8}
    fig = comparison_figure(scores)
    written = [t.get_text() for t in fig.axes[2].texts]
    assert "1066 (N(0, I) codes; ◆ fitted-Gaussian codes 262.8)" in written
    assert "740.4" in written  # the VAE's alone


def test_the_fitted_codes_words_do_not_cover_the_autoencoders_own_value():
    """userD: the AE's bar (375.5, N(0, I) codes) showed only 'fitted-Gaussian codes 362.6': the
    diamond's label, boxed in white just right of the bar's end, covered the bar's own value.
    The diamond has no label of its own; the bar's label names both."""
    ae = entry("AE", 0.05, fd=375.5, floor=7.9)
    ae["metrics"]["sample_quality"]["frechet_fitted_codes"] = {"value": 362.6}
    fig = comparison_figure(comparison_scores({"models": {"ae": ae}}))
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in fig.axes[2].texts if t.get_text()]
    labels = [t.get_text() for t in fig.axes[2].texts if t.get_text()]
    assert any(text.startswith("375.5 (") for text in labels)
    for i, box in enumerate(boxes):  # no two labels overlap
        assert not any(box.overlaps(other) for other in boxes[i + 1 :]), labels


def test_a_cvaes_probe_bar_is_hatched_and_said_to_be_given_the_class():
    """userB, userD: compare.png drew the CVAE's probe accuracy (0.647), the longest bar under
    'higher is better', unmarked; its encoder is given the class, so the probe reads back what
    it was handed (compare.md says so). The bar is hatched and its label says so."""
    cvae = entry("CVAE", 0.02, (0.647, 0.03))
    cvae["metrics"]["protocol"] = {"condition": "label"}
    vae = entry("VAE", 0.1, (0.61, 0.03), pixels=0.885)
    vae["metrics"]["protocol"] = {"condition": "none"}
    scores = comparison_scores({"models": {"vae": vae, "cvae": cvae}})
    sep = scores["separability"]
    assert sep["hatched"] == ["CVAE"] and list(sep["notes"]) == ["CVAE"]
    assert "given the class" in sep["notes"]["CVAE"]
    ax = comparison_figure(scores).axes[1]
    hatches = {round(p.get_width(), 3): p.get_hatch() for p in ax.patches}
    assert hatches == {0.61: None, 0.647: "//"}
    assert any("given the class" in t.get_text() for t in ax.texts)
