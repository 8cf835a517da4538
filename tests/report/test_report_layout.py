"""The report reads top-down: header, headline card, figures, detailed metrics, config."""

import re

import numpy as np
import pytest
from matplotlib.image import imsave

from torchlvm.report import build_report
from torchlvm.report.html import packed
from torchlvm.report.run import FigureFile, collect_run


def positions(text, *markers):
    return [text.index(marker) for marker in markers]


def test_headline_then_figures_then_detailed_tables_then_config(make_run, demo_metrics):
    run = make_run(metrics=demo_metrics)
    text = build_report([run]).read_text(encoding="utf-8")
    order = positions(
        text,
        "<h1>vae-run</h1>",
        '<section class="headline">',
        '<h2 id="figures">Figures</h2>',
        "<figure ",
        "<h2>Detailed metrics</h2>",
        '<details class="section"',
        "<summary>config.json</summary>",
    )
    assert order == sorted(order)
    card = text[text.index('<section class="headline">') : text.index('<h2 id="figures">')]
    for label, value, unit in [
        ("test log p(x)", '−23.6512<span class="pm"> ± 0.0020</span>', "nats/example"),
        ("ELBO", "−24.15", "nats/example"),
        ("active units", "8 of 8", "latent dimensions"),
        ("probe accuracy", "70.8", "% accuracy"),
        ("Fréchet distance", "24.46", "64-d classifier features"),
    ]:
        assert re.search(
            f'<div class="label">{re.escape(label)}</div><div class="value">'
            f'{re.escape(value)}.*?<div class="unit">{re.escape(unit)}</div>',
            card,
        ), label
    assert "<td>flip</td><td>0.719</td><td>0.653</td>" in card
    assert "Not in metrics.json" not in card  # every core number is there


def test_results_open_bookkeeping_closed_and_last(make_run, demo_metrics):
    text = build_report([make_run(metrics=demo_metrics)]).read_text(encoding="utf-8")
    opened = dict(re.findall(r'<details class="section" data-section="(\w+)"( open)?>', text))
    assert list(opened) == [
        "likelihood",
        "reconstruction",
        "latent",
        "separability",
        "sample_quality",
        "outliers",
        "protocol",
        "model",
        "figures",
    ]
    assert {key for key, flag in opened.items() if not flag} == {"protocol", "model", "figures"}
    # the key path is a hover title, the long note small text beside the short details
    assert '<td title="likelihood.log_marginal">log p(x), importance-sampled estimate</td>' in text
    assert '<span class="note" title="importance-sampled log p(x) with q as proposal' in text


def test_missing_core_numbers_are_named_under_the_card(make_run):
    metrics = {"latent": {"active_units": {"value": 1, "unit": "units"}, "latent_dim": 2}}
    text = build_report([make_run(metrics=metrics)]).read_text(encoding="utf-8")
    assert "1 of 2" in text
    assert (
        "Not in metrics.json: test log-likelihood, probe accuracy, Fréchet distance, "
        "outlier AUROC." in text
    )


def test_unknown_sections_are_still_in_the_detailed_tables(make_run, demo_metrics):
    demo_metrics["my_probe"] = {"score": {"value": 0.5, "unit": "points", "note": "mine"}}
    text = build_report([make_run(metrics=demo_metrics)]).read_text(encoding="utf-8")
    assert '<details class="section" data-section="my_probe" open>' in text
    assert "<h3>My probe</h3>" in text and "0.5000 <span" in text


def figure(name, width, height):
    return FigureFile(name, name, b"", width, height)


def test_wide_figures_wait_for_a_full_row():
    square, wide = (100, 100), (300, 100)
    order = [
        figure("samples.png", *square),
        figure("reconstructions.png", *wide),
        figure("traversals.png", *square),
        figure("interpolation.png", *wide),
        figure("latent_scatter.png", *square),
        figure("kl_per_dimension.png", *square),
        figure("training_curves.png", *wide),
    ]
    assert [f.name.split(".")[0] for f in packed(order)] == [
        "samples",
        "traversals",
        "reconstructions",
        "interpolation",
        "latent_scatter",
        "kl_per_dimension",
        "training_curves",
    ]


