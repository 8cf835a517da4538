"""The output policy of commands: never a run's own files, an existing file only if it is ours
or with --overwrite, all-or-nothing .npy writes."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest

import torchlvm._files as files
from torchlvm.errors import ConfigError, RunDirectoryError
from torchlvm.run.outputs import labels_file, output_file, run_file_of, write_npy


@pytest.fixture
def run(tmp_path: Path) -> Path:
    folder = tmp_path / "run"
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"weights")
    (folder / "checkpoints" / "last.ckpt").write_bytes(b"ckpt")
    return folder


@pytest.mark.parametrize(
    "name",
    ["model.safetensors", "config.json", "metrics.csv", "metrics.json", "checkpoints/last.ckpt"],
)
def test_a_runs_own_files_are_refused_even_with_overwrite(run: Path, name: str) -> None:
    with pytest.raises(RunDirectoryError, match=r"is a file of the run in .*run") as info:
        output_file(run / name, run / name, suffix=".html", overwrite=True)
    assert "--overwrite" not in str(info.value)
    assert run_file_of(run / name) == run


def test_the_same_names_outside_a_run_are_ordinary_files(tmp_path: Path) -> None:
    assert run_file_of(tmp_path / "model.safetensors") is None
    out = output_file(tmp_path / "config.json", tmp_path / "x", suffix=".json")
    assert out == tmp_path / "config.json"


def test_an_existing_file_needs_overwrite_unless_it_is_ours(tmp_path: Path) -> None:
    """With --overwrite only where torchlvm wrote it (tests/run/test_written.py: the class)."""
    from torchlvm.run import written

    table = tmp_path / "tab.html"
    table.write_text("mine")
    with pytest.raises(RunDirectoryError, match="is not a file torchlvm wrote there"):
        output_file(table, table, suffix=".html", overwrite=True)
    assert output_file(table, table, suffix=".html", ours=lambda p: True) == table
    written.record(table)  # (output_file expected it: now torchlvm's, as if it wrote it)
    with pytest.raises(RunDirectoryError, match="already exists; pass --overwrite"):
        output_file(table, table, suffix=".html")
    assert output_file(table, table, suffix=".html", overwrite=True) == table


@pytest.mark.parametrize(
    ("name", "error", "match"),
    [
        ("tab.csv", ConfigError, r"--out must name a \.html file, got .*tab.csv"),
        ("folder.html", RunDirectoryError, "is a folder"),
        ("file/x.html", RunDirectoryError, "lies inside .*file, which is a file"),
    ],
    ids=["suffix", "folder", "inside-a-file"],
)
def test_wrong_kinds_of_path_are_refused(tmp_path: Path, name: str, error, match) -> None:
    (tmp_path / "folder.html").mkdir()
    (tmp_path / "file").write_text("x")
    with pytest.raises(error, match=match):
        output_file(tmp_path / name, tmp_path / name, suffix=(".html", ".htm"))


def test_npy_files_are_written_all_or_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    z = tmp_path / "z.npy"
    write_npy({z: np.zeros((2, 3)), labels_file(z): np.arange(2)})
    np.testing.assert_array_equal(np.load(tmp_path / "z.labels.npy"), [0, 1])
    real = os.replace

    def full_on_labels(src, dst, *args, **kwargs):  # the new labels cannot be put in place
        if Path(src).name == ".z.labels.npy.torchlvm-new":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(files.os, "replace", full_on_labels)
    with pytest.raises(OSError, match="No space left"):
        write_npy({labels_file(z): np.arange(5), z: np.ones((5, 3))})
    monkeypatch.undo()
    assert np.load(z).shape == (2, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["z.labels.npy", "z.npy"]


def test_a_figure_metrics_json_lists_as_an_earlier_evaluations_is_torchlvms(run: Path) -> None:
    """Figures of versions that did not mark their PNGs are known by metrics.json's list: an
    evaluate --no-figures moves that list under figures.earlier, where it still counts."""
    import json

    from torchlvm.run.outputs import torchlvm_figure

    (run / "figures").mkdir()
    for name in ("a.png", "b.png", "c.png"):
        (run / "figures" / name).write_bytes(b"\x89PNG unmarked")
    figures = {"written": ["a.png"], "earlier": [{"written": ["b.png"], "drawn_by": "evaluate"}]}
    (run / "metrics.json").write_text(json.dumps({"figures": figures}))
    assert [torchlvm_figure(run / "figures" / n) for n in ("a.png", "b.png", "c.png")] == [
        True,
        True,
        False,
    ]


@pytest.mark.parametrize(
    "argv",
    [
        ["fit", "ppca", "--data", "digits", "--latent-dim", "2", "--out", "~/runs/ppca"],
        ["train", "vae", "--data", "digits", "--epochs", "1", "--quiet", "--out", "~/runs/vae"],
        ["sample", "RUN", "--n", "2", "--out", "~/samples.png"],
        ["kl-demo", "--dim", "1", "--steps", "20", "--out", "~/kl"],  # (a folder, as typed)
    ],
    ids=["fit", "train", "sample", "kl-demo"],
)
def test_an_output_under_an_unexpanded_tilde_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv
) -> None:
    """bash leaves '~' as it is after '--out=' and inside quotes ("~/my runs/vae"): the command
    made a folder named '~' in the current folder (which a later 'rm -rf ~' reads as the home
    folder) and wrote there. It names the path the user meant instead."""
    import os
    import shlex

    from torchlvm.cli import main

    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir(), work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    run = tmp_path / "ppca"
    assert main(["fit", "ppca", "--data", "digits", "--latent-dim", "2", "--out", str(run)]) == 0
    capsys.readouterr()
    argv = [str(run) if word == "RUN" else word for word in argv]
    assert main(argv) == 2
    line = capsys.readouterr().err.strip()
    meant = os.path.expanduser(argv[-1])
    assert line == (
        f"torchlvm: error: --out {argv[-1]} would make a folder named '~' in the current folder: "
        "no shell expanded its '~' (a shell leaves it as it is inside quotes and after '='); "
        f"pass --out {meant}"
    )
    assert os.listdir(work) == [] and not Path(meant).exists()
    assert main([*argv[:-1], shlex.split(line.rsplit("--out ", 1)[1])[0]]) == 0  # the fix
    assert Path(meant).exists()


def test_a_run_under_an_unexpanded_tilde_is_named_with_the_path_meant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """sample "~/runs/ppca" said 'Python does not expand ~; pass os.path.expanduser(...)', a
    Python fix, on the command line: it names the path meant."""
    from torchlvm.cli import main

    monkeypatch.setenv("HOME", str(tmp_path))
    assert main(["fit", "ppca", "--data", "digits", "--latent-dim", "2", "--out", "~/runs/p"]) == 2
    meant = str(tmp_path / "runs" / "p")
    assert main(["fit", "ppca", "--data", "digits", "--latent-dim", "2", "--out", meant]) == 0
    capsys.readouterr()
    assert main(["sample", "~/runs/p", "--n", "2", "--out", str(tmp_path / "s.png")]) == 2
    assert capsys.readouterr().err == (
        "torchlvm: error: ~/runs/p does not exist: no shell expanded its '~' (a shell leaves it "
        f"as it is inside quotes and after '='); pass {meant}\n"
    )


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["report", "~/runs/p"], "~/runs/p does not exist"),
        (["datasets", "--data-dir", "~/data"], "--data-dir ~/data does not exist"),
        (
            ["compare", "--data", "digits", "--epochs", "1", "--out", "~/cmp"],
            "--out ~/cmp would make a folder named '~' in the current folder",
        ),
    ],
    ids=["report", "datasets", "compare"],
)
def test_every_command_names_the_path_an_unexpanded_tilde_meant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv, named
) -> None:
    """report "~/r" said 'it has no config.json'; datasets --data-dir "~/data" listed every
    dataset as missing from it; compare --out "~/cmp" named the path of its first run inside."""
    from torchlvm.cli import main

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    meant = str(tmp_path / "home" / argv[-1][2:])
    flag = f"{argv[-2]} " if argv[-2].startswith("--") else ""
    assert capsys.readouterr().err == (
        f"torchlvm: error: {named}: no shell expanded its '~' (a shell leaves it as it is inside "
        f"quotes and after '='); pass {flag}{meant}\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_datasets_refuses_a_data_dir_that_is_no_folder(tmp_path: Path, capsys) -> None:
    """A mistyped --data-dir listed every dataset as missing, as if the folder held none."""
    from torchlvm.cli import main

    assert main(["datasets", "--data-dir", str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err == (
        f"torchlvm: error: --data-dir {tmp_path / 'nope'} does not exist; pass the folder that "
        "holds the dataset's files\n"
    )


def test_a_folder_is_told_a_file_path_inside_it(tmp_path: Path) -> None:
    """sample RUN --out my_figures (a folder) said '--out must name a .png file, got
    my_figures', as if the name were mistyped: it names the folder and a file in it."""
    folder = tmp_path / "my figures"
    folder.mkdir()
    with pytest.raises(RunDirectoryError) as caught:
        output_file(folder, tmp_path / "run" / "samples.png", suffix=".png")
    assert str(caught.value) == (
        f"--out {folder} is a folder; pass a file path ending in .png, such as "
        f'"{folder}/samples.png"'
    )
    with pytest.raises(RunDirectoryError, match=r"ending in \.csv, in it$"):
        output_file(folder, folder, suffix=".csv")  # (no default file to name)


