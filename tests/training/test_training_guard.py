"""The non-finite guard: "stop" raises before the bad update and keeps the last good checkpoint;
"skip" drops the update, counts it and trains on; non-finite weights are never written."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch

import torchlvm.training.module as module_under_test
from torchlvm.errors import NonFiniteError
from torchlvm.models.vae import VAE, VAEConfig
from torchlvm.training import LVMDataModule, TrainConfig, fit
from torchlvm.training.guard import CHECK_EVERY, NonFiniteGuard
from torchlvm.training.metrics_csv import read_metrics

STEPS_PER_EPOCH = 10  # 1258 digits in batches of 128


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny models train fastest on one thread (and CI machines are shared)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def nan_at(monkeypatch: pytest.MonkeyPatch):
    """Make the training loss NaN at the given global steps (counted from 0)."""

    def install(*steps: int) -> None:
        real = module_under_test.training_loss
        calls = {"n": 0}

        def poisoned(*args, **kwargs):
            terms = real(*args, **kwargs)
            if calls["n"] in steps:
                terms["loss"] = terms["loss"] * float("nan")
            calls["n"] += 1
            return terms

        monkeypatch.setattr(module_under_test, "training_loss", poisoned)

    return install


def _train(out: Path, policy: str, epochs: int = 3) -> tuple[VAE, object]:
    L.seed_everything(0)
    model = VAE(VAEConfig(64, latent_dim=4, hidden=(32,)))
    dm = LVMDataModule("digits", binarize="dynamic", batch_size=128)
    config = TrainConfig(max_epochs=epochs, on_nonfinite=policy)
    return model, fit(model, dm, config, out, progress=False)


def _finite(state: dict[str, torch.Tensor]) -> bool:
    return all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())


def test_stop_names_the_step_and_keeps_the_last_good_checkpoint(tmp_path: Path, nan_at) -> None:
    nan_at(STEPS_PER_EPOCH + 2)
    with pytest.raises(NonFiniteError, match=r"at global step 12 \(epoch 2\)") as info:
        _train(tmp_path, "stop")
    message = str(info.value)
    assert "learning rate" in message and "learned variance" in message and "NaN" in message
    assert "last good checkpoint (end of epoch 1)" in message
    assert not (tmp_path / "model.safetensors").exists()
    assert not (tmp_path / "config.json").exists()
    checkpoint = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["epoch"] == 0 and _finite(checkpoint["state_dict"])
    assert [r["epoch"] for r in read_metrics(tmp_path / "metrics.csv")] == [0]


def test_stop_in_the_first_epoch_writes_no_checkpoint(tmp_path: Path, nan_at) -> None:
    nan_at(0)
    with pytest.raises(NonFiniteError, match="global step 0.*no checkpoint was written"):
        _train(tmp_path, "stop")


def test_skip_drops_the_bad_updates_and_trains_on(tmp_path: Path, nan_at) -> None:
    nan_at(3, STEPS_PER_EPOCH + 4)
    model, result = _train(tmp_path, "skip")
    assert result.skipped_steps == 2 and result.epochs == 3
    assert _finite(model.state_dict())
    rows = read_metrics(tmp_path / "metrics.csv")
    assert [r["train/skipped_steps"] for r in rows] == [1.0, 2.0, 2.0]
    assert all(torch.isfinite(torch.tensor(r["train/loss"])) for r in rows)
    assert rows[-1]["val/elbo"] > rows[0]["val/elbo"]
    assert (tmp_path / "model.safetensors").is_file()


def test_a_huge_learning_rate_is_caught(tmp_path: Path) -> None:
    L.seed_everything(0)
    model = VAE(
        VAEConfig(64, latent_dim=4, hidden=(32,), likelihood="gaussian", variance="diagonal")
    )
    dm = LVMDataModule("digits", batch_size=128)
    config = TrainConfig(max_epochs=3, lr=1e6)
    with pytest.raises(NonFiniteError, match="global step"):
        fit(model, dm, config, tmp_path, progress=False)
    assert not (tmp_path / "model.safetensors").exists()


class _HostReads(torch.overrides.TorchFunctionMode):
    """Counts the calls that copy a tensor's value to the host (a synchronization on a GPU)."""

    READS = {"item", "tolist", "__bool__", "__int__", "__float__"}

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if getattr(func, "__name__", "") in self.READS:
            self.count += 1
        return func(*args, **(kwargs or {}))