def test_figures_follow_the_reading_order_and_open_full_window(make_run):
    run = make_run(
        figures={
            "training_curves": (0.2, 0.2, 0.2),
            "latent_scatter": (0, 0, 1),
            "reconstructions": (0, 1, 0),
            "samples": (1, 0, 0),
        }
    )
    assert [f.name for f in collect_run(run).figures] == [
        "samples.png",
        "reconstructions.png",
        "latent_scatter.png",
        "training_curves.png",
    ]
    text = build_report([run]).read_text(encoding="utf-8")
    first = text[text.index('<figure class="fig wide" id="figures-1">') :]
    assert first.startswith(
        '<figure class="fig wide" id="figures-1"><a class="zoom" href="#figures-1">'
        '<img class="pixels" src="data:image/png;base64,'
    )  # image grids keep square pixels when enlarged
    assert '<a class="close" href="#figures" title="close">×</a>' in first
    assert text.count('class="pixels"') == 2  # samples and reconstructions, not the plots


def test_cvae_is_expected_to_draw_its_conditional_grid_not_prior_samples(make_run, config):
    config.update(model_type="cvae")
    config["data"]["condition"] = "label"
    metrics = {
        "figures": {
            "skipped": {
                "samples": "does not apply to this model",
                "traversals": "ValueError: latent_dim too large",
            }
        }
    }
    run = make_run("cvae", config=config, metrics=metrics, figures={"samples": (1, 0, 0)})
    notes = collect_run(run).notes
    assert notes == [
        "figures/traversals.png was not drawn: ValueError: latent_dim too large",
        "Figures missing: figures/conditional.png, figures/reconstructions.png, "
        f"figures/latent_scatter.png, figures/manifold.png; `torchlvm evaluate {run}` draws "
        "them.",
    ]


def test_figures_an_earlier_evaluation_drew_are_said_to_be_its(make_run):
    """After evaluate --no-figures, metrics.json records the figures still in figures/ as an
    earlier evaluation's; the report showed them beside the later numbers without a word."""
    drawn_by = "torchlvm evaluate runs/vae --k 300 --split test --seed 0 --n 120"
    earlier = {"written": ["samples.png", "reconstructions.png", "manifold.png"]}
    earlier.update(drawn_by=drawn_by, drawn_at="2026-11-27T23:09:47+00:00")
    metrics = {"figures": {"folder": "figures", "written": [], "earlier": [earlier]}}
    figures = {"samples": (1, 0, 0), "reconstructions": (0, 1, 0)}  # manifold.png: deleted since
    run = make_run("vae", metrics=metrics, figures=figures)
    assert (
        "figures/samples.png, figures/reconstructions.png were drawn by "
        f"`{drawn_by}` at 2026-11-27T23:09:47+00:00, not by the evaluation whose numbers are "
        "shown"
    ) in collect_run(run).notes


def test_ppca_has_no_training_curves_to_miss(make_run):
    config = {"model_type": "ppca", "model": {"latent_dim": 10}, "data": {"name": "digits"}}
    metrics = {"test_log_likelihood": 16.55, "train_log_likelihood": 17.6}
    run = make_run("ppca", config=config, metrics=metrics, csv=None, figures={})
    text = build_report([run]).read_text(encoding="utf-8")
    assert "No training curves" not in text
    assert "Figures missing: figures/samples.png" in text
    assert '<div class="label">test log p(x)</div><div class="value">16.55</div>' in text


def test_comparison_opens_with_headline_numbers_per_run(make_run, config, demo_metrics, tmp_path):
    vae = make_run("vae", metrics=demo_metrics)
    config["model_type"] = "ae"
    ae_metrics = {
        "likelihood": {"value": None, "kind": "undefined", "note": "undefined for an autoencoder"},
        "sample_quality": {"frechet": {"value": 97.84}},
    }
    ae = make_run("ae", config=config, metrics=ae_metrics)
    imsave(
        ae / "figures" / "extra.png", [[0.0, 1.0]], cmap="gray", metadata={"Software": "torchlvm"}
    )
    text = build_report([vae, ae], tmp_path / "both.html").read_text(encoding="utf-8")
    order = positions(
        text,
        "<h2>Headline numbers side by side</h2>",
        "<summary>All metrics side by side</summary>",
        '<section class="run">',
        '<div class="thumbs">',
        "<summary>Detailed metrics of vae</summary>",
    )
    assert order == sorted(order)
    table = text[order[0] : order[1]]
    assert re.findall(r'<th class="run">(\w+)<span', table) == ["vae", "ae"]
    rows = dict(re.findall(r'<tr><td class="label">([^<]+)</td>(.*?)</tr>', table))
    assert list(rows)[:3] == [
        "test log-likelihood",
        "ELBO (lower bound)",
        "gap ELBO → log-likelihood",
    ]
    cells = re.findall(r"<td[^>]*><div>(.*?)</div></td>", rows["Fréchet distance"])
    assert cells[0].startswith('<span class="v">24.46</span>')
    assert cells[1].startswith('<span class="v">97.84</span>')
    assert re.findall(r"<td[^>]*><div>(.*?)</div></td>", rows["ELBO (lower bound)"])[1] == "—"
    assert "n/a" in rows["test log-likelihood"] and "undefined for an autoencoder" in table
    # each cell names its run, which a narrow screen shows beside the value (the columns stack)
    assert rows["model"] == (
        '<td data-run="vae"><div>vae</div></td><td data-run="ae"><div>ae</div></td>'
    )
    # figure ids are unique across runs, so each thumbnail opens its own figure
    ids = re.findall(r'<figure class="fig[^"]*" id="([^"]+)"', text)
    assert len(ids) == len(set(ids)) == 3 + 4  # samples, scatter, curves (+ extra.png)


