"""fit's whole-step path (manual optimization, several optimizer steps per Lightning batch of
resident data) and fit(fast=True) (the step as a CUDA graph on a GPU, the same code eagerly on a
CPU) give the results of Lightning's automatic optimization with one step per batch, draw the
binarization inside the step, resume exactly and keep the non-finite guard.

The tests that take ``accelerator`` run on the CPU and, marked ``cuda``, on a GPU when one is
visible (``pytest -m cuda``): there the fast path is a captured CUDA graph and the training data
live on the device."""

from __future__ import annotations

import json
import math
import traceback
import warnings
from pathlib import Path

import lightning as L
import pytest
import torch

import torchlvm.training.module as training_module
import torchlvm.training.trainer as trainer_module
from torchlvm.errors import ConfigError, NonFiniteError
from torchlvm.models.vae import VAE, VAEConfig
from torchlvm.training import FitResult, LVMDataModule, TrainConfig, fit
from torchlvm.training.guard import CHECK_EVERY
from torchlvm.training.losses import kl_weight
from torchlvm.training.metrics_csv import read_metrics
from torchlvm.training.module import LVMModule

SMALL = {"latent_dim": 4, "hidden": (64,)}
NO_GPU = not torch.cuda.is_available()
ACCELERATORS = [
    "cpu",
    pytest.param("gpu", marks=[pytest.mark.cuda, pytest.mark.skipif(NO_GPU, reason="no GPU")]),
]


def _run(
    out: Path,
    *,
    fast: bool,
    binarize: str = "threshold",
    resume: bool = False,
    accelerator: str = "cpu",
    callbacks: tuple[L.Callback, ...] = (),
    steps_per_batch: int = 8,  # 8 and 4 in an epoch of 12; fit's default, 32, takes all 12
    **config,
):
    L.seed_everything(0)
    model = VAE(VAEConfig(64, **SMALL))
    dm = LVMDataModule("digits", binarize=binarize, batch_size=128)
    options = {"max_epochs": 2, "deterministic": True, **config}
    result = fit(
        model, dm, TrainConfig(**options), out, progress=False, fast=fast, resume=resume,
        accelerator=accelerator, extra_callbacks=callbacks, steps_per_batch=steps_per_batch,
    )  # fmt: skip
    return result, dm