def test_a_dash_is_told_that_standard_output_is_not_written(tmp_path: Path) -> None:
    """--out - (stdout, as for cat or pandas' to_csv) was 'must name a .png file, got -'."""
    with pytest.raises(ConfigError, match=r"^--out - would be standard output, .* ending in \.npy"):
        output_file(Path("-"), tmp_path / "z.npy", suffix=".npy")


def test_a_file_the_command_names_is_refused_in_its_own_words(tmp_path: Path) -> None:
    """compare had its own copy of these checks (compare.md in --out); through output_file a
    file whose name the command chose is not named as if typed after --out ('--out X/compare.md
    is a folder; pass a file path ... in it'), a path inside a file gets a fix, and a command
    without --overwrite (None) is not told to pass one."""
    (tmp_path / "compare.md").mkdir()
    with pytest.raises(RunDirectoryError) as caught:
        output_file(None, tmp_path / "compare.md", suffix=".md", overwrite=None)
    assert str(caught.value) == (
        f"{tmp_path}/compare.md is a folder, where this command writes its compare.md; move it "
        "away, or choose another --out"
    )
    (tmp_path / "compare.json").write_text("mine")
    with pytest.raises(RunDirectoryError, match="not a file this command wrote; move it away, or"):
        output_file(None, tmp_path / "compare.json", suffix=".json", overwrite=None)
    with pytest.raises(RunDirectoryError, match="is not a file torchlvm wrote there .*; move it"):
        output_file(None, tmp_path / "compare.json", suffix=".json")
    assert output_file(None, tmp_path / "compare.json", suffix=".json", ours=bool) is not None
    with pytest.raises(RunDirectoryError, match=r"which is a file; choose another --npy$"):
        output_file(tmp_path / "compare.json" / "z.npy", tmp_path, suffix=".npy", flag="--npy")


