"""build_report: one self-contained page per run, side by side for several, gaps stated."""

import base64
import json
import re

import numpy as np
import pytest
from matplotlib.image import imsave

from torchlvm.errors import ConfigError, RunDirectoryError
from torchlvm.report import build_report
from torchlvm.report.run import png_size


def embedded_pngs(text):
    return [base64.b64decode(b) for b in re.findall(r'src="data:image/png;base64,([^"]+)"', text)]


def test_single_run_report_has_header_metrics_figures_and_config(make_run):
    run = make_run()
    path = build_report([run])
    assert path == run / "report.html"
    text = path.read_text(encoding="utf-8")
    assert "<title>vae-run · torchlvm report</title>" in text
    assert "vae · digits · protocol dynamic" in text
    assert "Bernoulli(intensity) at every pass" in text
    # quantities: value ± standard error (the value to the error's digit), unit, bound vs
    # estimate, k, ESS; 4 significant digits
    assert "-25.12" in text and "bound" in text
    assert "-23.457 ± 0.039" in text and "estimate · k = 5000 · ESS 812.2" in text
    assert "0.01235" in text and "nats per example" in text
    # figures: two files plus the training curves drawn from metrics.csv, all real PNGs
    pngs = embedded_pngs(text)
    assert len(pngs) == 3 and all(png_size(p) for p in pngs)
    assert "drawn from metrics.csv" in text
    assert '<span class="short">training curves</span>' in text  # its stem cut "(… .csv)"
    assert "Posterior means of test data coloured by class" in text  # known caption
    assert (
        "<details><summary>config.json</summary><pre>{\n  &quot;model_type&quot;: &quot;vae&quot;"
        in text
    )
    # self-contained: no scripts, no external resources (links only to the page's own figures)
    assert "<script" not in text.lower()
    assert not re.search(r'(src|href)="(?!data:|#)', text)
    assert not list(run.glob(".*.tmp"))


def test_missing_pieces_are_stated_not_fatal(make_run):
    run = make_run("bare", metrics=None, csv=None, figures={})
    (run / "model.safetensors").write_bytes(b"")  # a model to measure: evaluate is the fix
    text = build_report([run]).read_text(encoding="utf-8")
    assert f"No metrics.json: run `torchlvm evaluate {run}`" in text
    assert "No training curves: neither figures/training_curves.png nor metrics.csv" in text
    assert "Figures missing: figures/samples.png, figures/reconstructions.png" in text
    assert "figures/manifold.png" in text  # expected for a 2-D latent space
    assert "<img" not in text


def test_unreadable_metrics_and_broken_figures_are_stated(make_run):
    run = make_run("broken", metrics="{not json", figures={"samples": (0, 0, 0)})
    (run / "figures" / "extra_plot.png").write_bytes(b"not a png at all")
    text = build_report([run]).read_text(encoding="utf-8")
    assert "metrics.json could not be read" in text
    assert "figures/extra_plot.png: not drawn by torchlvm, so left out of the report." in text
    assert len(embedded_pngs(text)) == 2  # samples + curves from the CSV


def test_a_png_torchlvm_did_not_draw_is_left_out_and_named(make_run):
    """A user's own PNG in figures/ (unmarked) is not the run's figure: the report embeds only
    what torchlvm drew, and does not promise that evaluate draws a figure it leaves alone."""
    run = make_run("users", figures={"latent_scatter": (0, 0, 1)})
    imsave(run / "figures" / "samples.png", np.zeros((8, 8, 3)))  # matplotlib's own mark
    imsave(run / "figures" / "holiday.png", np.ones((8, 8, 3)), metadata={"Software": "GIMP"})
    text = build_report([run]).read_text(encoding="utf-8")
    pngs = embedded_pngs(text)
    assert len(pngs) == 2 and all(b"tEXtSoftware\x00torchlvm" in p for p in pngs)  # + curves
    assert "figures/holiday.png: not drawn by torchlvm, so left out of the report." in text
    assert (
        "figures/samples.png: not drawn by torchlvm, so left out of the report (and left as it "
        f"is by evaluate); move it away and run `torchlvm evaluate {run}` to draw" in text
    )
    missing = re.search(r"Figures missing: ([^;]*);", text).group(1)
    assert "samples" not in missing and "figures/reconstructions.png" in missing
    assert "holiday.png" not in text.replace("figures/holiday.png: not drawn", "")


