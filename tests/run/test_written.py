"""--overwrite replaces only a file torchlvm wrote there, unchanged since (torchlvm.run.written).

Before, `sample RUN --out x.csv --overwrite` replaced any file named x.csv: a user's spreadsheet,
another program's output. The class of files tested: a user's file, one torchlvm wrote (replaced),
one torchlvm wrote that the user then edited (in place, same size, time set back), one moved
there, a symbolic link (to a user's file, to torchlvm's), a record that cannot be read or
written (refused, never a lost file), and two commands recording at once.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from torchlvm.cli import main
from torchlvm.run import written

NOT_OURS = "is not a file torchlvm wrote there (it has no record of it), so --overwrite does not"


@pytest.fixture(scope="module")
def ppca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "ppca"
    assert main(["fit", "ppca", "--data", "digits", "--latent-dim", "2", "--out", str(out)]) == 0
    return out


@pytest.fixture(autouse=True)
def record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A record of this test's own (a test sees only the files it wrote)."""
    folder = tmp_path / "written"
    monkeypatch.setenv(written.ENV, str(folder))
    return folder


def _sample(ppca: Path, flag: str, path: Path, *more: str) -> list[str]:
    return ["sample", str(ppca), "--n", "5", flag, str(path), *more]


def _fails(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("torchlvm: error: "), err
    return err


# (flag, name): each way an output is put in place: atomic_path (a table, a figure), and the
# renames of write_npy (replaced).
WAYS = [("--out", "x.csv"), ("--out", "x.png"), ("--npy", "x.npy")]
IDS = ["csv", "png", "npy"]


@pytest.mark.parametrize(("flag", "name"), WAYS, ids=IDS)
def test_a_users_file_is_never_replaced(ppca, tmp_path, capsys, flag, name):
    mine = tmp_path / name
    mine.write_bytes(b"the user's own work\n")
    err = _fails(capsys, _sample(ppca, flag, mine, "--overwrite"))
    assert f"{mine} already exists and {NOT_OURS} replace it; move it away, or choose" in err
    assert mine.read_bytes() == b"the user's own work\n"
    err = _fails(capsys, _sample(ppca, flag, mine))  # (not offered a --overwrite that fails)
    assert "--overwrite" not in err and "torchlvm wrote there" in err


@pytest.mark.parametrize(("flag", "name"), WAYS, ids=IDS)
def test_a_file_torchlvm_wrote_is_replaced_with_overwrite(ppca, tmp_path, capsys, flag, name):
    out = tmp_path / name
    assert main(_sample(ppca, flag, out)) == 0
    first = out.read_bytes()
    err = _fails(capsys, _sample(ppca, flag, out, "--seed", "1"))
    assert "already exists; pass --overwrite to replace it" in err
    assert main(_sample(ppca, flag, out, "--seed", "1", "--overwrite")) == 0
    assert out.read_bytes() != first
    assert main(_sample(ppca, flag, out, "--overwrite")) == 0  # (its new bytes recorded)
    assert out.read_bytes() == first


def test_a_file_torchlvm_wrote_and_the_user_edited_is_refused(ppca, tmp_path, capsys):
    """Edited in place, its size and modification time as torchlvm left them: its bytes say."""
    out = tmp_path / "x.csv"
    assert main(_sample(ppca, "--out", out)) == 0
    stat = out.stat()
    edited = bytearray(out.read_bytes())
    edited[-3] = ord("7") if edited[-3] != ord("7") else ord("8")
    with open(out, "r+b") as f:
        f.write(edited)
    os.utime(out, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert (out.stat().st_size, out.stat().st_mtime_ns) == (stat.st_size, stat.st_mtime_ns)
    err = _fails(capsys, _sample(ppca, "--out", out, "--overwrite"))
    assert "already exists and has changed since torchlvm wrote it, so --overwrite" in err
    assert out.read_bytes() == bytes(edited)


def test_a_file_moved_there_is_refused_and_its_old_place_is_free(ppca, tmp_path, capsys):
    """torchlvm wrote a.csv, the user moved it to b.csv (to keep it): b.csv is theirs now."""
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    assert main(_sample(ppca, "--out", a)) == 0
    kept = a.read_bytes()
    a.rename(b)
    assert NOT_OURS in _fails(capsys, _sample(ppca, "--out", b, "--overwrite"))
    assert b.read_bytes() == kept
    assert main(_sample(ppca, "--out", a)) == 0  # (gone from a: no --overwrite needed)
    b.rename(a)  # the user's copy put back over torchlvm's: the same bytes, nothing to lose
    assert main(_sample(ppca, "--out", a, "--overwrite")) == 0


@pytest.mark.parametrize("target", ["users", "torchlvms"])
def test_a_symbolic_link_is_refused(ppca, tmp_path, capsys, target):
    """The rename would replace the user's link (and leave its target behind it stale)."""
    pointed = tmp_path / "target.csv"
    if target == "users":
        pointed.write_text("a,b\n1,2\n")
    else:
        assert main(_sample(ppca, "--out", pointed)) == 0
    before = pointed.read_bytes()
    link = tmp_path / "link.csv"
    link.symlink_to(pointed)
    err = _fails(capsys, _sample(ppca, "--out", link, "--overwrite"))
    assert f"already exists and is a symbolic link (to {pointed}), which torchlvm did not" in err
    assert link.is_symlink() and pointed.read_bytes() == before


def test_a_file_reached_through_a_linked_folder_is_the_same_file(ppca, tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    assert main(_sample(ppca, "--out", tmp_path / "real" / "x.csv")) == 0
    assert main(_sample(ppca, "--out", tmp_path / "alias" / "x.csv", "--overwrite")) == 0


def test_a_record_that_cannot_be_written_loses_nothing(ppca, tmp_path, capsys, monkeypatch):
    """The record's folder lies under a file (as a read-only one does for a user who is not
    root): the output is written, with a warning that --overwrite will not replace it; then it
    is refused."""
    (tmp_path / "file").write_text("")
    monkeypatch.setenv(written.ENV, str(tmp_path / "file" / "written"))
    out = tmp_path / "x.csv"
    with pytest.warns(UserWarning, match=f"wrote {out}, but could not record it in") as w:
        assert main(_sample(ppca, "--out", out)) == 0
    assert f"will not replace it; set {written.ENV} to a writable folder" in str(w[0].message)
    before = out.read_bytes()
    err = _fails(capsys, _sample(ppca, "--out", out, "--seed", "1", "--overwrite"))
    assert "may not be torchlvm's: its record of it, " in err
    assert "cannot be read (Not a directory), so --overwrite does not replace it; move it" in err
    assert out.read_bytes() == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes in a read-only folder")
def test_a_read_only_record_loses_nothing(ppca, tmp_path, capsys, record):
    record.mkdir()
    record.chmod(0o500)
    try:
        out = tmp_path / "x.csv"
        with pytest.warns(UserWarning, match="could not record it"):
            assert main(_sample(ppca, "--out", out)) == 0
        assert NOT_OURS in _fails(capsys, _sample(ppca, "--out", out, "--overwrite"))
    finally:
        record.chmod(0o700)


@pytest.mark.parametrize("damage", ["not json", "another path"])
def test_a_damaged_entry_is_refused_naming_it(ppca, tmp_path, capsys, record, damage):
    out = tmp_path / "x.csv"
    assert main(_sample(ppca, "--out", out)) == 0
    (entry,) = record.iterdir()
    if damage == "not json":
        entry.write_text("{")
        words = f"may not be torchlvm's: its record of it, {entry}, cannot be read (not JSON)"
    else:
        entry.write_text(json.dumps({**json.loads(entry.read_text()), "path": "/elsewhere"}))
        words = f"may not be torchlvm's: its record of it, {entry}, is not one torchlvm wrote"
    before = out.read_bytes()
    assert words in _fails(capsys, _sample(ppca, "--out", out, "--seed", "1", "--overwrite"))
    assert out.read_bytes() == before


def test_entries_of_files_gone_or_resized_are_pruned(tmp_path, record):
    files = [tmp_path / f"{i}.csv" for i in range(6)]
    for path in files:
        path.write_text("torchlvm's\n")
        written.expect(path)
        written.record(path)
    assert len(list(record.iterdir())) == 6
    files[0].unlink()
    files[1].write_text("grown by the user\n")
    files[2].unlink()
    files[2].mkdir()  # (a folder where the file was)
    (tmp_path / "new.csv").write_text("x\n")
    written.expect(tmp_path / "new.csv")
    written.record(tmp_path / "new.csv")
    kept = {json.loads(e.read_text())["path"] for e in record.iterdir()}
    assert kept == {str(p) for p in [*files[3:], tmp_path / "new.csv"]}


def test_only_the_files_a_command_expected_are_recorded(tmp_path, record):
    """A run's own files, a cache: written through the same atomic_path, never recorded."""
    from torchlvm._files import write_text

    write_text(tmp_path / "metrics.json", "{}\n")
    assert not record.exists()


def test_two_commands_recording_at_once_keep_every_entry(tmp_path, record):
    """Two processes, 40 files each, recorded at the same time: one whole entry per file."""
    script = (
        "import sys; from pathlib import Path; from torchlvm.run import written\n"
        "for i in range(40):\n"
        "    p = Path(sys.argv[1]) / f'{sys.argv[2]}{i}.csv'; p.write_text(sys.argv[2] * 999)\n"
        "    written.expect(p); written.record(p)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    both = [
        subprocess.Popen([sys.executable, "-c", script, str(tmp_path), who], env=env)
        for who in "ab"
    ]
    assert [p.wait(timeout=120) for p in both] == [0, 0]
    entries = [json.loads(e.read_text()) for e in record.iterdir()]
    assert len(entries) == 80
    for entry in entries:
        assert written.refusal(entry["path"]) is None
    assert not [p for p in record.iterdir() if not p.name.endswith(".json")]  # (no staging left)
    shutil.rmtree(record)
    assert written.refusal(entries[0]["path"]).startswith("is not a file torchlvm wrote there")


def test_a_figure_the_user_put_in_figures_is_refused_even_with_overwrite(tmp_path):
    """One rule with output_file: gaps' gaps.png over the user's own PNG in figures/."""
    from torchlvm.errors import RunDirectoryError
    from torchlvm.run.outputs import figure_file

    run = tmp_path / "run"
    (run / "figures").mkdir(parents=True)
    (run / "config.json").write_text("{}")
    (run / "model.safetensors").write_bytes(b"w")
    mine = run / "figures" / "gaps.png"
    mine.write_bytes(b"\x89PNG\r\n\x1a\n my own figure")
    for overwrite in (False, True):
        with pytest.raises(RunDirectoryError, match="is not a figure torchlvm drew") as caught:
            figure_file(mine, overwrite=overwrite)
        assert ("--overwrite does not replace it" in str(caught.value)) == overwrite


def test_an_edited_file_a_command_knows_by_its_content_is_refused(tmp_path):
    """report and compare replace their own page (known by its title) without --overwrite: a
    page the user edited after torchlvm wrote it is now refused, with or without it."""
    from torchlvm._files import write_text
    from torchlvm.errors import RunDirectoryError
    from torchlvm.run.outputs import output_file

    page = tmp_path / "report.html"
    ours = lambda p: p.read_text().startswith("<title>torchlvm")  # noqa: E731
    output_file(page, page, suffix=".html", ours=ours)
    write_text(page, "<title>torchlvm report</title>")
    assert output_file(page, page, suffix=".html", ours=ours) == page  # its own: replaced
    page.write_text("<title>torchlvm report</title> my notes on it")
    for overwrite in (False, True, None):
        with pytest.raises(RunDirectoryError, match=f"already exists and {written.EDITED}"):
            output_file(page, page, suffix=".html", ours=ours, overwrite=overwrite)


def test_a_recorded_file_torchlvm_writes_again_is_recorded_again(tmp_path):
    """sample --out RUN/figures/samples.png, then evaluate redraws it (not an output it checked):
    the record follows, or the next --overwrite would call torchlvm's own figure edited."""
    from torchlvm._files import write_text

    path = tmp_path / "samples.png"
    path.write_text("drawn by sample")
    written.expect(path)
    written.record(path)
    write_text(path, "drawn again by evaluate")
    assert written.refusal(path) is None


@pytest.mark.parametrize("how", ["atomic_path", "write_npy"])
@pytest.mark.parametrize("before", ["absent", "torchlvms"])
def test_a_file_written_there_while_the_command_ran_is_not_replaced(tmp_path, how, before):
    """userF: the check ran at the start, the rename at the end replaced whatever was there by
    then (a file the user saved meanwhile; a second score to the same --out), with or without
    --overwrite. The output is now put in place only over what was checked."""
    import numpy as np

    from torchlvm._files import write_text
    from torchlvm.errors import RunDirectoryError
    from torchlvm.run.outputs import output_file, write_npy

    out = tmp_path / ("x.npy" if how == "write_npy" else "x.csv")
    if before == "torchlvms":
        out.write_text("torchlvm's\n")
        written.expect(out)
        written.record(out)
    output_file(out, out, suffix=out.suffix, overwrite=True)  # (the command's start)
    out.write_text("the user's, saved while the command ran\n")
    with pytest.raises(RunDirectoryError, match="was written by another program or command"):
        if how == "write_npy":
            write_npy({out: np.zeros(3)})
        else:
            write_text(out, "the output\n")
    assert out.read_text() == "the user's, saved while the command ran\n"
    left = sorted(p.name for p in tmp_path.iterdir() if p.name != "written")
    assert left == [out.name]  # (no temporary left)
