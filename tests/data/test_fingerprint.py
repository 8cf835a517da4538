"""A run's data file, moved, is found again by its content (SHA-256 and size; for a run recorded
before, its shape, split sizes, columns and standardization), never by a look-alike."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import weakref
from pathlib import Path

import numpy as np
import pytest

from torchlvm.cli import main
from torchlvm.data.fingerprint import file_record, located, repoint
from torchlvm.errors import ConfigError, DataError, DataNotFoundError


def _table(path: Path, seed: int = 0, rows: int = 60) -> Path:
    x = np.random.default_rng(seed).normal(size=(rows, 3)) * [1, 10, 100]
    lines = ["a,b,c"] + [",".join(f"{v:.6f}" for v in row) for row in x]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def moved_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, Path]:
    """A PPCA fitted on a table that was then moved: the run, its data record, the new path."""
    folder = tmp_path_factory.mktemp("moved")
    run = folder / "ppca"
    argv = ["fit", "ppca", "--data", str(_table(folder / "t.csv")), "--latent-dim", "1"]
    assert main([*argv, "--out", str(run)]) == 0
    moved = folder / "elsewhere" / "renamed.csv"
    moved.parent.mkdir()
    shutil.move(folder / "t.csv", moved)
    return run, json.loads((run / "config.json").read_text())["data"], moved


def test_a_run_records_its_files_content():
    assert file_record("digits") == {}


def test_the_same_bytes_at_a_new_place_repoint_the_run(moved_run):
    run, data, moved = moved_run
    assert data["file"] == file_record(moved)["file"] and data["file"]["bytes"] > 0
    assert repoint(data, str(moved), run)["name"] == str(moved)
    with pytest.raises(DataNotFoundError, match=r"no longer exists; if the file moved, pass its"):
        located(data, None, run)


def test_other_data_is_refused_in_one_line_naming_the_difference(moved_run, tmp_path):
    run, data, _ = moved_run
    other = _table(tmp_path / "other.csv", seed=1)
    with pytest.raises(DataError, match=r"its content differs \(SHA-256 .*; pass that file"):
        repoint(data, str(other), run)
    with pytest.raises(ConfigError, match="digits is not a file"):
        repoint(data, "digits", run)


@pytest.mark.parametrize(
    "make, why",
    [
        (lambda p: _table(p, seed=0), None),  # the same rows, other bytes are not checked
        (lambda p: _table(p, seed=0, rows=50), "its train split has 40 rows, the run's had 48"),
        (lambda p: _table(p, seed=1), "column 'a' has another train-split mean or scale"),
        (lambda p: p.write_text("a,b\n" + "1,2\n3,5\n" * 30), r"shape \(2,\), the run's \(3,\)"),
    ],
    ids=["same", "fewer-rows", "other-values", "other-columns"],
)
def test_a_run_recorded_before_its_fingerprint_is_matched_by_shape_rows_and_columns(
    moved_run, tmp_path, make, why
):
    run, data, _ = moved_run
    old = {key: value for key, value in data.items() if key != "file"}
    path = tmp_path / "new.csv"
    make(path)
    if why is None:
        assert repoint(old, str(path), run)["file"] == file_record(path)["file"]
    else:
        with pytest.raises(DataError, match=why):
            repoint(old, str(path), run)


def test_evaluate_and_resume_take_the_moved_file_and_refuse_another(tmp_path, capsys):
    data = _table(tmp_path / "t.csv")
    run = tmp_path / "vae"
    tiny = ["--latent-dim", "1", "--hidden", "4", "--quiet", "--out", str(run)]
    assert main(["train", "vae", "--data", str(data), *tiny, "--epochs", "1"]) == 0
    moved = data.rename(tmp_path / "moved.csv")
    fast = ["--k", "5", "--ks", "1", "--no-figures", "--quiet"]
    assert main(["evaluate", str(run), *fast]) == 2
    assert "pass its new place with --data FILE" in capsys.readouterr().err
    assert main(["evaluate", str(run), "--data", str(moved), *fast]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["protocol"]["data"] == str(moved)
    other = _table(tmp_path / "other.csv", seed=2)
    for argv in (
        ["evaluate", str(run), "--data", str(other), *fast],
        ["train", "vae", "--data", str(other), *tiny, "--epochs", "2", "--resume"],
    ):
        capsys.readouterr()
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "is not the data the run in" in err
    offered = err.split("or score its rows with the run ('")[1].split("')")[0]  # (review13 #20d)
    assert offered.startswith("torchlvm score ")
    offered = offered.replace("scores.csv", str(tmp_path / "scores.csv"))
    assert main(shlex.split(offered)[1:]) == 0
    assert main(["train", "vae", "--data", str(moved), *tiny, "--epochs", "2", "--resume"]) == 0
    record = json.loads((run / "config.json").read_text())["data"]
    assert record["name"] == str(moved) and record["file"] == file_record(moved)["file"]


def test_a_record_too_old_to_tell_its_file_from_another_refuses_every_other(moved_run, tmp_path):
    """An early fit run recorded only its file's path: no look-alike is taken for it."""
    run, data, moved = moved_run
    bare = {"name": data["name"], "binarize": "none", "seed": 0}
    with pytest.raises(DataError, match="recorded neither the content nor the size"):
        repoint(bare, str(moved), run)