def test_unknown_figures_get_their_file_name_as_caption(make_run):
    run = make_run("extra", figures={"training_curves": (0, 0, 1), "my_own_plot": (0, 1, 0)})
    text = build_report([run]).read_text(encoding="utf-8")
    assert "<b>Figure 2.</b> my_own_plot.png" in text
    assert "drawn from metrics.csv" not in text  # the run's own curves figure is used


def test_text_from_files_is_escaped(make_run, config):
    config["data"]["name"] = "<script>alert('x')</script>"
    config["training"]["note"] = '"><img src=x onerror=alert(1)>'
    metrics = {"<b>section</b>": {"<i>key</i>": "<script>1</script>"}}
    run = make_run("escape", config=config, metrics=metrics)
    text = build_report([run]).read_text(encoding="utf-8")
    assert "<script" not in text.lower() and "<img src=x" not in text and "<b>section" not in text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in text
    assert "&lt;i&gt;key&lt;/i&gt;" in text


def test_several_runs_side_by_side(make_run, config, tmp_path):
    first = make_run("vae")
    config["model_type"] = "autoencoder"
    second = make_run("ae", config=config, metrics={"reconstruction": {"mse": 0.5}})
    out = build_report([first, second], tmp_path / "out" / "compare.html")
    text = out.read_text(encoding="utf-8")
    table = text[text.index("All metrics side by side") : text.index('<section class="run">')]
    assert "<th>vae</th><th>ae</th>" in table
    row = re.search(r'title="reconstruction\.mse">.*?</td>(.*?)</tr>', table).group(1)
    cells = r'<td data-run="(\w+)" class="num"><div>(.*?)</div></td>'
    assert re.findall(cells, row) == [("vae", "0.01235"), ("ae", "0.5")]
    row = re.search(r'title="likelihood\.elbo">.*?</td>(.*?)</tr>', table).group(1)
    assert re.findall(cells, row)[1] == ("ae", "—")  # absent in the second run
    assert text.count('<section class="run">') == 2
    assert len(embedded_pngs(text)) == 6
    assert not (first / "report.html").exists()


def test_several_runs_need_out_spelled_for_each_interface(make_run):
    with pytest.raises(ConfigError, match="needs an output file: pass out='comparison.html'") as e:
        build_report([make_run("a"), make_run("b")])
    assert "pass --out comparison.html (or" in e.value.on_command_line


def test_one_folder_may_be_passed_alone(make_run):
    """A string was iterated letter by letter ('a report on 8 run folders needs an output
    file') and a Path was a TypeError."""
    folder = make_run("a")
    assert build_report(str(folder)) == build_report(folder) == folder / "report.html"
    with pytest.raises(ConfigError, match="at least one run folder"):
        build_report([])


def test_out_folder_gets_report_html(make_run, tmp_path):
    out = tmp_path / "reports"
    out.mkdir()
    assert build_report([make_run()], out) == out / "report.html"


def test_folder_without_config_is_refused(tmp_path):
    with pytest.raises(RunDirectoryError, match=f"cannot report on {tmp_path}: it has no config"):
        build_report([tmp_path])


def test_config_is_pretty_json_in_a_details_block(make_run, config):
    text = build_report([make_run()]).read_text(encoding="utf-8")
    block = re.search(r"<pre>(.*?)</pre>", text, re.S).group(1)
    assert json.loads(block.replace("&quot;", '"')) == config


def test_runs_on_other_data_are_flagged_as_not_comparable(make_run, config, tmp_path):
    """A PPCA on grey levels (log p(x) = +16.6) beside a VAE on binarized pixels (−36.2) read as
    one ranking in one 'test log-likelihood' row; the page now says they are not comparable."""
    same = build_report([make_run("a"), make_run("b")], tmp_path / "same.html")
    assert "Not comparable" not in same.read_text(encoding="utf-8")
    config["data"]["binarize"] = "none"
    other = make_run("grey", config=config)
    text = build_report([make_run("c"), other], tmp_path / "other.html").read_text("utf-8")
    warning = text[text.index("Not comparable") : text.index("<table")]
    name = config["data"]["name"]
    assert f"{name} (protocol dynamic); {name} (protocol none)" in warning