def test_the_guard_skips_on_the_device_and_reads_its_flag_only_when_due() -> None:
    """With fused Adam a bad step's update is skipped by the optimizer itself (``found_inf``),
    and the guard reads nothing from the device until its check is due."""
    weight = torch.nn.Parameter(torch.ones(3))
    optimizer = torch.optim.Adam([weight], lr=0.1, fused=True)
    guard = NonFiniteGuard("stop", lr=0.1)
    reads = _HostReads()
    history = []
    for step in range(5):
        loss = (weight * weight).sum() * (float("nan") if step == 3 else 1.0)
        loss.backward()
        with reads:
            guard.observe(optimizer, loss.detach(), lambda step=step: (step, 0))
            guard.check(epoch=0)  # not due: 5 < CHECK_EVERY
        optimizer.step()
        optimizer.zero_grad()
        history.append(weight.detach().clone())
    assert reads.count == 0
    torch.testing.assert_close(history[3], history[2])  # the NaN step changed nothing
    assert not torch.equal(history[4], history[3]) and torch.isfinite(history[4]).all()
    assert optimizer.state[weight]["step"].item() == 4  # 5 steps, one skipped
    with reads, pytest.raises(NonFiniteError, match=r"the loss became non-finite .* step 3 \("):
        guard.check(epoch=0, now=True)
    assert reads.count > 0  # the check is the read (and the counter sees reads)


def test_stop_acts_within_the_checks_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = module_under_test.training_loss
    steps = {"n": 0}

    def nan_at_step_2(*args, **kwargs):
        terms = real(*args, **kwargs)
        if steps["n"] == 2:
            terms["loss"] = terms["loss"] * float("nan")
        steps["n"] += 1
        return terms

    monkeypatch.setattr(module_under_test, "training_loss", nan_at_step_2)
    L.seed_everything(0)
    model = VAE(VAEConfig(64, latent_dim=4, hidden=(32,)))
    dm = LVMDataModule("digits", binarize="dynamic", batch_size=16)  # 79 steps per epoch
    with pytest.raises(NonFiniteError, match=r"at global step 2 \(epoch 1\)"):
        fit(model, dm, TrainConfig(max_epochs=1, batch_size=16), tmp_path, progress=False)
    assert steps["n"] == CHECK_EVERY  # read at the first due check, not at the epoch's end
    assert not (tmp_path / "checkpoints" / "last.ckpt").exists()


@pytest.mark.parametrize("policy", ["stop", "skip"])
def test_the_device_record_names_the_first_flagged_step_and_counts_them(policy: str) -> None:
    """A bad gradient (finite loss) at global step 12 and a bad loss at 14, from a record started
    at step 10: "stop" names step 12 and the gradient, both updates are skipped and counted, and
    the check leaves every finite value as it was."""
    weight = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
    optimizer = torch.optim.Adam([weight], lr=0.1, fused=True)
    guard = NonFiniteGuard(policy, lr=0.1)
    finite_flags = []
    for step in range(10, 17):
        loss = (weight * weight).sum() * (float("inf") if step == 14 else 1.0)
        loss.backward()
        if step == 12:
            weight.grad[1] = float("nan")
        grad, value = weight.grad.clone(), loss.detach().clone()
        finite_flags.append(bool(guard.observe(optimizer, loss, lambda step=step: (step, 1))))
        torch.testing.assert_close(weight.grad, grad, equal_nan=True, rtol=0, atol=0)
        torch.testing.assert_close(loss.detach(), value, rtol=0, atol=0)
        optimizer.step()
        optimizer.zero_grad()
    assert finite_flags == [True, True, False, True, False, True, True]
    assert guard.skipped_steps == 2 and optimizer.state[weight]["step"].item() == 5
    if policy == "skip":
        guard.check(epoch=1, now=True)  # counts, never raises
        return
    with pytest.raises(NonFiniteError, match=r"the gradient became non-finite .* step 12 \("):
        guard.check(epoch=1, now=True)
