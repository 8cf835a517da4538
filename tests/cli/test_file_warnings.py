"""What a file holds is told once: at training (and of a file given as other data), not again by
each command that reads the run's own file (table16, readG G2: encode, evaluate, reconstruct and
score repeated training's warnings of copied columns, repeated rows, codes such as -999 and
rows of no label on every run)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from torchlvm import cli
from torchlvm.data import FileWarning, load_dataset

TOLD = ("equals column 'a'", "repeat an earlier row", "holds -999", "no label in")


@pytest.fixture(scope="module")
def told(tmp_path_factory):
    """A 120-row file with a copied column, 20 repeated rows, a -999 code and a row of no
    label, and a VAE trained on it (what its training said on stderr)."""
    folder = tmp_path_factory.mktemp("told")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 3)).round(4)
    x[5, 1] = -999
    x = np.concatenate([x, x[:20]])
    kinds = np.where(np.arange(120) % 2 == 0, "p", "q").astype(object)
    kinds[7] = ""
    lines = ["a,b,c,a2,kind"] + [
        f"{r[0]!r},{r[1]!r},{r[2]!r},{r[0]!r},{k}" for r, k in zip(x.tolist(), kinds, strict=True)
    ]
    path = folder / "told.csv"
    path.write_text("\n".join(lines) + "\n")
    run = folder / "vae"
    argv = ["train", "vae", "--data", str(path), "--label-column", "kind", "--latent-dim", "1"]
    return path, run, _said([*argv, "--hidden", "4", "--epochs", "1", "--quiet", "--out", str(run)])


def _said(argv: list[str]) -> str:
    """The warnings ``torchlvm argv`` gives, one a line (each as it is raised, however the
    command line would print it)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert cli.main(argv) == 0
    return "\n".join(str(w.message) for w in caught)


def test_training_tells_of_the_file_once_each(told):
    _, _, err = told
    for words in TOLD:
        assert err.count(words) == 1, (words, err)


@pytest.mark.parametrize(
    "command",
    [
        ["encode", "{run}", "--out", "{out}"],
        ["encode", "{run}", "--data", "{path}", "--split", "all", "--out", "{out}"],
        ["reconstruct", "{run}", "--out", "{out}"],
        ["score", "{run}", "--data", "{path}", "--out", "{out}"],
        [
            "score",
            "{run}",
            "--data",
            "{path}",
            "--split",
            "test",
            "--samples",
            "2",
            "--out",
            "{out}",
        ],
    ],
    ids=["encode", "encode-data", "reconstruct", "score", "score-split"],
)
def test_a_command_on_the_runs_own_file_does_not_tell_it_again(told, tmp_path, command):
    path, run, _ = told
    words = {"run": str(run), "path": str(path), "out": str(tmp_path / "out.csv")}
    err = _said([word.format(**words) for word in command])
    assert not [said for said in TOLD if said in err], err


def test_another_file_is_told_of_once(told, tmp_path):
    """A copy of the file under another name is other data: told of, each warning once (encode
    read it twice, for its rows and their ids, and said the -999 code twice)."""
    path, run, _ = told
    other = tmp_path / "other.csv"
    other.write_bytes(path.read_bytes())
    err = _said(["encode", str(run), "--data", str(other), "--out", str(tmp_path / "e.csv")])
    assert err.count("holds -999") == 1 and err.count("no label in") == 1, err


def test_an_edited_own_file_is_told_of_anew(told, tmp_path):
    """The run's file grown since training is told of again (it may hold what training never
    read); reading the whole of it is allowed."""
    path, run, _ = told
    edited = tmp_path / "told.csv"
    edited.write_text(path.read_text() + "1.0,2.0,3.0,1.0,p\n")
    import json

    config = json.loads((run / "config.json").read_text())
    assert config["data"]["file"]["bytes"] == path.stat().st_size
    from torchlvm.data.csv_once import parsed_once
    from torchlvm.data.file_warning import said_at_training

    with parsed_once(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        said_at_training({**config["data"], "name": str(edited)})
        load_dataset(str(edited), "all", label_column="kind")
    assert any("holds -999" in str(w.message) for w in caught)


def test_the_warnings_are_file_warnings_a_filter_silences(told):
    path, _, _ = told
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_dataset(str(path), "all", label_column="kind")
    said = [w for w in caught if any(words in str(w.message) for words in TOLD)]
    assert len(said) == 4 and all(w.category is FileWarning for w in said)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=FileWarning)
        load_dataset(str(path), "all", label_column="kind")
    assert not [w for w in caught if any(words in str(w.message) for words in TOLD)]