def test_a_conditional_likelihood_or_another_split_is_flagged(make_run, demo_metrics, tmp_path):
    """A CVAE's log p(x | c) (given the class) stood in the VAE's 'test log-likelihood' row on the
    same data with no word that it is another quantity; so did a run evaluated on val."""
    vae = make_run("vae", metrics=demo_metrics)
    conditional = json.loads(json.dumps(demo_metrics))
    conditional["likelihood"]["quantity"] = "log p(x | c)"
    cvae = make_run("cvae", metrics=conditional)
    text = build_report([vae, cvae], tmp_path / "vc.html").read_text("utf-8")
    warning = text[text.index("Not comparable") : text.index("<table")]
    assert "different quantities" in warning and "vae: log p(x); cvae: log p(x | c)" in warning
    assert "(protocol" not in warning and "splits" not in warning
    on_val = json.loads(json.dumps(demo_metrics))
    on_val["protocol"]["split"] = "val"
    text = build_report([vae, make_run("v", metrics=on_val)], tmp_path / "vv.html").read_text()
    warning = text[text.index("Not comparable") : text.index("<table")]
    assert "evaluated on different splits: vae: test; v: val" in warning


def test_a_cvaes_log_px_over_its_classes_ranks_it_beside_a_vae(make_run, demo_metrics, tmp_path):
    """userU #3: a CVAE evaluated with its log p(x) = log Σ_c π_c p(x | c) and a VAE of the same
    data and split were 'not comparable'; the CVAE's log p(x) over its classes stands in the
    VAE's log p(x) row, its log p(x | c) in a row of its own, and the box names only what still
    differs (the k of its importance sampling, --ood-k per class)."""
    import html

    vae = make_run("vae", metrics=demo_metrics)
    conditional = json.loads(json.dumps(demo_metrics))
    conditional["likelihood"]["quantity"] = "log p(x | c)"
    nats = {"value": -24.738, "unit": "nats/example", "kind": "estimate", "k": 1000}
    nats |= {"stderr": 0.0038, "data_stderr": 0.25, "n": 359, "classes": 10}
    conditional["likelihood"]["log_px_over_classes"] = {"nats": nats}
    cvae = make_run("cvae", metrics=conditional)
    text = html.unescape(build_report([vae, cvae], tmp_path / "vc.html").read_text("utf-8"))
    assert "Not comparable" not in text
    head = text[text.index('<table class="side stack">') : text.index("ELBO (lower bound)")]
    row = head[head.index("test log-likelihood") : head.index("log p(x | c), given the class")]
    assert "−24.7380" in row and "test log p(x) over the classes" in row
    assert "k = 1000 per class" in row
    given = head[head.index("log p(x | c), given the class") :]
    assert "test log p(x | c)" in given
    nats["k"] = 100  # (evaluate's --ood-k 100 beside the VAE's --k 1000)
    cvae = make_run("cvae2", metrics=conditional)
    text = html.unescape(build_report([vae, cvae], tmp_path / "vk.html").read_text("utf-8"))
    warning = text[text.index("Not comparable") : text.index("<table")]
    assert "different quantities" not in warning
    assert "--k (a CVAE's log p(x) over its classes: --ood-k)" in warning
    assert "cvae2: n = 359, k = 100 (per class, --ood-k), seed 0" in warning