def test_a_file_edited_in_place_is_refused_not_split_again(tmp_path, capsys):
    """Rows appended to a run's own file were taken silently: its seeded test split, drawn again
    over the longer file, held rows the model trained on, and evaluate reported that leaked
    number as the test log p(x) (userA). Every command that reads a split of the run's own file
    refuses it in one line; an edit that keeps the size is found by the content; a file only
    touched (its bytes the same) and scoring every row of the file as it is now still work."""
    data = _table(tmp_path / "t.csv")
    run = tmp_path / "vae"
    tiny = ["--latent-dim", "1", "--hidden", "4", "--quiet", "--out", str(run)]
    assert main(["train", "vae", "--data", str(data), *tiny, "--epochs", "1"]) == 0
    fast = ["--k", "5", "--ks", "1", "--no-figures", "--quiet"]
    original = data.read_bytes()
    data.write_bytes(original)  # touched: a new modification time, the same bytes
    assert main(["evaluate", str(run), *fast]) == 0
    first = original.split(b"\n")[1]
    digit = next(i for i, c in enumerate(first) if chr(c).isdigit())
    edited = bytearray(first)
    edited[digit] = ord("1") if edited[digit] != ord("1") else ord("2")
    same_size = original.replace(first, bytes(edited), 1)
    appended = original + b"\n".join(original.split(b"\n")[1:6]) + b"\n"
    appended_said = r"split has \d+ rows, the run's had \d+"
    for content, why in ((appended, appended_said), (same_size, "differs|mean or scale")):
        data.write_bytes(content)
        for argv in (
            ["evaluate", str(run), *fast],
            ["reconstruct", str(run), "--out", str(tmp_path / "r.csv")],
            ["train", "vae", "--data", str(data), *tiny, "--epochs", "2", "--resume"],
        ):
            capsys.readouterr()
            assert main(argv) == 2, argv
            err = capsys.readouterr().err
            assert err.count("\n") == 1 and "has changed since the run in" in err, err
            assert re.search(why, err) and "put back the file the run was trained on" in err
        assert not (tmp_path / "r.csv").exists()
    score = ["score", str(run), "--data", str(data), "--out", str(tmp_path / "s.csv")]
    assert main(score) == 0  # every row of the file as it is now
    data.write_bytes(original)
    assert main(["evaluate", str(run), *fast]) == 0


def test_a_copy_given_while_the_runs_file_is_in_place_does_not_move_the_run(tmp_path, capsys):
    """evaluate --data COPY re-pointed the run at the copy (config.json rewritten, 'the run's
    data file is now ...') although its own file was still there, unchanged (userB): the copy is
    read by that command alone. Once the run's file is edited, the copy holding its data is
    where the run's data now is, and the run moves there."""
    data = _table(tmp_path / "t.csv")
    run = tmp_path / "vae"
    tiny = ["--latent-dim", "1", "--hidden", "4", "--quiet", "--out", str(run)]
    assert main(["train", "vae", "--data", str(data), *tiny, "--epochs", "1"]) == 0
    copy = tmp_path / "copy.csv"
    shutil.copyfile(data, copy)
    fast = ["--k", "5", "--ks", "1", "--no-figures"]
    capsys.readouterr()
    assert main(["evaluate", str(run), "--data", str(copy), *fast]) == 0
    assert "data file is now" not in capsys.readouterr().out
    assert json.loads((run / "config.json").read_text())["data"]["name"] == str(data)
    data.write_text(data.read_text() + "1,2,3\n")  # edited in place: the copy holds the data
    assert main(["evaluate", str(run), "--data", str(copy), *fast]) == 0
    assert f"data file is now {copy}" in capsys.readouterr().out
    assert json.loads((run / "config.json").read_text())["data"]["name"] == str(copy)