def test_arrays_and_a_figure_are_written_all_or_none(tmp_path: Path, monkeypatch) -> None:
    """sample --npy X on a full disk wrote X.npy, then failed on the PNG: the two are one set,
    and the refusal names the PNG asked for, not its hidden staging name."""
    import matplotlib.figure

    import torchlvm.plots
    from torchlvm.plots import drawn_by_torchlvm
    from torchlvm.run.outputs import write_npy

    npy, png = tmp_path / "s.npy", tmp_path / "s.png"
    write_npy({npy: np.zeros(3)}, figures={png: matplotlib.figure.Figure()})
    assert np.load(npy).shape == (3,) and drawn_by_torchlvm(png)
    npy.unlink(), png.unlink()

    def full(fig, path):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(torchlvm.plots, "save_figure", full)
    with pytest.raises(OSError, match="No space left on device") as caught:
        write_npy({npy: np.zeros(3)}, figures={png: matplotlib.figure.Figure()})
    assert caught.value.filename == str(png)
    assert list(tmp_path.iterdir()) == []


def _table(path: Path) -> Path:
    x = np.random.default_rng(0).normal(size=(60, 3))
    y = np.arange(60) % 2
    rows = [",".join([*(f"{v:.4f}" for v in r), str(c)]) for r, c in zip(x, y, strict=True)]
    path.write_text("a,b,c,kind\n" + "\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A table VAE and CVAE trained on one file: (vae, cvae, the file)."""
    from torchlvm.cli import main

    folder = tmp_path_factory.mktemp("kept")
    data = _table(folder / "train.csv")
    tiny = ["--data", str(data), "--latent-dim", "1", "--hidden", "4", "--epochs", "1", "--quiet"]
    assert main(["train", "vae", *tiny, "--drop-columns", "kind", "--out", str(folder / "v")]) == 0
    assert main(["train", "cvae", *tiny, "--label-column", "kind", "--out", str(folder / "c")]) == 0
    return folder / "v", folder / "c", data


WRITERS = {  # every command that loads a run and writes a file the user names
    "sample": lambda v, c, other: ["sample", v],
    "encode": lambda v, c, other: ["encode", v],
    "reconstruct": lambda v, c, other: ["reconstruct", v],
    "transfer": lambda v, c, other: ["transfer", c, "--from-condition", "0", "--to-condition", "1"],
    "score": lambda v, c, other: ["score", v, "--data", other],
    "impute": lambda v, c, other: ["impute", v, "--data", other],
}


@pytest.mark.parametrize("name", list(WRITERS))
def test_no_output_replaces_the_file_the_run_was_trained_on(trained, tmp_path, capsys, name):
    """`sample RUN --out <the run's own training CSV> --overwrite` replaced a 500-row table with
    3 sampled rows, and the run could not be used again (userC); so did score, encode,
    reconstruct and transfer. Every command refuses it in one line, even with --overwrite, and
    the file's bytes stay (named by another spelling of its path too)."""
    from torchlvm.cli import main

    vae, cvae, data = trained
    other = tmp_path / "other.csv"
    other.write_bytes(data.read_bytes())
    before = data.read_bytes()
    argv = [str(w) for w in WRITERS[name](vae, cvae, other)]
    spelled = data.parent / ".." / data.parent.name / data.name
    argv += ["--out", str(spelled)]
    capsys.readouterr()
    assert main([*argv, "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "the data file the run in" in err, err
    assert "was trained on, which no command's output replaces (even with --overwrite)" in err
    assert data.read_bytes() == before


@pytest.mark.parametrize("name", ["sample", "encode"])
def test_a_moved_or_copied_training_file_is_kept_by_its_bytes(trained, tmp_path, capsys, name):
    """review9: a run's data file moved (mv d/w.csv d/w2.csv) was kept by its old path alone, so
    `sample RUN --out d/w2.csv --overwrite` left 3 rows of a 179-row table. A file holding the
    bytes the run recorded is refused wherever it lies; another file is replaced as before."""
    from torchlvm.cli import main
    from torchlvm.run import written

    vae, cvae, data = trained
    moved = tmp_path / "w2.csv"
    moved.write_bytes(data.read_bytes())
    argv = [str(w) for w in WRITERS[name](vae, cvae, None)]
    capsys.readouterr()
    assert main([*argv, "--out", str(moved), "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"the data file the run in {vae} was trained on" in err, err
    assert moved.read_bytes() == data.read_bytes()
    moved.write_bytes(data.read_bytes()[:-3] + b"9\n\n")  # same size, other bytes: no data of a run
    written.expect(moved)
    written.record(moved)  # (as if torchlvm wrote it: --overwrite replaces it)
    assert main([*argv, "--out", str(moved), "--overwrite"]) == 0


def test_every_command_that_writes_a_named_file_from_a_run_is_checked():
    """A command added later that takes a run and --out is added to WRITERS above."""
    import argparse

    from torchlvm.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    takes = set()
    for name, sub in commands.choices.items():
        options = sub._option_string_actions
        positional = [a.dest for a in sub._actions if not a.option_strings]
        runs = any(dest in ("run", "run_dir", "dir", "dirs") for dest in positional)
        if runs and "--out" in options and "--overwrite" in options:
            takes.add(name)
    assert "sample" in takes and takes <= {*WRITERS, "gaps", "report"}, takes


@pytest.mark.parametrize("named", [False, True], ids=["default", "named"])
def test_a_place_that_cannot_be_written_is_refused_before_any_work(
    tmp_path: Path, monkeypatch, capsys, named
):
    """userF: `sample RUN` on a read-only file system drew its samples, then failed
    'Read-only file system: RUN/figures; check the path ...', no fix named. (A read-only
    folder as root: the system's refusal, given by check_writable.)"""
    from torchlvm.cli import main

    folder = tmp_path / "ppca"
    assert main(["fit", "ppca", "--data", "digits", "--latent-dim", "2", "--out", str(folder)]) == 0
    place = tmp_path / "ro"
    place.mkdir()

    def read_only(where):
        if Path(where) in (folder, place):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(where))

    monkeypatch.setattr(files, "check_writable", read_only)
    argv = ["sample", str(folder), *(["--out", str(place / "s.png")] if named else [])]
    capsys.readouterr()
    assert main(argv) == 1
    out, err = capsys.readouterr()
    fix = (
        "choose another --out, where you can write"
        if named
        else "this command writes samples-seed0.png there by default; pass --out to write it"
    )
    assert err.startswith(f"torchlvm: error: Read-only file system ({fix}") and out == ""
    assert err.count("\n") == 1 and not (folder / "figures").exists()


def test_an_interrupt_while_the_arrays_are_synced_leaves_no_hidden_file(tmp_path, monkeypatch):
    """userY #9: Ctrl-C late in `encode --out` (while the staged arrays were completed) left
    complete hidden copies, .c14.npy.torchlvm-new and .c14.labels.npy.torchlvm-new, beside the
    output; only the figures and the renames removed theirs."""
    synced = files.fsync_folder
    calls = []

    def interrupted(folder):
        calls.append(folder)
        if len(calls) == 2:  # (the first array's, after its rename: the second's went first)
            raise KeyboardInterrupt
        synced(folder)

    monkeypatch.setattr(files, "fsync_folder", interrupted)
    (tmp_path / "enc").mkdir()
    with pytest.raises(KeyboardInterrupt):
        write_npy(
            {tmp_path / "enc" / "c.npy": np.zeros(3), tmp_path / "enc" / "c.labels.npy": np.ones(2)}
        )
    assert len(calls) == 2
    assert list((tmp_path / "enc").iterdir()) == []