def test_table_runs_split_by_other_rules_are_flagged(make_run, config, tmp_path):
    """readG G3: a VAE and a CVAE of one table file (split at random and by class since
    5b576ff) shared 2 of 15 test rows, and the report ranked both as 'test' without a word. Two
    runs of one rule, and runs on a dataset by name, are not flagged."""
    import copy

    table = copy.deepcopy(config)
    table["data"].update(name="wine.csv", binarize="none", table={"columns": ["a", "b"]})
    by_class = copy.deepcopy(table)
    by_class["data"]["options"] = {"stratify": True}

    def warning(*runs) -> str:
        text = build_report(list(runs), tmp_path / "cmp.html").read_text("utf-8")
        return text[text.index("Not comparable") : text.index("<table")] if "Not c" in text else ""

    vae, cvae = make_run("vae", config=table), make_run("cvae", config=by_class)
    assert "vae: split at random; cvae: split by class" in warning(vae, cvae)
    assert warning(vae, make_run("vae2", config=table)) == ""
    assert warning(make_run("d1"), make_run("d2")) == ""


def test_runs_on_other_examples_or_an_earlier_model_are_flagged(make_run, demo_metrics, tmp_path):
    """userS #2: a run evaluated on n = 200, k = 50 ranked best beside runs on n = 500, k = 100
    (another subsample moves log p(x) by its ± over examples, far above the gap), and a run
    whose numbers were of its model before a resume stood in the headline without a word; both
    are named in the 'Not comparable' box."""
    from torchlvm.data.fingerprint import file_sha256

    def warning(*runs) -> str:
        text = build_report(list(runs), tmp_path / "cmp.html").read_text("utf-8")
        return text[text.index("Not comparable") : text.index("<table")] if "Not c" in text else ""

    few = json.loads(json.dumps(demo_metrics))
    few["protocol"].update(n=200, k=50)
    a, b = make_run("a", metrics=demo_metrics), make_run("b", metrics=few)
    said = "evaluated on different examples or importance samples (evaluate each with the same "
    said += "--n, --k and --seed): a: n = 359, k = 1000, seed 0; b: n = 200, k = 50, seed 0"
    assert said in warning(a, b)
    same = make_run("same", metrics=demo_metrics)
    assert warning(a, same) == ""
    exact = json.loads(json.dumps(demo_metrics))  # (a PPCA's: exact, the whole split)
    exact["likelihood"]["exact"] = {"nats": {"value": -20.0, "unit": "nats/example"}}
    exact["protocol"].update(n=359, split_rows=359, seed=3)
    other_k = json.loads(json.dumps(exact))
    other_k["protocol"]["k"] = 100
    ppca, ppca_k = make_run("ppca", metrics=exact), make_run("ppca-k", metrics=other_k)
    assert warning(ppca, ppca_k) == "" and warning(a, ppca) == ""  # (readF F2: k unused)
    assert "a: n = 359, k = 1000, seed 0; b: n = 200, k = 50, seed 0; ppca: n = 359" in warning(
        a, b, ppca
    )
    for run in (a, same):
        (run / "model.safetensors").write_bytes(b"weights now")
    stamped = json.loads(json.dumps(demo_metrics))
    stamped["meta"] = {"weights_sha256": file_sha256(same / "model.safetensors")}
    (same / "metrics.json").write_text(json.dumps(stamped))
    assert warning(a, same) == ""  # (a: no stamp, nothing claimed; same: its own weights)
    stamped["meta"]["weights_sha256"] = "0" * 64  # (measured before a resume)
    (same / "metrics.json").write_text(json.dumps(stamped))
    assert "the numbers of same were measured on an earlier model than the run holds" in warning(
        a, same
    )


def test_a_cvae_report_names_c_in_its_captions_and_curves(make_run, config, monkeypatch):
    """A CVAE's report said q(z | x), p(z) and 'others fixed' (at what?): its captions and the
    curves drawn from metrics.csv name c, p(z | c) and where the traversal is centred."""
    import torchlvm.plots.curves as curves

    drawn = []
    real = curves.training_curves
    monkeypatch.setattr(
        curves, "training_curves", lambda *a, **kw: drawn.append(kw) or real(*a, **kw)
    )
    config["model_type"], config["data"]["condition"] = "cvae", "label"
    red, blue = (1.0, 0.0, 0.0), (0.1, 0.2, 0.9)
    figures = (("traversals", red), ("reconstructions", blue), ("kl_per_dimension", red))
    text = build_report([make_run("cvae", config=config, figures=figures)]).read_text("utf-8")
    assert drawn and drawn[0]["conditional"] is True
    assert "the posterior mean of q(z | x, c), with each input&#x27;s own condition c" in text
    assert "at the first test input&#x27;s condition c" in text and "centre of p(z | c)" in text
    assert "KL(q(zᵢ | x, c) ‖ p(zᵢ | c))" in text
    assert "q(z | x)." not in text and "others stay fixed" not in text