def test_repointing_keeps_the_file_the_run_was_trained_on_until_pointed_back(moved_run, tmp_path):
    run, data, moved = moved_run
    first = repoint(data, str(moved), run)
    assert first["trained_on"] == data["name"] and "trained_on" not in data
    again = tmp_path / "again.csv"
    shutil.copyfile(moved, again)
    assert repoint(first, str(again), run)["trained_on"] == data["name"]  # the first place
    shutil.copyfile(moved, data["name"])
    try:
        assert repoint(first, data["name"], run) == {**data, **file_record(data["name"])}
    finally:
        Path(data["name"]).unlink()


def test_a_run_read_from_a_copy_names_the_file_it_was_trained_on_and_goes_back(tmp_path, capsys):
    """evaluate --data COPY (the run's file moved) re-pointed the run at the copy without a way
    back; once the copy was edited and the untouched file put back where the run was trained on
    it, the refusal named only the copy, and --data ORIGINAL was never offered (userG #20). The
    run keeps the place it was trained on: the message of the move names --data ORIGINAL, the
    refusal of the edited copy offers it, and it points the run back, said and recorded. The
    path offered is quoted for a shell (a folder with a space split the pasted fix; review12 #5)."""
    (tmp_path / "my data").mkdir()
    data = _table(tmp_path / "my data" / "t.csv")
    run = tmp_path / "ppca"
    assert main(["fit", "ppca", "--data", str(data), "--latent-dim", "1", "--out", str(run)]) == 0
    fast = [str(run), "--k", "5", "--ks", "1", "--no-figures"]
    copy = data.rename(tmp_path / "copy.csv")
    capsys.readouterr()
    assert main(["evaluate", *fast, "--data", str(copy)]) == 0
    out = capsys.readouterr().out
    assert f"now {copy} (it holds the data of {data})" in out
    assert f"--data {shlex.quote(str(data))} points the run back at the file it was trained" in out
    shutil.copyfile(copy, data)  # the untouched file put back
    copy.write_text(copy.read_text() + "1,2,3\n")
    for argv in (["evaluate", *fast], ["reconstruct", str(run), "--out", str(tmp_path / "r.csv")]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"{copy} has changed since the run in {run} recorded" in err
        assert f"pass --data {shlex.quote(str(data))} (the file the run was trained on" in err
    assert main(["evaluate", *fast, "--data", str(data)]) == 0
    assert f"the run's data file is again {data}, the file it was trained on" in (
        capsys.readouterr().out
    )
    record = json.loads((run / "config.json").read_text())["data"]
    assert record["name"] == str(data) and "trained_on" not in record
    assert main(["evaluate", *fast]) == 0
    assert "data file is" not in capsys.readouterr().out
    copy.unlink()  # moved again, then gone: the refusal names the file it was trained on
    again = data.rename(tmp_path / "again.csv")
    assert main(["evaluate", *fast, "--data", str(again)]) == 0
    again.unlink()
    capsys.readouterr()
    assert main(["evaluate", *fast]) == 2
    err = capsys.readouterr().err
    assert f"reads its data from {again}, which no longer exists; if the file moved" in err
    assert f"(the run was trained on {data}, gone since)" in err


def test_a_touched_file_is_hashed_once_then_known_by_its_new_time(tmp_path, monkeypatch):
    """A run's file given a new modification time with the same bytes (cp, touch, git checkout)
    was hashed in full by every later command, since nothing recorded its new time (review7 #4):
    the first command after the touch hashes it and records the time in config.json; the next
    hashes nothing. Hashes are counted, not timed."""
    from torchlvm.data import fingerprint
    from torchlvm.run.loaded import load_run
    from torchlvm.run.split import load_split

    data = _table(tmp_path / "t.csv")
    run = tmp_path / "ppca"
    assert main(["fit", "ppca", "--data", str(data), "--latent-dim", "1", "--out", str(run)]) == 0
    hashed: list[str] = []
    uncached = fingerprint._sha256.__wrapped__

    def counted(path: str, mtime_ns: int, size: int) -> str:
        hashed.extend([path] if path == str(data) else [])  # (evaluate hashes its weights too)
        return uncached(path, mtime_ns, size)

    monkeypatch.setattr(fingerprint, "_sha256", counted)  # every call hashes: no cache
    recorded = json.loads((run / "config.json").read_text())["data"]["file"]
    data.write_bytes(data.read_bytes())  # the same bytes, a new modification time
    new_time = data.stat().st_mtime_ns
    assert new_time != recorded["mtime_ns"]
    load_split(load_run(run), None, "test")
    assert len(hashed) == 1
    after = json.loads((run / "config.json").read_text())["data"]["file"]
    assert after == {**recorded, "mtime_ns": new_time}
    load_split(load_run(run), None, "test")
    assert main(["evaluate", str(run), "--no-figures", "--quiet"]) == 0
    assert len(hashed) == 1
    assert not (run / ".torchlvm.lock").exists()


def test_a_touched_file_in_a_locked_run_is_read_and_left_unrecorded(tmp_path, monkeypatch):
    """Where another process holds the run's lock (or its folder cannot be written), the new
    time is not recorded, and the command reads the file as it would have."""
    import torchlvm.run.lock as lock
    from torchlvm.run.loaded import load_run
    from torchlvm.run.lock import EVALUATED, acquire
    from torchlvm.run.split import load_split

    data = _table(tmp_path / "t.csv")
    run = tmp_path / "ppca"
    assert main(["fit", "ppca", "--data", str(data), "--latent-dim", "1", "--out", str(run)]) == 0
    before = (run / "config.json").read_bytes()
    data.write_bytes(data.read_bytes())
    loaded = load_run(run)
    with acquire(run, "another evaluate", doing=EVALUATED):
        monkeypatch.setattr(lock, "_HELD", weakref.WeakSet())  # as if another process held it
        assert len(load_split(loaded, None, "test")) > 0
    assert (run / "config.json").read_bytes() == before


@pytest.mark.parametrize(
    ("now", "said"),
    [
        (("a", "b", "d"), "its columns are a, b, d, the run's a, b, c"),
        (tuple(f"f{j:02d}" if j != 30 else "f3X" for j in range(60)),
         "its column at index 30 is 'f3X', the run's 'f30'"),
        (tuple(f"f{j:02d}" for j in range(59, -1, -1)),
         "its column at index 0 is 'f59', the run's 'f00' (59 more columns differ)"),
        (tuple(f"f{j:02d}" for j in range(1, 64)),
         "it has 63 columns, the run 60: it lacks the run's 'f00' and has 'f60', 'f61', 'f62' "
         "and 1 more the run has not"),
    ],
    ids=["short", "renamed", "reordered", "other-count"],
)  # fmt: skip
def test_a_wide_tables_changed_columns_are_named_not_listed(now, said):
    """A renamed column of a 60-column table was reported as both full lists, a 1,847-character
    line with the difference hidden in it (review13 #11)."""
    from torchlvm.data.fingerprint import _columns_differ

    then = ("a", "b", "c") if len(now) == 3 else tuple(f"f{j:02d}" for j in range(60))
    assert _columns_differ(now, then) == said


def test_an_export_without_data_is_not_told_to_drop_data(tmp_path, capsys):
    """An estimator's export (no 'data' section) given --data was told 'drop --data', and
    dropping it was refused next, 'evaluate needs a run folder written by train or fit' (api13's
    note): the line says the export records no data and offers the score command that reads
    the file."""
    from torchlvm.models import VAE, VAEConfig

    export = VAE(VAEConfig(input_dim=4, latent_dim=2, hidden=(8,), likelihood="gaussian"))
    export.save_pretrained(tmp_path / "exp")
    rows = np.random.default_rng(0).normal(size=(20, 4))
    np.savetxt(tmp_path / "t.csv", rows, delimiter=",", header="a,b,c,d", comments="")
    assert main(["evaluate", str(tmp_path / "exp"), "--data", str(tmp_path / "t.csv")]) == 2
    err = capsys.readouterr().err
    assert "records no data it was trained on" in err and "drop --data" not in err
    offered = shlex.split(err.split("score the file's rows with torchlvm ")[1].strip())
    assert main(offered[:-1] + [str(tmp_path / "scores.csv")]) == 0


def test_an_export_of_no_dataset_is_told_its_data_section_is_what_is_wrong(tmp_path):
    """readB #13: an export saved with data={'name': 'wine'} (no dataset torchlvm knows), given
    --data FILE, was told "trained on wine, not on a file that could have moved; drop --data",
    and dropping it gave "unknown dataset 'wine'". It names the record and fixes that exist; a
    run of a real dataset is still told to drop --data."""
    from torchlvm.data.fingerprint import repoint
    from torchlvm.errors import ConfigError

    (tmp_path / "w.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ConfigError) as said:
        repoint({"name": "wine"}, str(tmp_path / "w.csv"), "exp")
    assert "exp/config.json records its data as 'wine', which is neither a dataset" in str(
        said.value
    )
    assert "save_pretrained('exp', data={'name': 'FILE.csv', 'seed': 0})" in str(said.value)
    assert "drop --data" not in str(said.value)
    with pytest.raises(ConfigError, match="trained on digits, not on a file .*; drop --data"):
        repoint({"name": "digits"}, str(tmp_path / "w.csv"), "exp")