def test_a_table_runs_report_says_once_why_it_has_no_images(make_run, config):
    """A table run's report listed seven 'figures/X.png was not drawn: draws images; the data are
    a table' lines, then 'Figures missing: figures/samples.png, …; `torchlvm evaluate` draws
    them' (it cannot), and called the protocol 'grey levels'."""
    config["data"].update(name="wine.csv", shape=[13], table={"standardize": {"mean": [0.0]}})
    why = "the data are a table (rows of 13 features), not images"
    images = ("samples", "reconstructions", "traversals", "interpolation", "manifold")
    metrics = {"figures": {"skipped": dict.fromkeys(images, why)}}
    config["data"]["binarize"] = "none"
    run = make_run("table", config=config, metrics=metrics, figures={"latent_scatter": (0, 0, 1)})
    assert collect_run(run).notes == [
        "figures/samples.png, figures/reconstructions.png, figures/traversals.png, "
        f"figures/interpolation.png, figures/manifold.png were not drawn: {why}"
    ]
    text = build_report([run]).read_text(encoding="utf-8")
    assert "grey levels" not in text
    assert "none: real values, each feature standardized with the train split&#x27;s mean" in text


def test_every_figure_a_command_draws_has_its_caption(make_run, config):
    """gaps' identity.png and transfer's transfer.png were shown as 'Figure 3. identity.png',
    the only figures without a sentence (userA, userB)."""
    figures = {"identity": (0, 0, 1), "transfer": (1, 0, 0)}
    text = build_report([make_run("shown", config=config, figures=figures)]).read_text("utf-8")
    assert "log p(x) = ELBO(q) + KL(q ‖ p(z | x)) on PPCA" in text
    assert "Style transfer: originals (top row)" in text
    assert not re.search(r"<b>Figure \d+\.</b> (identity|transfer)\.png", text)


@pytest.mark.parametrize(
    ("shape", "said"),
    [([3, 16, 16], "none: colour levels of each channel"), ([1, 8, 8], "none: grey levels")],
    ids=["rgb", "grey"],
)
def test_a_colour_runs_protocol_is_not_called_grey_levels(make_run, config, shape, said):
    """An RGB run's header said 'PROTOCOL none: grey levels, not binarized' (userB)."""
    config["data"].update(shape=shape, binarize="none")
    text = build_report([make_run("colour", config=config)]).read_text(encoding="utf-8")
    assert said in text


def test_a_fit_run_on_a_table_without_labels_is_not_coloured_by_class():
    """fit ppca recorded no num_classes, so its table run's scatter was 'coloured by class' in
    one colour (userA #33); a table's label column tells where the record does not."""
    from torchlvm.report.run import captions_for

    unlabelled = {"model_type": "ppca", "data": {"table": {"label_column": None}}}
    assert "coloured by class" not in captions_for(unlabelled)["latent_scatter"]
    labelled = {"model_type": "ppca", "data": {"table": {"label_column": "kind"}}}
    assert "coloured by class" in captions_for(labelled)["latent_scatter"]


