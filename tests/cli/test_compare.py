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
