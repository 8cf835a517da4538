"""``torchlvm report DIR [DIR ...] [--out FILE]``."""

import json

import pytest

from torchlvm import cli


@pytest.fixture(autouse=True)
def report_command(monkeypatch):
    monkeypatch.setitem(cli.COMMANDS, "report", "report")


@pytest.fixture
def run_dir(tmp_path):
    def make(name):
        folder = tmp_path / name
        folder.mkdir()
        config = {"model_type": "vae", "model": {"latent_dim": 4}, "data": {"name": "digits"}}
        (folder / "config.json").write_text(json.dumps(config))
        return folder

    return make


def test_report_on_one_run_prints_where_it_went(run_dir, capsys):
    folder = run_dir("vae")
    assert cli.main(["report", str(folder)]) == 0
    assert capsys.readouterr().out == f"report written to {folder / 'report.html'}\n"
    assert "No metrics.json" in (folder / "report.html").read_text(encoding="utf-8")


def test_report_on_several_runs_with_out(run_dir, tmp_path, capsys):
    out = tmp_path / "compare.html"
    assert cli.main(["report", str(run_dir("a")), str(run_dir("b")), "--out", str(out)]) == 0
    assert capsys.readouterr().out == f"report written to {out}\n"
    assert "2 runs compared" in out.read_text(encoding="utf-8")


def test_several_runs_without_out_is_one_line_exit_2(run_dir, capsys):
    assert cli.main(["report", str(run_dir("a")), str(run_dir("b"))]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pass --out FILE" in err


def test_folder_without_config_is_one_line_exit_2(tmp_path, capsys):
    assert cli.main(["report", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"torchlvm: error: cannot report on {tmp_path}: it has no config.json, so it is not a "
        "run folder; pass a folder written by 'torchlvm train'\n"
    )
