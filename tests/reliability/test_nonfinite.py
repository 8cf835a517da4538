"""Non-finite values: a NaN or inf in the loss, in the gradient, or in the weights themselves is
caught; the run stops with a message naming the step and the likely cause (or skips the update
when configured), and no file with non-finite weights is ever written, checkpoints included.

Extends ``tests/training/test_training_guard.py`` (NaN loss → stop/skip, a huge learning rate):
here inf as well as NaN, gradients that go bad while the loss stays finite, Adam's moments after a
skip, and weights that turn non-finite between the guard's checks (the checkpoint writer refuses
them).
"""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch
from _reliability import load_ckpt

import torchlvm.training.module as module_under_test
from torchlvm.errors import NonFiniteError
from torchlvm.models.vae import VAE, VAEConfig
from torchlvm.training import LVMDataModule, TrainConfig, fit
from torchlvm.training.checkpoint_io import AtomicCheckpointIO
from torchlvm.training.module import LVMModule

STEPS_PER_EPOCH = 5  # 1258 digits in batches of 256


class _BadGradient(torch.autograd.Function):
    """Identity forward; the backward pass multiplies the gradient by ``value`` (NaN or inf)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, value: float) -> torch.Tensor:
        ctx.value = value
        return x.clone()

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return grad * ctx.value, None


def _poison(monkeypatch: pytest.MonkeyPatch, where: str, value: float, *steps: int) -> None:
    """At the given global steps make the loss (``where="loss"``) or only its gradient
    (``"gradient"``, the loss stays finite) equal to ``value``."""
    real = module_under_test.training_loss
    calls = {"n": 0}

    def poisoned(*args, **kwargs):
        terms = real(*args, **kwargs)
        if calls["n"] in steps:
            if where == "loss":
                terms["loss"] = terms["loss"] * value
            else:
                terms["loss"] = _BadGradient.apply(terms["loss"], value)
        calls["n"] += 1
        return terms

    monkeypatch.setattr(module_under_test, "training_loss", poisoned)


def _fit(out: Path, policy: str = "stop", epochs: int = 3) -> tuple[VAE, object]:
    L.seed_everything(0)
    model = VAE(VAEConfig(64, latent_dim=2, hidden=(16,)))
    dm = LVMDataModule("digits", binarize="dynamic", batch_size=256)
    config = TrainConfig(max_epochs=epochs, batch_size=256, on_nonfinite=policy)
    return model, fit(model, dm, config, out, progress=False)


def _all_finite(tree) -> bool:
    if isinstance(tree, torch.Tensor):
        return not tree.is_floating_point() or bool(torch.isfinite(tree).all())
    if isinstance(tree, dict):
        return all(_all_finite(v) for v in tree.values())
    if isinstance(tree, (list, tuple)):
        return all(_all_finite(v) for v in tree)
    return True


def _checkpoints_are_finite(out: Path) -> list[int]:
    """Epochs of every checkpoint in the run; each must hold finite weights and optimizer state."""
    epochs = []
    for path in sorted((out / "checkpoints").glob("*.ckpt")):
        checkpoint = load_ckpt(path)
        assert _all_finite(checkpoint["state_dict"]), path
        assert _all_finite(checkpoint["optimizer_states"]), path
        epochs.append(checkpoint["epoch"])
    return epochs


@pytest.mark.budget(60)
@pytest.mark.parametrize("value", [float("nan"), float("inf")], ids=["nan", "inf"])
@pytest.mark.parametrize("where", ["loss", "gradient"])
def test_stop_names_the_step_and_cause_and_saves_nothing_bad(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str, value: float
) -> None:
    step = STEPS_PER_EPOCH + 2  # in epoch 1, after one checkpoint
    _poison(monkeypatch, where, value, step)
    with pytest.raises(NonFiniteError) as info:
        _fit(tmp_path)
    message = str(info.value)
    assert f"the {where} became non-finite (NaN or inf) at global step {step} (epoch 2)" in message
    assert "no update was applied" in message and "learning rate" in message
    assert "last good checkpoint (end of epoch 1)" in message
    assert "\n" not in message
    assert set(_checkpoints_are_finite(tmp_path)) == {0}
    assert not (tmp_path / "model.safetensors").exists()


@pytest.mark.budget(60)
@pytest.mark.parametrize("where", ["loss", "gradient"])
def test_skip_drops_inf_updates_and_keeps_adam_finite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    _poison(monkeypatch, where, float("inf"), 1, STEPS_PER_EPOCH + 3)
    model, result = _fit(tmp_path, policy="skip")
    assert result.skipped_steps == 2 and result.epochs == 3
    assert _all_finite(model.state_dict())
    assert _checkpoints_are_finite(tmp_path)
    assert (tmp_path / "model.safetensors").is_file()


@pytest.mark.budget(60)
@pytest.mark.parametrize(
    ("hook", "consequence"),
    [
        ("on_validation_epoch_start", "training cannot go on"),
        ("on_validation_epoch_end", "checkpoint best-epoch002.ckpt was not written"),
    ],
    ids=["before-validation", "before-checkpoint"],
)
def test_weights_that_turn_non_finite_are_never_checkpointed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hook: str, consequence: str
) -> None:
    """Finite losses and gradients can still carry weights to inf (e.g. a huge learning rate);
    here a weight is set to inf after the last step of epoch 1: before validation (whose
    distributions then refuse their NaN parameters), or after it, just before the checkpoint."""

    def corrupt(self: LVMModule) -> None:
        if self.current_epoch == 1:
            with torch.no_grad():
                next(self.model.parameters()).fill_(float("inf"))

    monkeypatch.setattr(LVMModule, hook, corrupt, raising=False)
    with pytest.raises(NonFiniteError) as info:
        _fit(tmp_path)
    message = str(info.value)
    assert (
        f"weights became non-finite (NaN or inf) by global step {2 * STEPS_PER_EPOCH} " in message
    )
    assert "(epoch 2; model.encoder" in message and consequence in message
    assert "learning rate" in message and "last good checkpoint (end of epoch 1)" in message
    assert set(_checkpoints_are_finite(tmp_path)) == {0}
    assert not (tmp_path / "model.safetensors").exists()


def test_the_checkpoint_writer_refuses_non_finite_weights(tmp_path: Path) -> None:
    path = tmp_path / "last.ckpt"
    io = AtomicCheckpointIO()
    io.save_checkpoint({"state_dict": {"w": torch.ones(2)}, "epoch": 0, "global_step": 5}, path)
    before = path.read_bytes()
    bad = {"state_dict": {"w": torch.tensor([1.0, float("nan")])}, "epoch": 1, "global_step": 9}
    with pytest.raises(NonFiniteError, match=r"global step 9 \(epoch 2; w\)"):
        io.save_checkpoint(bad, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]


def test_save_pretrained_refuses_non_finite_weights(tmp_path: Path) -> None:
    model = VAE(VAEConfig(8, latent_dim=2, hidden=(4,)))
    with torch.no_grad():
        next(model.parameters())[0] = float("-inf")
    with pytest.raises(NonFiniteError, match="refusing to save non-finite weights"):
        model.save_pretrained(tmp_path / "export")
    assert not (tmp_path / "export" / "model.safetensors").exists()
