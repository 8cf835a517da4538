"""``torchlvm kl-demo``: both fits plotted, mass per mode printed, other files kept."""

import re
from pathlib import Path

import pytest
import torch

from torchlvm import cli


@pytest.fixture(autouse=True)
def kl_demo_command(monkeypatch):
    monkeypatch.setitem(cli.COMMANDS, "kl-demo", "kl_demo")
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)  # the command sets one thread for its tiny problems


def test_kl_demo_writes_the_figure_and_prints_mass_per_mode(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("keep")
    assert cli.main(["kl-demo", "--out", str(tmp_path), "--dim", "2", "--steps", "200"]) == 0
    out = capsys.readouterr().out
    assert "forward KL(p‖q), mass-covering" in out and "reverse KL(q‖p), mode-seeking" in out
    assert out.count("mass per mode") == 2
    # a Monte Carlo estimate, with its standard error (it was a bare "0.691 nats")
    found = re.findall(r"final KL estimate (\S+) ± (\S+) nats, mean of the last 20 steps", out)
    assert len(found) == 2 and all(0 < float(se) < 0.1 for _, se in found)
    assert (tmp_path / "kl_fits_2d.png").read_bytes().startswith(b"\x89PNG")
    assert not (tmp_path / "kl_fits_1d.png").exists()
    assert (tmp_path / "notes.txt").read_text() == "keep"


def test_kl_demo_refuses_a_file_as_out(tmp_path, capsys):
    path = tmp_path / "file"
    path.write_text("x")
    assert cli.main(["kl-demo", "--out", str(path), "--dim", "1", "--steps", "5"]) == 2
    assert capsys.readouterr().err.strip().endswith("is a file; pass a folder path")


def test_kl_demo_bad_separation_is_one_line(tmp_path, capsys):
    argv = ["kl-demo", "--out", str(tmp_path), "--dim", "1", "--separation", "-1"]
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.splitlines()[0] == (
        "torchlvm: error: argument --separation: must be a positive number, got -1"
    )


@pytest.mark.parametrize("separation", ["1e160", "nan", "2000"])
def test_kl_demo_refuses_a_separation_whose_numbers_would_overflow(tmp_path, capsys, separation):
    """--separation 1e160 ended in a traceback (the fit's scale went NaN); nan said 'separation',
    the Python keyword. Both are refused naming the option and its range."""
    argv = ["kl-demo", "--out", str(tmp_path), "--dim", "1", "--separation", separation]
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err.splitlines()[0]
    assert err.startswith("torchlvm: error: argument --separation: must be")
    assert not list(tmp_path.iterdir())


def test_kl_demo_says_when_the_forward_fit_has_not_reached_its_optimum(tmp_path, capsys):
    """At separation 100 the forward fit's 500 steps reach variance ~333 of the optimum's 2501,
    and it was printed as the result: the known optimum is printed beside it, with a warning."""
    argv = ["kl-demo", "--out", str(tmp_path), "--dim", "1", "--steps", "20", "--samples", "16"]
    assert cli.main([*argv, "--separation", "100"]) == 0
    assert "moment matching: variance 2501.000; NOT converged: pass more --steps" in (
        capsys.readouterr().out
    )
    assert cli.main([*argv[:-4], "--separation", "2", "--overwrite"]) == 0
    out = capsys.readouterr().out
    assert "moment matching: variance 2.000)" in out and "NOT converged" not in out


def test_kl_demo_says_when_the_reverse_fit_has_not_reached_its_optimum(tmp_path, capsys):
    """At separation 200 the reverse fit's 500 steps stopped at mean z₁ = 87 with KL 89.9 nats,
    printed as the result with no mark, while the optimum sits on the mode at 100 with KL log 2
    (userI #1). The optimum is printed beside the fit, with a warning when the fit's KL is
    above it; a converged fit gets none."""
    argv = ["kl-demo", "--out", str(tmp_path), "--dim", "1", "--steps", "20", "--samples", "16"]
    assert cli.main([*argv, "--separation", "200"]) == 0
    reverse = capsys.readouterr().out.split("reverse KL")[1]
    assert "(optimum: KL 0.693 nats at mean z₁ = ±100.000, variance 1.000; NOT converged" in (
        reverse
    )
    argv = ["kl-demo", "--out", str(tmp_path), "--dim", "1", "--overwrite"]
    assert cli.main([*argv, "--separation", "20"]) == 0
    out = capsys.readouterr().out
    assert "at z₁ = -10 and +10" in out
    reverse = out.split("reverse KL")[1]
    assert "(optimum: KL 0.693 nats at mean z₁ = ±10.000, variance 1.000)" in reverse
    assert cli.main([*argv, "--separation", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "at z₁ = -0.25 and +0.25" in out  # (it printed -0.2 and +0.2)
    assert "at mean z₁ = 0.000" in out and "NOT converged" not in out.split("reverse KL")[1]


def test_kl_demo_never_replaces_a_file_of_the_users_unasked(tmp_path, capsys):
    """A folder of the user's that held their own kl_fits_1d.png: kl-demo wrote over it. It is
    now refused before any fitting, even with --overwrite (torchlvm did not write it)."""
    mine = tmp_path / "kl_fits_1d.png"
    mine.write_text("my figure")
    argv = ["kl-demo", "--out", str(tmp_path), "--dim", "1", "--steps", "5"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("torchlvm: error: ") and "kl_fits_1d.png already exists" in err
    assert "is not a file torchlvm wrote there" in err and mine.read_text() == "my figure"
    assert cli.main([*argv, "--overwrite"]) == 2
    assert "so --overwrite does not replace it" in capsys.readouterr().err
    assert mine.read_text() == "my figure"


def test_kl_demo_run_again_redraws_its_own_figures(tmp_path, capsys):
    """A second kl-demo into the same folder was refused its own figure from the first
    ('already exists; pass --overwrite'): a figure torchlvm drew is redrawn, as in a run's
    figures/."""
    argv = ["kl-demo", "--out", str(tmp_path), "--dim", "1", "--steps", "5", "--samples", "16"]
    assert cli.main(argv) == 0
    first = (tmp_path / "kl_fits_1d.png").read_bytes()
    assert cli.main([*argv, "--separation", "2"]) == 0, capsys.readouterr().err
    assert (tmp_path / "kl_fits_1d.png").read_bytes() != first


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_an_out_that_cannot_be_written_fails_before_the_fits(capsys, monkeypatch):
    """--out /proc/kl (a folder not even root can write): kl-demo fitted and printed the 1-D
    results, then failed saving the figure. It now fails first, in one line, nothing fitted."""
    from torchlvm.distributions import fitting

    fits = []
    monkeypatch.setattr(fitting, "fit_gaussian", lambda *a, **k: fits.append(a))
    assert cli.main(["kl-demo", "--out", "/proc/torchlvm-kl-demo", "--steps", "5"]) == 1
    out, err = capsys.readouterr()
    assert fits == [] and out == ""
    assert err.startswith("torchlvm: error: ") and len(err.splitlines()) == 1


def test_kl_demo_takes_threads_as_every_computing_command_does(tmp_path, capsys):
    """README: 'every command that computes takes --threads'; kl-demo did not (userD). It runs
    on one thread unless told, and refuses more threads than the cores it may use, as the others."""
    import torch

    from torchlvm.training.devices import available_devices

    before = torch.get_num_threads()
    argv = ["kl-demo", "--out", str(tmp_path), "--dim", "1", "--steps", "5"]
    assert cli.main([*argv, "--threads", "1"]) == 0
    assert torch.get_num_threads() == before  # (the caller's count is put back)
    capsys.readouterr()
    cores, _ = available_devices("cpu")
    assert cli.main([*argv, "--overwrite", "--threads", str(cores + 1)]) == 2
    assert f"--threads {cores + 1} is more than the {cores} CPU core" in capsys.readouterr().err
