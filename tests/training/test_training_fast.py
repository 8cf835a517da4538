"""fit(fast=True): the whole step as one function (manual optimization; a CUDA graph on a GPU,
the same code eagerly on a CPU) gives the eager path's results, draws its binarization inside the
step, resumes exactly and keeps the non-finite guard."""

from __future__ import annotations

import json
from pathlib import Path

import lightning as L
import pytest
import torch

import torchlvm.training.fast_step as fast_step
from torchlvm.errors import NonFiniteError
from torchlvm.models.vae import VAE, VAEConfig
from torchlvm.training import FitResult, LVMDataModule, TrainConfig, fit
from torchlvm.training.metrics_csv import read_metrics

SMALL = {"latent_dim": 4, "hidden": (64,)}


def _run(out: Path, *, fast: bool, binarize: str = "threshold", resume: bool = False, **config):
    L.seed_everything(0)
    model = VAE(VAEConfig(64, **SMALL))
    dm = LVMDataModule("digits", binarize=binarize, batch_size=128)
    options = {"max_epochs": 2, "deterministic": True, **config}
    result = fit(model, dm, TrainConfig(**options), out, progress=False, fast=fast, resume=resume)
    return result, dm


def _last(out: Path) -> dict:
    return torch.load(out / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)


def _assert_same_run(a: Path, b: Path) -> None:
    first, second = _last(a), _last(b)
    assert first["epoch"] == second["epoch"] and first["global_step"] == second["global_step"]
    for name, value in first["state_dict"].items():
        torch.testing.assert_close(second["state_dict"][name], value, rtol=1e-5, atol=1e-6)
    for (i, x), (_, y) in zip(
        first["optimizer_states"][0]["state"].items(),
        second["optimizer_states"][0]["state"].items(),
        strict=True,
    ):
        for key in ("step", "exp_avg", "exp_avg_sq"):
            torch.testing.assert_close(y[key], x[key], rtol=1e-5, atol=1e-7, msg=f"{i} {key}")
    rows_a, rows_b = read_metrics(a / "metrics.csv"), read_metrics(b / "metrics.csv")
    assert [r.keys() for r in rows_a] == [r.keys() for r in rows_b]
    for ra, rb in zip(rows_a, rows_b, strict=True):
        assert rb == pytest.approx(ra, rel=1e-5, abs=1e-5)


@pytest.mark.parametrize(
    "config",
    [{}, {"gradient_clip": 0.5, "beta": 2.0, "warmup_epochs": 2}],
    ids=["elbo", "clip-warmup"],
)
def test_the_fast_path_gives_the_eager_paths_results(tmp_path: Path, config: dict) -> None:
    eager, _ = _run(tmp_path / "eager", fast=False, **config)
    fast, _ = _run(tmp_path / "fast", fast=True, **config)
    _assert_same_run(tmp_path / "eager", tmp_path / "fast")
    assert (eager.best_epoch, eager.epochs) == (fast.best_epoch, fast.epochs)
    runtime = json.loads((tmp_path / "fast" / "config.json").read_text())["runtime"]
    assert runtime["fast"] is True
    assert json.loads((tmp_path / "eager" / "config.json").read_text())["runtime"]["fast"] is False


def test_the_fast_path_draws_the_binarization_in_the_step_and_resumes_exactly(
    tmp_path: Path,
) -> None:
    straight, dm = _run(tmp_path / "straight", fast=True, binarize="dynamic", max_epochs=3)
    x = next(iter(dm.train_dataloader()))["x"]
    assert not torch.equal(x, x.round())  # the loader serves intensities; the step draws
    _run(tmp_path / "split", fast=True, binarize="dynamic", max_epochs=2)
    resumed, _ = _run(tmp_path / "split", fast=True, binarize="dynamic", max_epochs=3, resume=True)
    assert (resumed.start_epoch, resumed.epochs) == (2, 3)
    _assert_same_run(tmp_path / "straight", tmp_path / "split")
    assert (
        straight.final["val/elbo"]
        > read_metrics(tmp_path / "straight" / "metrics.csv")[0]["val/elbo"]
    )


def test_the_fast_path_keeps_the_non_finite_guard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real, calls = fast_step.training_loss, {"n": 0}

    def nan_at_step_12(*args, **kwargs) -> dict:
        terms = real(*args, **kwargs)
        if calls["n"] == 12:  # epoch 1 (10 steps per epoch)
            terms["loss"] = terms["loss"] * float("nan")
        calls["n"] += 1
        return terms

    monkeypatch.setattr(fast_step, "training_loss", nan_at_step_12)
    with pytest.raises(NonFiniteError, match=r"loss became non-finite .* global step 12 \(epoch 1"):
        _run(tmp_path, fast=True, max_epochs=3)
    assert _last(tmp_path)["epoch"] == 0
    assert all(torch.isfinite(v).all() for v in _last(tmp_path)["state_dict"].values())


def test_fit_result_type(tmp_path: Path) -> None:
    result, _ = _run(tmp_path, fast=True, max_epochs=1)
    assert isinstance(result, FitResult) and result.epochs == 1 and result.skipped_steps == 0