def test_an_autoencoders_captions_speak_of_codes_not_a_prior(make_run, config):
    """An autoencoder's samples figure is drawn from a Gaussian fitted to its codes, yet its
    caption said 'latent codes drawn from the prior z ~ p(z)' (it has none) and its scatter
    'posterior means'."""
    config["model_type"] = "ae"
    figures = (("samples", (1.0, 0.0, 0.0)), ("latent_scatter", (0.1, 0.2, 0.9)))
    text = build_report([make_run("ae", config=config, figures=figures)]).read_text("utf-8")
    assert "codes drawn from a Gaussian fitted to its training codes (it has no prior p(z))" in text
    assert "Codes of test data coloured by class" in text
    assert "drawn from the prior z ~ p(z)" not in text and "Posterior means" not in text


def test_an_autoencoders_curves_are_its_reconstruction_loss(make_run, config, monkeypatch):
    """An autoencoder trains on a reconstruction loss, not a bound: its curves' caption named 'the
    bound the model was trained on' and the panel a log-likelihood."""
    import torchlvm.plots.curves as curves

    drawn = []
    real = curves.training_curves
    monkeypatch.setattr(
        curves, "training_curves", lambda *a, **kw: drawn.append(kw) or real(*a, **kw)
    )
    config["model_type"] = "ae"
    config["model"]["reconstruction"] = "bernoulli"
    csv = "epoch,step,train/reconstruction,val/reconstruction\n0,9,40,34\n"
    run = make_run("ae", config=config, csv=csv)
    text = build_report([run]).read_text("utf-8")
    assert drawn and drawn[0]["reconstruction"] == "bernoulli"
    assert "reconstruction loss (lower is better)" in text
    assert "the bound the model was trained on" not in text


@pytest.mark.parametrize("model_type, condition", [("vae", None), ("cvae", "label"), ("ae", None)])
def test_the_reconstructions_caption_says_the_inputs_are_as_the_model_sees_them(
    make_run, config, model_type, condition
):
    """The inputs row of a dynamically binarized run is one Bernoulli draw of each test image,
    black and white, beside grey reconstructions; the caption called them 'test inputs'."""
    config["model_type"], config["data"]["condition"] = model_type, condition
    figures = (("reconstructions", (1.0, 0.0, 0.0)),)
    text = build_report([make_run(model_type, config=config, figures=figures)]).read_text("utf-8")
    assert "Test inputs as the model sees them (under the run&#x27;s binarization protocol)" in text


def test_the_training_line_counts_one_epoch_in_the_singular():
    from torchlvm.report.html import training_text

    assert training_text({"max_epochs": 1, "batch_size": 32}) == "1 epoch · batch 32"
    assert training_text({"max_epochs": 3}) == "3 epochs"


def test_the_training_line_says_how_many_epochs_were_trained_when_fewer_than_set():
    """A run stopped early at 196 of 300 epochs was shown as '300 epochs' (the setting)."""
    from torchlvm.report.html import training_text

    stopped = {"epochs": 196, "stopped_early": True}
    assert training_text({"max_epochs": 300}, stopped) == "196 of 300 epochs (stopped early)"
    assert training_text({"max_epochs": 20}, {"epochs": 5}) == "5 of 20 epochs"
    assert training_text({"max_epochs": 20}, {"epochs": 20}) == "20 epochs"
    assert training_text({"max_epochs": 20, "batch_size": 8}) == "20 epochs · batch 8"


