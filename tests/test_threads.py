"""The estimators' ``threads`` and the command line's ``--threads`` (torchlvm/_threads.py)."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
import torch

from torchlvm import _threads
from torchlvm.cli import main
from torchlvm.estimators import VAEEstimator
from torchlvm.models import PPCA


@pytest.fixture
def two_cores(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(_threads, "_CAPPED", set())  # (nothing said yet in this process)


@pytest.mark.parametrize(
    "make",
    [lambda t: PPCA(latent_dim=2, threads=t),
     lambda t: VAEEstimator(latent_dim=2, epochs=1, threads=t)],
    ids=["ppca", "vae"],
)  # fmt: skip
def test_an_estimator_asking_more_threads_than_cores_runs_on_the_cores_and_says_so(two_cores, make):
    """`PPCA(threads=4).fit(X)` on 2 cores was refused ('pass threads 2 or fewer'): code written
    on a laptop of more cores failed on a smaller machine, a CI box (review12 #16). It runs on
    the cores, with one warning naming the caller's line and the two fixes; its methods after
    fit say nothing more."""
    x = np.random.default_rng(0).normal(size=(60, 4))
    estimator = make(4)
    caller = torch.get_num_threads()
    with pytest.warns(UserWarning) as shown:
        estimator.fit(x)
    (said,) = [w for w in shown if "threads=4" in str(w.message)]
    assert str(said.message) == (
        "threads=4 is more than the 2 CPU cores this process may use: it runs on 2 (pass "
        "threads=2, or threads=None for the count torch has)"
    )
    assert said.filename == __file__  # the line that called fit, not torchlvm's
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        estimator.score(x)
    assert torch.get_num_threads() == caller


def test_inside_a_method_the_capped_count_is_torchs(two_cores, monkeypatch):
    from torchlvm.models import ppca as ppca_module

    counts, fit_parameters = [], ppca_module.fit_parameters
    monkeypatch.setattr(
        ppca_module,
        "fit_parameters",
        lambda *a, **k: counts.append(torch.get_num_threads()) or fit_parameters(*a, **k),
    )
    with pytest.warns(UserWarning, match="threads=3 is more than the 2 CPU cores"):
        PPCA(latent_dim=2, threads=3).fit(np.random.default_rng(0).normal(size=(40, 4)))
    assert counts == [2]


def test_the_command_line_refuses_more_threads_than_cores(two_cores, capsys, tmp_path):
    """On the command line the count is typed for this machine: refused, naming the fix."""
    assert main(["kl-demo", "--threads", "3", "--out", str(tmp_path / "kl.png")]) == 2
    err = capsys.readouterr().err
    assert "--threads 3 is more than the 2 CPU cores this process may use; pass --threads 2" in err


def test_a_ppca_fit_counts_cores_without_importing_lightning():
    """userT #7: a 100 x 5 PPCA's first fit imported Lightning (and through it sympy and
    matplotlib) only to count the cores its ``threads`` may use: 10 s, in which a Ctrl-C left
    those modules half imported for every later call of the session. Its whole life (fit,
    transform, score, sample) now runs without Lightning."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from torchlvm.models import PPCA\n"
        "x = np.random.default_rng(0).normal(size=(100, 5))\n"
        "model = PPCA(latent_dim=2, threads=1).fit(x)\n"
        "model.transform(x); model.score(x); model.score_samples(x)\n"
        "print(sorted(m for m in ('lightning', 'sympy', 'matplotlib') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    assert done.stdout.strip() == "[]"
