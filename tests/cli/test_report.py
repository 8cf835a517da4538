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
    assert err.count("\n") == 1 and "pass --out comparison.html (or another name)" in err


def test_folder_without_config_is_one_line_exit_2(tmp_path, capsys):
    assert cli.main(["report", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"torchlvm: error: cannot report on {tmp_path}: it has no config.json, so it is not a "
        "run folder; pass a folder written by 'torchlvm train'\n"
    )


def test_a_folder_that_does_not_exist_is_said_so_and_the_run_beside_it_named(run_dir, capsys):
    """'report runs/vae1' (no such folder) said 'it has no config.json, so it is not a run
    folder', as if the folder were there."""
    run = run_dir("vae")
    assert cli.main(["report", str(run.parent / "vea")]) == 2
    err = capsys.readouterr().err
    assert (
        err.count("\n") == 1 and f"cannot report on {run.parent / 'vea'}: it does not exist" in err
    )
    assert f"pass {run} (the model folder nearest that name: a vae (K=" in err  # what it holds
    assert "), or a folder written by 'torchlvm train'" in err


@pytest.mark.parametrize(
    "make, said",
    [
        (lambda root: (root / "afile").write_text("x") and root / "afile", "is a file, not"),
        (lambda root: root.joinpath("checkpoints").mkdir() or root / "checkpoints", "no config"),
    ],
    ids=["a-file", "a-subfolder"],
)
def test_a_path_that_is_not_a_run_is_named_before_the_output(tmp_path, capsys, make, said):
    path = make(tmp_path)
    assert cli.main(["report", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"torchlvm: error: cannot report on {path}: it ") and said in err
    assert "a run folder" in err and "--out" not in err


def test_a_run_without_its_model_is_not_sent_to_evaluate(run_dir, capsys):
    folder = run_dir("halfrun")
    assert cli.main(["report", str(folder)]) == 0
    text = (folder / "report.html").read_text(encoding="utf-8")
    assert "no model.safetensors to measure" in text and "copy the run" in text
    (folder / "checkpoints").mkdir()
    (folder / "checkpoints" / "last.ckpt").write_bytes(b"")
    assert cli.main(["report", str(folder)]) == 0
    text = (folder / "report.html").read_text(encoding="utf-8")
    assert "training was interrupted; finish it with" in text and "--resume" in text
    (folder / "model.safetensors").write_bytes(b"")
    assert cli.main(["report", str(folder)]) == 0
    text = (folder / "report.html").read_text(encoding="utf-8")
    assert f"No metrics.json: run `torchlvm evaluate {folder}` to measure" in text


def test_a_run_it_cannot_write_in_is_told_to_write_the_report_elsewhere(
    run_dir, tmp_path, capsys, monkeypatch
):
    """report on a run in a read-only place said only 'Read-only file system: RUN/report.html;
    check the path, its permissions and the free disk space': the report goes into the run by
    default, and --out, the fix that exists, was not named. It is, and following it works."""
    import errno

    from torchlvm._files import write_atomic
    from torchlvm.report import build

    folder = run_dir("vae")

    def read_only_run(path, write):
        if folder in path.parents:
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return write_atomic(path, write)

    monkeypatch.setattr(build, "write_atomic", read_only_run)
    assert cli.main(["report", str(folder)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and not (folder / "report.html").exists()
    assert (
        f"Read-only file system (the report goes into the run folder by default; write it where "
        f"you can with --out FILE.html, e.g. --out vae-report.html): {folder / 'report.html'}"
    ) in err
    out = tmp_path / "vae-report.html"
    assert cli.main(["report", str(folder), "--out", str(out)]) == 0 and out.is_file()


def test_metrics_of_an_earlier_model_are_said_to_be(run_dir, capsys):
    """After 'train --resume' the report showed the numbers measured before it as the run's."""
    from torchlvm.run.metrics import merge_metrics

    folder = run_dir("vae")
    (folder / "model.safetensors").write_bytes(b"before")
    merge_metrics(folder, {"likelihood": {"elbo": -30.0}})
    assert cli.main(["report", str(folder)]) == 0
    assert "earlier model" not in (folder / "report.html").read_text(encoding="utf-8")
    (folder / "model.safetensors").write_bytes(b"after")
    assert cli.main(["report", str(folder)]) == 0
    text = (folder / "report.html").read_text(encoding="utf-8")
    assert "measured on an earlier model of this run" in text
    assert f"torchlvm evaluate {folder}" in text


def test_build_report_names_the_fix_for_an_unexpanded_tilde(tmp_path, monkeypatch):
    """build_report('~/runs/vae') said 'it has no config.json, so it is not a run folder'."""
    from torchlvm.errors import RunDirectoryError
    from torchlvm.report import build_report

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RunDirectoryError, match=r"pass os\.path\.expanduser\('~/runs/vae'\)"):
        build_report("~/runs/vae")


def test_a_link_flipped_to_another_run_does_not_move_the_report(run_dir, tmp_path, monkeypatch):
    """review16 R16: 'report runs/current' read one run and wrote report.html into whichever
    run the link named by then."""
    import torchlvm.report

    a, b = run_dir("a"), run_dir("b")
    current = tmp_path / "current"
    current.symlink_to(a)
    real = torchlvm.report.build_report

    def flipped_while_building(*args, **kwargs):
        current.unlink()
        current.symlink_to(b)  # (a deploy's flip)
        return real(*args, **kwargs)

    monkeypatch.setattr(torchlvm.report, "build_report", flipped_while_building)
    assert cli.main(["report", str(current)]) == 0
    assert (a / "report.html").is_file() and not (b / "report.html").exists()