KILLED_COMMIT = """
import json, os, signal, sys
from pathlib import Path
from torchlvm.run.commit import Staging

folder, stop, files = Path(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
real = os.replace
def replace(src, dst):  # a SIGKILL before the staged file named stop is renamed into place
    if Path(src).name.endswith(".torchlvm-new") and Path(dst).name == stop:
        os.kill(os.getpid(), signal.SIGKILL)
    real(src, dst)
os.replace = replace
with Staging(folder) as staging:
    for name, text in files.items():  # staged, then renamed, in this order
        staging.path(folder / name).write_text(text)
    staging.commit()
"""


def test_build_report_finishes_a_killed_commit_before_it_reads_the_run(make_run):
    """The command line's report finished an evaluate or gaps commit killed between its renames
    (the journal .torchlvm-commit.json) before reading the run, but Python's build_report read
    the run as it lay: the new gaps.json beside the old metrics.json. It finishes it first."""
    import os
    import signal
    import subprocess
    import sys

    from torchlvm.run.commit import JOURNAL_NAME

    folder = make_run()
    new = (folder / "metrics.json").read_text().replace("{", '{"seconds": {"all": 1.5},', 1)
    files = json.dumps({"gaps.json": '{"new": true}', "metrics.json": new})
    argv = [sys.executable, "-c", KILLED_COMMIT, str(folder), "metrics.json", files]
    assert subprocess.run(argv, env=os.environ).returncode == -signal.SIGKILL
    assert (folder / JOURNAL_NAME).exists() and (folder / "metrics.json").read_text() != new
    build_report(folder)
    assert not (folder / JOURNAL_NAME).exists()
    assert (folder / "metrics.json").read_text() == new
    assert (folder / "gaps.json").read_text() == '{"new": true}'


def test_a_killed_commit_of_the_model_and_its_config_is_finished_before_the_folder_is_judged(
    make_run,
):
    """A run whose model.safetensors and config.json commit (train's publish in place) was killed
    between its renames held the model, a staged config.json and the journal: report called it
    'a run whose training was interrupted, but no model yet' (the check ran before the
    recovery, since 634e970), naming a resume that then failed. It is finished, then read."""
    import os
    import signal
    import subprocess
    import sys

    from torchlvm.run.commit import JOURNAL_NAME

    folder = make_run()
    config = (folder / "config.json").read_text()
    (folder / "config.json").unlink()  # a first publish: no config.json yet
    files = json.dumps({"model.safetensors": "weights", "config.json": config})
    argv = [sys.executable, "-c", KILLED_COMMIT, str(folder), "config.json", files]
    assert subprocess.run(argv, env=os.environ).returncode == -signal.SIGKILL
    assert (folder / JOURNAL_NAME).exists() and not (folder / "config.json").exists()
    build_report(folder)
    assert not (folder / JOURNAL_NAME).exists()
    assert (folder / "config.json").read_text() == config
    assert (folder / "model.safetensors").read_text() == "weights"


def test_the_subtitle_leaves_out_what_the_title_says(make_run, config, tmp_path):
    """A run folder named after its model (make demo's runs/demo/vae) was titled 'vae' over
    'vae · digits · protocol dynamic': the model, named twice; so was each column of a
    comparison. A title that is the data's name leaves the data out the same way."""
    vae = build_report([make_run("vae")]).read_text(encoding="utf-8")
    assert '<p class="subtitle">digits · protocol dynamic · <code>' in vae
    digits = build_report([make_run("Digits")]).read_text(encoding="utf-8")
    assert '<p class="subtitle">vae · protocol dynamic · <code>' in digits
    config["model_type"] = "autoencoder"
    both = build_report([make_run("ae", config=config), tmp_path / "vae"], tmp_path / "c.html")
    text = both.read_text(encoding="utf-8")
    assert '<th class="run">vae<span class="sub">digits · protocol dynamic</span>' in text
    assert '<th class="run">ae<span class="sub">autoencoder · digits · protocol dynamic' in text