def test_the_evaluation_fact_says_k_is_the_bounds_where_log_p_is_exact():
    """A PPCA's report header read "test split, n = 200, k = 1000, seed 0" for a likelihood that
    is exact: k is said to be a check's (userE) where an estimate was drawn beside it (an
    evaluation before review11 #4), else left out: no estimate used it."""
    from torchlvm.report.html import evaluation_fact

    protocol = {"split": "test", "n": 200, "k": 1000, "seed": 0}
    exact = {"nats": {"value": 16.4, "kind": "exact"}}
    assert evaluation_fact({"protocol": protocol, "likelihood": {"exact": exact}}) == (
        "evaluation",
        "test split, n = 200, seed 0",
    )
    checked = {"exact": exact, "log_marginal": {"nats": {"value": 16.4, "kind": "estimate"}}}
    assert evaluation_fact({"protocol": protocol, "likelihood": checked}) == (
        "evaluation",
        "test split, n = 200, k = 1000 (an importance-sampled check; log p(x) is exact), seed 0",
    )
    assert evaluation_fact({"protocol": protocol, "likelihood": {}}) == (
        "evaluation",
        "test split, n = 200, k = 1000, seed 0",
    )


def _digits_runs(folder):
    """An untrained class-conditional CVAE (folder/cvae) and VAE (folder/vae) of digits, saved
    with the data records a run on digits has."""
    import torch

    from torchlvm.models import CVAE, VAE, CVAEConfig, VAEConfig

    torch.manual_seed(0)
    names = [str(k) for k in range(10)]
    cvae = CVAE(CVAEConfig(64, 10, latent_dim=2, hidden=(8,), num_classes=10, class_names=names))
    data = {"name": "digits", "binarize": "dynamic", "seed": 0, "condition": "label",
            "shape": [1, 8, 8], "num_classes": 10, "class_names": names}  # fmt: skip
    cvae.save_pretrained(folder / "cvae", data=data)
    VAE(VAEConfig(64, latent_dim=2, hidden=(8,))).save_pretrained(
        folder / "vae", data={**data, "condition": "none"}
    )


def test_the_figures_sample_draws_are_captioned_with_what_and_its_seed(tmp_path):
    """userH #21: a later `sample --condition` grid was shown as 'Figure 6. conditional-seed0.png'
    with no sentence. sample's figure carries the line it printed (its PNG's Description), by
    any name; one without it (an older sample's) is captioned by its default name."""
    from torchlvm.cli import main

    _digits_runs(tmp_path)
    assert main(["sample", str(tmp_path / "cvae"), "--condition", "3", "--n", "4"]) == 0
    mine = tmp_path / "cvae" / "figures" / "mine.png"
    assert main(["sample", str(tmp_path / "cvae"), "--condition", "all", "--out", str(mine)]) == 0
    assert main(["sample", str(tmp_path / "vae"), "--n", "4", "--seed", "7"]) == 0
    text = build_report([tmp_path / "cvae"]).read_text("utf-8")
    assert (
        "</b> 4 samples of class 3 from cvae (K=2) trained on digits: decoder means "
        "E[x | z, c] at z ~ p(z | c), seed 0. Drawn by torchlvm sample, not by evaluate." in text
    )
    assert "8 samples for each of 10 classes (0, 1, 2, 3, 4, 5, 6, 7, 8, 9) from cvae" in text
    # readB #7: sample's grid saved at evaluate's name was captioned as evaluate's samples
    at = tmp_path / "vae" / "figures" / "samples.png"
    assert main(["sample", str(tmp_path / "vae"), "--n", "4", "--seed", "5", "--out", str(at)]) == 0
    text = build_report([tmp_path / "vae"]).read_text("utf-8")
    said = "4 samples from vae (K=2) trained on digits: decoder means E[x | z] at z ~ p(z), seed "
    assert said + "5. Drawn by torchlvm sample, not by evaluate." in text
    at.unlink()
    plain = tmp_path / "vae" / "figures" / "samples-seed7.png"  # (as an older sample drew it)
    plain.write_bytes(plain.read_bytes().replace(b"tEXtDescription", b"tEXtDescriptioX"))
    text = build_report([tmp_path / "vae"]).read_text("utf-8")
    assert (
        "Samples drawn by torchlvm sample, seed 7, not by evaluate: latent codes drawn from the "
        "prior z ~ p(z), shown as the decoder&#x27;s mean E[x | z]." in text
    )
    assert not re.search(r"<b>Figure \d+\.</b> [\w-]+\.png", text)


