"""scripts/demo.py (`make demo`) writes only into a folder that is new, empty or its own: its
steps pass --overwrite, which would replace a user's run named ppca, ae, vae or cvae."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "demo.py"
spec = importlib.util.spec_from_file_location("demo_script", SCRIPT)
demo = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = demo
spec.loader.exec_module(demo)


def test_a_folder_holding_the_users_files_is_refused_and_left_as_it_was(tmp_path, capsys):
    out = tmp_path / "work"
    (out / "vae").mkdir(parents=True)
    (out / "vae" / "config.json").write_text("{}")  # a run of the user's, say
    (out / "notes.txt").write_text("mine")

    assert demo.run(["--out", str(out)]) == 2

    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("torchlvm: error: --out ")
    assert "notes.txt, vae" in err[0] and "new or empty folder" in err[0]
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "vae"]
    assert (out / "notes.txt").read_text() == "mine"


def test_a_file_as_out_is_refused(tmp_path, capsys):
    out = tmp_path / "report.html"
    out.write_text("mine")
    assert demo.run(["--out", str(out)]) == 2
    assert "is a file" in capsys.readouterr().err
    assert out.read_text() == "mine"


def test_a_new_an_empty_and_its_own_folder_are_claimed(tmp_path):
    new, empty = tmp_path / "a" / "new", tmp_path / "empty"
    empty.mkdir()
    assert demo.claim(new) is None and (new / demo.MARK).exists()
    assert demo.claim(empty) is None and (empty / demo.MARK).exists()
    (new / "vae").mkdir()  # what the demo wrote there on its first run
    assert demo.claim(new) is None


def test_a_folder_an_earlier_demo_filled_before_the_mark_is_claimed(tmp_path):
    out = tmp_path / "demo"
    for name in ("ppca", "ae", "vae", "cvae"):
        (out / name).mkdir(parents=True)
    (out / "report.html").write_text("<html>")
    assert demo.claim(out) is None
    (out / ".torchlvm-demo").unlink()
    (out / "mine").mkdir()
    assert demo.claim(out) is not None