def test_codes_of_data_without_classes_are_not_said_to_be_coloured_by_class():
    """A table without a label column had 'Posterior means of test data coloured by class' under
    its one-colour scatter."""
    from torchlvm.report.run import captions_for

    table = {"model_type": "ppca", "data": {"num_classes": None, "table": {}}}
    assert captions_for(table)["latent_scatter"].startswith("Posterior means of test data: ")
    labelled = {"model_type": "vae", "data": {"num_classes": 10}}
    assert "coloured by class" in captions_for(labelled)["latent_scatter"]
    assert "coloured by class" in captions_for({"model_type": "ae"})["latent_scatter"]


def test_the_commands_the_notes_offer_keep_a_folder_with_a_space_one_word(make_run):
    """review13 #12b: the notes offered `torchlvm evaluate my run` (two words to a shell)."""
    import html
    import shlex

    run = make_run("my run", metrics="{not json", figures={})
    (run / "figures").mkdir(exist_ok=True)
    imsave(run / "figures" / "samples.png", np.zeros((4, 4, 3)))  # (a user's own: unmarked)
    text = html.unescape(build_report([run]).read_text(encoding="utf-8"))
    commands = re.findall(r"`(torchlvm evaluate [^`]*)`", text)
    assert len(commands) == 3  # (metrics.json unreadable, a user's samples.png, figures missing)
    assert all(shlex.split(c) == ["torchlvm", "evaluate", str(run)] for c in commands)


@pytest.mark.parametrize(
    "written", [5, None, True, "samples.png"], ids=["int", "null", "bool", "str"]
)
def test_a_hand_edited_figures_list_that_is_no_list_reads_as_none_written(
    make_run, demo_metrics, written
):
    """runs15 #3: metrics.json's figures.written edited to 5, null or true was a traceback in
    report and evaluate --figures-only (Figures.from_json iterated it; a string, letter by
    letter): the only crash of 928 fuzzed values. It reads as no figure written."""
    from torchlvm.evaluation.records import Figures

    demo_metrics["figures"] = {"folder": "figures", "written": written, "skipped": {}}
    assert Figures.from_json(demo_metrics["figures"]).written == ()
    assert build_report([make_run(metrics=demo_metrics)]).is_file()


def test_runs_whose_data_seeds_deal_other_test_rows_are_flagged(make_run, config, tmp_path):
    """userY #13: digits runs of data seeds 0 and 7 (test splits sharing 77 of 359 rows) and two
    table runs of two seeds were ranked side by side without a word; MNIST's official test set
    is the same whatever the seed, and is not flagged."""
    import copy
    import html

    made = iter(range(100))

    def warning(*configs) -> str:
        runs = [make_run(f"r{next(made)}", config=c) for c in configs]
        text = html.unescape(build_report(runs, tmp_path / "cmp.html").read_text("utf-8"))
        return text[text.index("Not comparable") : text.index("<table")] if "Not c" in text else ""

    seven = copy.deepcopy(config)
    seven["data"]["seed"] = 7
    said = warning(config, seven)
    assert "split with other seeds (train's --seed), so their test splits hold other rows" in said
    assert "r0: data seed 0; r1: data seed 7" in said
    assert warning(config, copy.deepcopy(config)) == ""
    mnist, mnist7 = copy.deepcopy(config), copy.deepcopy(seven)
    mnist["data"]["name"] = mnist7["data"]["name"] = "mnist"
    assert warning(mnist, mnist7) == ""


def test_missing_figures_of_an_evaluation_name_figures_only(make_run, demo_metrics):
    """userW #4: after evaluate --n 300 --no-figures, the report said "`torchlvm evaluate RUN`
    draws them", which re-evaluates at the defaults (minutes) and replaces the n = 300
    evaluation; --figures-only draws them for the evaluation in metrics.json."""
    evaluated = json.loads(json.dumps(demo_metrics))
    evaluated["protocol"]["command"] = "torchlvm evaluate runs/x --n 300"
    run = make_run("evaluated", metrics=evaluated, figures={})
    text = build_report([run]).read_text(encoding="utf-8")
    assert f"`torchlvm evaluate {run} --figures-only` draws them for the evaluation in" in text
    bare = make_run("bare", metrics=None, figures={})
    (bare / "model.safetensors").write_bytes(b"")
    assert f"`torchlvm evaluate {bare}` draws them." in build_report([bare]).read_text("utf-8")
