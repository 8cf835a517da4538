"""Shared by the table benchmarks (imputation, outliers, VAE vs PPCA likelihood): scikit-learn's
built-in tables, seeded masks, and torchlvm's PPCA and VAE fitted the way those scripts use them.

The VAE is trained by a plain Adam loop on the library's objective (:func:`miwae_bound`, which is
the IWAE bound on complete rows); the loop itself holds no modelling code.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import io
import shlex
import sys
import time
import warnings
from collections.abc import Callable

import numpy as np
import torch
from _machine import machine_lines
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

from torchlvm.cli import main as cli
from torchlvm.inference.imputation import impute_rows
from torchlvm.inference.miwae import miwae_bound
from torchlvm.models.ppca import PPCA
from torchlvm.models.vae import VAE, VAEConfig

TABLES: dict[str, Callable] = {
    "breast_cancer": load_breast_cancer,
    "wine": load_wine,
    "diabetes": load_diabetes,
}


def load_table(name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(N, D)`` float64 features and ``(N,)`` targets of a scikit-learn table."""
    bunch = TABLES[name]()
    return np.asarray(bunch.data, dtype=np.float64), np.asarray(bunch.target)


def standardize(x: np.ndarray, fit_on: np.ndarray | None = None) -> np.ndarray:
    """``(x − mean) / std`` with NaN-aware statistics of ``fit_on`` (default ``x``)."""
    ref = x if fit_on is None else fit_on
    return (x - np.nanmean(ref, 0)) / np.nanstd(ref, 0)


def mcar_mask(shape: tuple[int, int], rate: float, seed: int) -> np.ndarray:
    """Bool ``shape``: each cell removed independently with probability ``rate`` (MCAR)."""
    return np.random.default_rng(seed).random(shape) < rate


def vae_config(dim: int, latent_dim: int) -> VAEConfig:
    """The tables VAE: two tanh layers of 128, a Gaussian p(x | z) with a learned σ per feature."""
    return VAEConfig(
        dim,
        latent_dim=latent_dim,
        hidden=(128, 128),
        activation="tanh",
        likelihood="gaussian",
        variance="diagonal",
    )


def train_vae(
    x: np.ndarray,
    *,
    latent_dim: int,
    steps: int = 3000,
    k: int = 20,
    batch_size: int = 64,
    lr: float = 1e-3,
    seed: int = 0,
    val: np.ndarray | None = None,
    config: VAEConfig | None = None,
) -> tuple[VAE, float]:
    """A VAE fitted to the rows of ``x`` (NaN = missing) by Adam on the MIWAE bound L_k
    (k = 1: the ELBO with a one-sample KL).

    With ``val``, the weights with the best validation bound (L_50, checked every 100 steps)
    are kept: early stopping for the small tables.

    Returns:
        The model (eval mode) and the seconds the training took.
    """
    torch.manual_seed(seed)
    data = torch.tensor(x, dtype=torch.float32)
    model = VAE(config or vae_config(x.shape[1], latent_dim))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    best, best_state = -float("inf"), None
    start = time.perf_counter()
    for step in range(steps):
        rows = torch.randint(len(data), (batch_size,), generator=gen)
        optimizer.zero_grad()
        (-miwae_bound(model, data[rows], num_samples=k).mean()).backward()
        optimizer.step()
        if val is not None and (step + 1) % 100 == 0:
            with torch.no_grad():
                bound = miwae_bound(model, torch.tensor(val, dtype=torch.float32), num_samples=50)
            if bound.mean().item() > best:
                best, best_state = bound.mean().item(), copy.deepcopy(model.state_dict())
    if best_state is not None:
        model.load_state_dict(best_state)
    return model.eval(), time.perf_counter() - start


K_GRID: tuple[int, ...] = (1, 2, 3, 4, 6, 8, 12, 16, 20, 25)


def ppca_em(x: np.ndarray, latent_dim: int, max_iter: int = 1000) -> PPCA:
    """PPCA fitted by EM on ``x`` (NaN = missing), float64; stops at a change < 1e-5 nats/row."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # not converged: reported by n_iter_
        return PPCA(latent_dim=latent_dim, method="em", max_iter=max_iter, tol=1e-5).fit(x)


def select_ppca_k(x: np.ndarray, seed: int, share: float = 0.1) -> int:
    """K for PPCA-EM chosen without the removed cells: hide ``share`` of the observed cells,
    fit each K of :data:`K_GRID` below D on the rest (at most 300 EM steps), keep the K with the
    smallest squared error on the hidden ones."""
    rng = np.random.default_rng(seed + 10_000)
    observed = np.argwhere(~np.isnan(x))
    pick = observed[rng.random(len(observed)) < share]
    held = x.copy()
    held[pick[:, 0], pick[:, 1]] = np.nan
    errors = {}
    for k in (k for k in K_GRID if k < x.shape[1]):
        filled = ppca_em(held, k, max_iter=300).impute(held)
        errors[k] = float(
            np.mean((filled[pick[:, 0], pick[:, 1]] - x[pick[:, 0], pick[:, 1]]) ** 2)
        )
    return min(errors, key=errors.get)


def vae_impute(model: VAE, x: np.ndarray, num_samples: int = 1000, seed: int = 0) -> np.ndarray:
    """Importance-weighted conditional mean of the NaN cells of ``x``."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        filled = impute_rows(
            model, torch.tensor(x, dtype=torch.float32), num_samples=num_samples, generator=gen
        )
    return filled.double().numpy()


def result_header(title: str, doc: str | None, seconds: float) -> list[str]:
    """The opening lines of a results file: title, command, date, machine, what was measured
    (the script docstring's middle paragraphs, without its first line and its "Run:" line)."""
    command = " ".join(shlex.quote(a) for a in [".venv/bin/python", *sys.argv])
    return [
        f"# {title}",
        "",
        f"Command: `{command}` ({datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, "
        f"{seconds / 60:.1f} min)",
        "",
        *machine_lines(["scikit-learn"]),
        "- torch and BLAS threads: 1 (set by the script: two threads were 30x slower per step "
        "while other jobs loaded both cores)",
        "",
        (doc or "").split("\n\nRun:")[0].split("\n\n", 1)[1],
        "",
    ]


def one_thread() -> float:
    """Run torch and BLAS on one thread (measured: 30x faster per VAE step than two threads while
    other jobs loaded both cores); returns the start time for :func:`result_header`."""
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(1)
    return time.perf_counter()


def cli_quietly(argv: list[str]) -> str:
    """Run ``torchlvm ARGV`` in this process; what it printed (exit on a failure, showing it)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli(argv)
    if code != 0:
        raise SystemExit(f"torchlvm {' '.join(argv)} exited with {code}:\n{out.getvalue()}")
    return out.getvalue()