def _nan_loss_at(step: int, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Make the training loss NaN at the ``step``-th call (from 0); returns the call count."""
    real, calls = training_module.training_loss, {"n": 0}

    def nan_at_step(*args, **kwargs) -> dict:
        terms = real(*args, **kwargs)
        if calls["n"] == step:
            terms["loss"] = terms["loss"] * float("nan")
        calls["n"] += 1
        return terms

    monkeypatch.setattr(training_module, "training_loss", nan_at_step)
    return calls


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


@pytest.mark.parametrize("accelerator", ACCELERATORS)
@pytest.mark.parametrize(
    "config",
    [{}, {"gradient_clip": 0.5, "beta": 2.0, "warmup_epochs": 2, "binarize": "dynamic"}],
    ids=["elbo", "clip-warmup-dynamic"],
)
def test_the_whole_step_paths_give_lightnings_automatic_optimizations_results(
    tmp_path: Path, config: dict, accelerator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 2 epochs of 12 steps, 8 steps per Lightning batch (an 8 and a 4), and fit's default (32:
    # all 12 in one) for the fast path; on a GPU's fast path 3 eager warm-up steps, the capture,
    # then graph replays (epoch 0's last, smaller mini-batch eagerly, epoch 1's from a second
    # graph); against Lightning's automatic optimization, one step per batch
    with monkeypatch.context() as patch:
        patch.setattr(trainer_module, "_takes_whole_steps", lambda *args: False)
        automatic, _ = _run(tmp_path / "automatic", fast=False, accelerator=accelerator, **config)
    runs = {
        "one": _run(
            tmp_path / "one", fast=False, steps_per_batch=1, accelerator=accelerator, **config
        ),
        "eager": _run(tmp_path / "eager", fast=False, accelerator=accelerator, **config),
        "fast": _run(
            tmp_path / "fast",
            fast=True,
            accelerator=accelerator,
            steps_per_batch=trainer_module.STEPS_PER_BATCH,
            **config,
        ),  # fmt: skip
    }
    for name, (result, _) in runs.items():
        _assert_same_run(tmp_path / "automatic", tmp_path / name)
        assert (result.best_epoch, result.epochs) == (automatic.best_epoch, automatic.epochs)
    runtime = json.loads((tmp_path / "fast" / "config.json").read_text())["runtime"]
    assert runtime["fast"] is True
    assert json.loads((tmp_path / "eager" / "config.json").read_text())["runtime"]["fast"] is False


@pytest.mark.parametrize(
    ("warmup", "per_epoch"), [(0, 12), (3, 12), (3, 0), (3, float("inf"))], ids=str
)
def test_the_whole_step_loop_takes_each_steps_kl_weight_once_per_batch(
    warmup: int, per_epoch: float
) -> None:
    config = TrainConfig(beta=2.0, warmup_epochs=warmup)
    module = LVMModule(VAE(VAEConfig(64, **SMALL)), config, whole_step=True)
    weights = module._kl_weights(5, 4, per_epoch)
    assert weights == [module.current_kl_weight(step, per_epoch) for step in range(5, 9)]
    if warmup and per_epoch == 12:  # epoch 0 (no trainer): the ramp at 5/12, ..., 8/12 epochs
        assert weights == [kl_weight(config, step / 12) for step in range(5, 9)]
        assert weights == pytest.approx([2 * step / 36 for step in range(5, 9)])


def test_the_guard_acts_within_its_bound_in_a_batch_of_more_steps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _nan_loss_at(2, monkeypatch)
    with pytest.raises(NonFiniteError, match=r"at global step 2 \(epoch 1\)"):
        _run(tmp_path, fast=True, batch_size=16, steps_per_batch=64)  # 64 of 90 steps per batch
    assert calls["n"] == CHECK_EVERY  # read inside the batch, not at its end (step 64)


def test_steps_per_batch_must_be_a_positive_integer(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="steps_per_batch must be a positive integer, got 0"):
        _run(tmp_path, fast=False, steps_per_batch=0)


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
    _nan_loss_at(12, monkeypatch)  # epoch 1 (10 steps per epoch)
    with pytest.raises(NonFiniteError, match=r"loss became non-finite .* global step 12 \(epoch 2"):
        _run(tmp_path, fast=True, max_epochs=3)
    assert _last(tmp_path)["epoch"] == 0
    assert all(torch.isfinite(v).all() for v in _last(tmp_path)["state_dict"].values())


def test_fit_result_type(tmp_path: Path) -> None:
    result, _ = _run(tmp_path, fast=True, max_epochs=1)
    assert isinstance(result, FitResult) and result.epochs == 1 and result.skipped_steps == 0


class _Seen(L.Callback):
    """Records where the training batches live and what serves them."""

    def __init__(self) -> None:
        self.devices: set[str] = set()
        self.loaders: set[str] = set()

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.devices.add(batch["x"].device.type)
        self.loaders.add(type(trainer.train_dataloader).__name__)


@pytest.mark.parametrize("accelerator", ACCELERATORS)
@pytest.mark.parametrize("fast", [False, True], ids=["eager", "fast"])
def test_fit_trains_from_data_resident_on_its_device(
    tmp_path: Path, accelerator: str, fast: bool
) -> None:
    seen = _Seen()
    result, _ = _run(
        tmp_path, fast=fast, binarize="dynamic", accelerator=accelerator, callbacks=(seen,)
    )
    assert seen.devices == {"cuda" if accelerator == "gpu" else "cpu"}
    assert seen.loaders == {"ResidentBatches"}
    assert result.epochs == 2 and len(result.metrics) == 2
    for row in result.metrics:
        for name in ("train/loss", "train/elbo", "train/kl", "val/elbo"):
            assert math.isfinite(row[name]), (name, row)
    assert (tmp_path / "model.safetensors").is_file()


class _PoisonAt(L.Callback):
    """Sets a weight to NaN in place after the batch that reaches global step ``step`` (in
    place, so that a captured CUDA graph reads it too): the next loss is NaN, as when a run
    diverges."""

    def __init__(self, step: int) -> None:
        self.step, self.done = step, False

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step >= self.step and not self.done:
            self.done = True
            with torch.no_grad():
                next(pl_module.model.parameters()).fill_(float("nan"))


@pytest.mark.parametrize("accelerator", ACCELERATORS)
@pytest.mark.parametrize("fast", [False, True], ids=["eager", "fast"])
def test_a_diverging_run_stops_before_any_checkpoint(
    tmp_path: Path, accelerator: str, fast: bool
) -> None:
    # poisoned after epoch 0's first batch of 8 steps: on a GPU's fast path, steps 4+ are graph
    # replays
    with pytest.raises(NonFiniteError, match=r"non-finite .* no checkpoint was written"):
        _run(tmp_path, fast=fast, accelerator=accelerator, callbacks=(_PoisonAt(6),))
    assert not list((tmp_path / "checkpoints").glob("*.ckpt"))
    assert not (tmp_path / "model.safetensors").exists()


class _HostSyncs(L.Callback):
    """Counts the host synchronizations (``torch.cuda.set_sync_debug_mode``) of the training
    steps from the first batch's start to the last batch's end, where they were asked for."""

    def __init__(self) -> None:
        self.where: list[str] = []
        self.steps = 0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        # epoch 2: the warm-up and both captures (epoch 0's full mini-batch, epoch 1's last) done
        if batch_idx == 0 and trainer.current_epoch == 2:
            self.first = trainer.global_step
            self._show = warnings.showwarning
            warnings.showwarning = self._record
            warnings.simplefilter("always")
            torch.cuda.set_sync_debug_mode("warn")

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.current_epoch != 2:
            return
        self.steps = trainer.global_step - self.first  # optimizer steps watched
        if batch_idx + 1 == trainer.num_training_batches:
            torch.cuda.set_sync_debug_mode("default")
            warnings.showwarning = self._show

    def _record(self, message, category, filename, lineno, file=None, line=None) -> None:
        frames = [f for f in traceback.extract_stack() if "torchlvm" in f.filename]
        self.where.append(f"{frames[-1].name}:{frames[-1].lineno}" if frames else filename)


@pytest.mark.cuda
@pytest.mark.skipif(NO_GPU, reason="no GPU")
@pytest.mark.parametrize("fast", [False, True], ids=["eager", "fast"])
def test_fit_on_a_gpu_does_not_synchronize_with_the_host_per_step(
    tmp_path: Path, fast: bool
) -> None:
    syncs = _HostSyncs()
    _run(
        tmp_path, fast=fast, binarize="dynamic", accelerator="gpu", callbacks=(syncs,),
        max_epochs=3,
    )  # fmt: skip
    assert syncs.steps >= 10
    # the guard reads its record at the epoch's last step (and every 32 steps): at most 1 here
    assert len(syncs.where) <= 1, syncs.where


@pytest.mark.cuda
@pytest.mark.skipif(NO_GPU, reason="no GPU")
def test_the_fast_paths_eager_steps_share_one_side_stream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from torchlvm.training import fast_step

    eager, streams = fast_step.WholeStep._eager, []

    def recording(self, x, c, kl_weight) -> None:
        streams.append(torch.cuda.current_stream(x.device).cuda_stream)
        eager(self, x, c, kl_weight)

    monkeypatch.setattr(fast_step.WholeStep, "_eager", recording)
    _run(tmp_path, fast=True, accelerator="gpu")
    # the 3 warm-up steps and epoch 0's last, smaller mini-batch (epoch 1's is captured): one
    # stream made once (a new torch.cuda.Stream per step would come round-robin from torch's
    # pool of streams)
    assert len(streams) == 4 and len(set(streams)) == 1, streams
    assert streams[0] != torch.cuda.default_stream(torch.device("cuda")).cuda_stream


class _StandInGraph:
    """A captured step's stand-in on a CPU: each replay records its static inputs."""

    def __init__(self, whole, shape: torch.Size) -> None:
        self.whole, self.shape, self.replays = whole, shape, []

    def replay(self) -> None:
        static_x, _ = self.whole.inputs[self.shape]
        self.replays.append((static_x.clone(), float(self.whole.kl)))


def test_the_fast_path_captures_the_full_and_the_last_mini_batch_once_each(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from torchlvm.training import fast_step

    def capture(self, x, c):  # what _capture sets up, with a stand-in for the CUDA graph
        self.kl = torch.zeros(()) if self.kl is None else self.kl
        self.inputs[x.shape] = (torch.empty_like(x), None)
        return _StandInGraph(self, x.shape)

    monkeypatch.setattr(fast_step.WholeStep, "_capture", capture)
    monkeypatch.setattr(fast_step.WholeStep, "_on_side_stream", fast_step.WholeStep._eager)
    module = LVMModule(VAE(VAEConfig(64, **SMALL)), TrainConfig(), whole_step=True)
    optimizer = module.configure_optimizers()
    whole = fast_step.WholeStep(module, optimizer, redraw=False, capture=False)
    whole.capture = True  # a CPU's Adam cannot be capturable; the stand-in graph runs nothing
    torch.manual_seed(0)
    epochs = [[torch.rand(8, 64).round() for _ in range(4)] + [torch.rand(3, 64).round()]] * 2
    for epoch, batches in enumerate(epochs):
        for x in batches:
            whole(x, None, 0.5 + epoch)
    # epoch 0: 3 warm-up steps, the capture of 8 rows (replayed at once), the 3 rows eagerly;
    # epoch 1: 4 replays, the capture of 3 rows (replayed at once)
    assert whole.eager_steps == 4 and whole.eager_shapes == {(8, 64): 3, (3, 64): 1}
    full, last = whole.graphs[torch.Size((8, 64))], whole.graphs[torch.Size((3, 64))]
    assert [kl for _, kl in full.replays] == [0.5] + [1.5] * 4
    assert [kl for _, kl in last.replays] == [1.5]
    for (x, _), batch in zip(full.replays, epochs[0][3:4] + epochs[1][:4], strict=True):
        assert torch.equal(x, batch)
    assert torch.equal(last.replays[0][0], epochs[1][4])
    whole(torch.rand(5, 64).round(), None, 1.5)  # a third shape: at most MAX_GRAPHS, eagerly
    assert len(whole.graphs) == fast_step.MAX_GRAPHS and whole.eager_steps == 5
