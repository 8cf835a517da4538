"""``torchlvm compare``: four models trained with one budget, a table with a measured number in
every cell (printed whichever way the cells fall), compare.md and compare.json, and --reuse that
evaluates finished runs without training again."""

import json
import re

import pytest
import torch
from matplotlib.image import imread

from torchlvm.cli import COMMANDS, main
from torchlvm.evaluation import features

ARGS = ["--data", "shapes", "--epochs", "1", "--latent-dim", "4", "--hidden", "32"]
FAST = ["--k", "20", "--n", "200", "--quiet"]


@pytest.fixture(scope="module", autouse=True)
def small_world(tmp_path_factory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small models on a shared machine: threads only contend
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(COMMANDS, "compare", "compare")
        patch.setenv("TORCHLVM_CACHE", str(tmp_path_factory.mktemp("cache")))
        patch.setattr(features, "TRAIN_STEPS", 300)  # a quick classifier is enough here
        yield
    torch.set_num_threads(threads)


def test_compare_trains_four_models_and_fills_every_cell(tmp_path, capsys):
    out = tmp_path / "compare"
    assert main(["compare", *ARGS, *FAST, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    result = json.loads((out / "compare.json").read_text())
    labels = ["AE", "VAE", "β-VAE (β=4)", "CVAE"]
    assert set(result["table"]) == {"interpretability", "separability", "generation"}
    for row in result["table"].values():
        assert list(row) == labels
        assert all(re.search(r"\d\.\d", cell) for cell in row.values())  # a number in each
    assert "log p(x) undefined" in result["table"]["generation"]["AE"]
    assert "MIG" in result["table"]["interpretability"]["VAE"]
    assert all(m["trained_now"] for m in result["models"].values())
    assert (
        result["budget"]["epochs"] == 1 and result["protocol"]["interpretability_data"] == "shapes"
    )
    markdown = (out / "compare.md").read_text()
    assert "| **generation** |" in markdown and "seed's claim" not in markdown
    assert "(can a linear probe read the class off the code?)" in markdown
    assert imread(out / "compare.png")[..., :3].std() > 0.05  # the table, drawn
    assert markdown.strip() in printed  # the table is printed as written
    for key in ("ae", "vae", "beta-vae", "cvae"):
        assert (out / "shapes" / key / "model.safetensors").is_file()

    # --reuse evaluates the finished runs again without training
    assert main(["compare", *ARGS, *FAST, "--out", str(out), "--reuse"]) == 0
    again = json.loads((out / "compare.json").read_text())
    assert not any(m["trained_now"] for m in again["models"].values())
    assert again["table"]["interpretability"] == result["table"]["interpretability"]

    # --reuse with another budget: compare.md stated it above models trained otherwise (userM #16)
    other = ["--data", "shapes", "--epochs", "2", "--latent-dim", "3", "--hidden", "32"]
    assert main(["compare", *other, *FAST, "--out", str(out), "--reuse"]) == 2
    assert capsys.readouterr().err == (
        f"torchlvm: error: {out / 'shapes' / 'ae'} was trained with --epochs 1, --latent-dim 4, "
        "not the --epochs 2, --latent-dim 3 asked; pass those to reuse its runs, or choose "
        "another --out for a new budget\n"
    )
    assert json.loads((out / "compare.json").read_text()) == again

    # without --reuse a folder holding runs is refused, and nothing is retrained
    assert main(["compare", *ARGS, *FAST, "--out", str(out)]) == 2
    assert "--reuse" in capsys.readouterr().err


@pytest.mark.parametrize("bad", [["--lr", "-1"], ["--epochs", "0"], ["--hidden", "32", "0"]])
def test_a_bad_number_is_refused_before_any_folder_is_made(tmp_path, capsys, bad):
    """``--lr -1`` was refused only when the first model started training, after OUT/digits/ had
    been made (and left behind, empty); the error named ``lr``, not ``--lr``."""
    out = tmp_path / "cmp"
    with pytest.raises(SystemExit) as exit_:
        main(["compare", "--data", "digits", *bad, "--out", str(out)])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.startswith(f"torchlvm: error: argument {bad[0]}: must be")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["t.csv", "t.tsv.gz"])
def test_a_table_is_refused_up_front_naming_what_works(tmp_path, capsys, name):
    """compare on a user's table was refused mid-way naming --label-column or --drop-columns,
    flags compare does not take (userA): no table could be compared. It is refused before any
    folder is made, naming the commands that compare models on a table."""
    (tmp_path / name).write_text("a,b\n1,2\n3,4\n")
    out = tmp_path / "cmp"
    assert main(["compare", "--data", str(tmp_path / name), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "compare runs on image datasets" in err
    assert "torchlvm report runs/vae runs/ae --out compare.html" in err and not out.exists()


def test_images_without_labels_are_refused_before_any_training(tmp_path, capsys):
    """compare on an .npy of images without labels trained six models (minutes at the default
    --epochs), then refused naming --condition, a flag compare does not take (userM #3)."""
    import numpy as np

    np.save(tmp_path / "images.npy", np.random.default_rng(0).integers(0, 256, (60, 8, 8)))
    out = tmp_path / "cmp"
    assert main(["compare", "--data", str(tmp_path / "images.npy"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    path = tmp_path / "images.npy"
    assert err == (
        "torchlvm: error: compare needs class labels (its CVAE conditions on them and its "
        f"separability probes read them), and {path} has none; save the data with one class "
        "label per example (labels: an array of N integers or names): "
        f"np.savez('{tmp_path / 'images-labelled.npz'}', x=np.load('{path}'), y=labels), then "
        f"pass --data {tmp_path / 'images-labelled.npz'}, or compare on a labelled dataset "
        "(--data digits)\n"
    )
    assert not out.exists()


def _result(mig: float) -> dict:
    """A compare result of two models (what the library returns), its MIG set to ``mig``."""
    from torchlvm.evaluation.compare import _table

    def entry(label: str) -> dict:
        return {"label": label, "interpretability": {"mig": {"value": mig}}, "metrics": {}}

    models = {"ae": entry("AE"), "vae": entry("VAE")}
    budget = {"epochs": 1, "latent_dim": 2, "hidden": [8], "batch_size": 8, "lr": 0.1, "seed": 0}
    return {"data": "digits", "table": _table(models), "budget": budget, "models": models,
            "protocol": {"binarize": "dynamic", "n": 50, "k": 5}, "verdicts": {}}  # fmt: skip


@pytest.mark.parametrize("failing", ["compare.md", "compare.png"])
def test_the_three_outputs_are_one_commit(tmp_path, monkeypatch, capsys, failing):
    """compare.json, compare.md and compare.png were written one after another: an error or a
    kill between them left a new compare.json beside the old table and figure. They are put in
    place together (torchlvm.run.commit), so that a failure in the middle leaves the old three
    and the next run the new three."""
    import os

    from torchlvm.evaluation import compare as library

    out = tmp_path / "compare"
    argv = ["compare", "--data", "digits", "--out", str(out), "--quiet"]
    monkeypatch.setattr(library, "compare", lambda *a, **k: _result(0.25))
    assert main(argv) == 0
    old = {
        name: (out / name).read_bytes() for name in ("compare.json", "compare.md", "compare.png")
    }
    assert b"0.25" in old["compare.json"]

    monkeypatch.setattr(library, "compare", lambda *a, **k: _result(0.75))
    replace = os.replace

    def refused(src, dst, *a, **k):  # the system refuses to put one of them in place
        if str(dst).endswith(failing):
            raise PermissionError(13, "Permission denied", str(dst))
        return replace(src, dst, *a, **k)

    monkeypatch.setattr(os, "replace", refused)
    assert main(argv) == 1
    assert {name: (out / name).read_bytes() for name in old} == old  # the old three, whole
    assert sorted(p.name for p in out.iterdir()) == sorted(old)  # nothing staged is left

    monkeypatch.setattr(os, "replace", replace)
    assert main(argv) == 0
    new = {name: (out / name).read_bytes() for name in old}
    assert b"0.75" in new["compare.json"] and b"0.75" in new["compare.md"]
    assert new["compare.png"] != old["compare.png"]


@pytest.mark.parametrize("name", ["compare.md", "compare.json", "compare.png"])
def test_a_users_file_at_an_output_is_kept_and_named_before_any_work(
    tmp_path, monkeypatch, capsys, name
):
    """compare --out ~/thesis, a folder holding the user's own compare.md, trained for minutes
    and then wrote over it. A file compare did not write is refused before any work; the ones
    it wrote are replaced."""
    from torchlvm.evaluation import compare as library

    out = tmp_path / "thesis"
    out.mkdir()
    mine = out / name
    mine.write_bytes(b"\\documentclass{article}" if name != "compare.png" else b"\x89PNG mine")
    monkeypatch.setattr(library, "compare", lambda *a, **k: pytest.fail("work was done"))
    assert main(["compare", "--data", "digits", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"torchlvm: error: {mine} already exists and is not a file this command wrote; move it "
        "away, or choose another --out\n"
    )
    assert mine.read_bytes()[:4] in (b"\\doc", b"\x89PNG") and len(list(out.iterdir())) == 1

    mine.unlink()  # compare's own three are replaced
    monkeypatch.setattr(library, "compare", lambda *a, **k: _result(0.25))
    assert main(["compare", "--data", "digits", "--out", str(out), "--quiet"]) == 0
    assert main(["compare", "--data", "digits", "--out", str(out), "--quiet"]) == 0


@pytest.mark.parametrize("finished", [0, 1], ids=["none finished", "one finished"])
def test_an_interrupted_compare_names_what_it_kept_and_the_reuse_that_goes_on(
    tmp_path, monkeypatch, capsys, finished
):
    """userV #13: compare stopped by SIGTERM said only 'torchlvm: error: terminated (SIGTERM)',
    where its finished models are kept and --reuse evaluates them and trains the rest."""
    import sys

    import torchlvm.evaluation.compare as library
    from torchlvm._terminated import Terminated

    out = tmp_path / "cmp"
    words = ["compare", *ARGS, *FAST, "--out", str(out)]

    def compare_until_killed(data, out_dir, **options):
        if finished:  # the shapes AE trained and published, the next model killed mid-way
            run = out_dir / "shapes" / "ae"
            run.mkdir(parents=True)
            (run / "config.json").write_text("{}")
            (run / "model.safetensors").write_bytes(b"")
        raise Terminated

    monkeypatch.setattr(library, "compare", compare_until_killed)
    monkeypatch.setattr(sys, "argv", ["torchlvm", *words])
    assert main(words) == 143
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == "torchlvm: error: terminated (SIGTERM)"
    command = "torchlvm " + " ".join(words)
    if finished:
        assert err[-2] == (
            f"torchlvm: the 1 of 4 models that finished are kept ({out / 'shapes' / 'ae'}); "
            f"'{command} --reuse' evaluates them and trains the rest"
        )
    else:
        assert err[-2] == (
            f"torchlvm: no model was finished, so none is kept in {out}; start it again with "
            f"'{command}'"
        )