def test_the_figures_reconstruct_draws_are_captioned_as_its(tmp_path):
    """review15 R4: reconstruct's own picture (644d8b3: reconstructions-NAME.png, no longer over
    evaluate's) was shown as 'Figure 2. reconstructions-other.png' with no sentence: it says
    whose images, by which command; a Description on it is captioned as reconstruct's."""
    from torchlvm.cli import main
    from torchlvm.report.later_figures import sampled_caption

    _digits_runs(tmp_path)
    other = tmp_path / "other.npy"
    np.save(other, np.random.default_rng(0).uniform(size=(20, 8, 8)).astype(np.float32))
    assert main(["reconstruct", str(tmp_path / "vae"), "--data", str(other), "--n", "4"]) == 0
    text = build_report([tmp_path / "vae"]).read_text("utf-8")
    assert (
        "Images of other (the split, or the file given to torchlvm reconstruct --data) above"
        in text
    )
    assert not re.search(r"<b>Figure \d+\.</b> [\w-]+\.png", text)
    config = {"model_type": "vae", "data": {"condition": "none"}}
    assert "Drawn by torchlvm reconstruct" in sampled_caption("reconstructions-test", config)
    assert sampled_caption("reconstructions", config) is None  # (evaluate's)


@pytest.mark.parametrize(
    ("model_type", "condition", "said"),
    [
        ("cvae", "label", "classes c drawn by their train-split frequencies"),
        ("ae", "none", "codes drawn from a Gaussian fitted to the training codes"),
        ("ppca", "none", "noise-free means W z + μ at z ~ N(0, I)"),
        ("vae", "none", "latent codes drawn from the prior z ~ p(z)"),
    ],
    ids=["cvae-drawn-classes", "autoencoder", "ppca", "vae"],
)
def test_a_sample_figure_says_what_sample_draws_for_the_model(model_type, condition, said):
    from torchlvm.report.later_figures import sampled_caption

    config = {"model_type": model_type, "data": {"condition": condition}}
    assert said in sampled_caption("samples-seed12", config)
    assert "seed 12" in sampled_caption("samples-seed12", config)
    assert sampled_caption("samples-seed", config) is None  # (a name of the user's choosing)
    assert sampled_caption("my-samples-seed1", config) is None


def test_a_conditional_runs_densities_are_labelled_given_c(tmp_path):
    """userK #12: a CVAE's report labelled its log p(x | c) "log p(x), importance-sampled
    estimate" and its reconstruction "mean of p(x | z) at z = E_q[z | x]" where the card and the
    console say given c. The rows of a run evaluated with its condition say so; a VAE's do not."""
    import html

    from torchlvm.cli import main

    _digits_runs(tmp_path)
    flags = ["--n", "40", "--k", "10", "--ood", "none", "--no-figures", "--quiet"]
    text = {}
    for name in ("cvae", "vae"):
        assert main(["evaluate", str(tmp_path / name), *flags]) == 0
        text[name] = html.unescape(build_report([tmp_path / name]).read_text("utf-8"))
    assert "log p(x | c), importance-sampled estimate" in text["cvae"]
    assert "x̂ = mean of p(x | z, c) at z = E_q[z | x, c]" in text["cvae"]
    assert "log p(x), importance-sampled estimate" not in text["cvae"]
    assert "log p(x), importance-sampled estimate" in text["vae"]
    assert "x̂ = mean of p(x | z) at z = E_q[z | x]" in text["vae"]


def test_the_side_by_side_gap_row_names_no_one_model_s_quantity(make_run, demo_metrics, tmp_path):
    """userU #7: a report of four CVAEs labelled the gap row "gap ELBO → log p(x)" above cells
    of log p(x | c): the row is named as the likelihood row is, and each cell names its own."""
    import copy

    cvae = copy.deepcopy(demo_metrics)
    cvae["likelihood"]["quantity"] = "log p(x | c)"
    runs = [make_run("vae", metrics=demo_metrics), make_run("cvae", metrics=cvae)]
    text = build_report(runs, tmp_path / "both.html").read_text(encoding="utf-8")
    rows = dict(re.findall(r'<tr><td class="label">([^<]+)</td>(.*?)</tr>', text))
    assert "gap ELBO → log p(x)" not in rows
    cells = re.findall(r'<div class="note">([^<]*)', rows["gap ELBO → log-likelihood"])
    assert [cell.split(" · ")[0] for cell in cells] == [
        "gap ELBO → log p(x)",
        "gap ELBO → log p(x | c)",
    ]
