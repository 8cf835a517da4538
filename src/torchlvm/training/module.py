"""``LVMModule``: any torchlvm model paired with a :class:`TrainConfig` as a LightningModule.

Training minimizes the batch mean of the per-example ``"loss"`` of :mod:`torchlvm.training.losses`
with Adam, and reports per-epoch means (nats per example) of every term: ``train/loss``,
``train/elbo``, ``train/log_lik``, ``train/kl`` (``train/iwae`` for IWAE, ``train/reconstruction``
for the autoencoder). Validation logs the batch means of the objective's registered validation
terms as ``val/<name>`` (:mod:`torchlvm.training.objectives`; the true bound whatever the training
objective: ``val/elbo``, ``val/log_lik``, ``val/kl``, ``val/iwae_<k>`` for IWAE,
``val/reconstruction`` for the autoencoder).

Non-finite guard (:mod:`torchlvm.training.guard`): before each optimizer step the loss and the
gradient norms are checked on the device; with fused Adam a bad step's update is skipped on the
device (``found_inf``) and the flag is read every few steps and at each epoch's last step, so a
step has no host synchronization. ``on_nonfinite="stop"`` raises
:class:`~torchlvm.errors.NonFiniteError` naming the bad step (whose update never happened) before
the epoch's validation and checkpoint; ``"skip"`` counts it in ``train/skipped_steps``. The epoch
means of the logged terms are accumulated on the device, without the bad steps.

Whole-step path (``whole_step``; ``fit``'s default for one process): each optimizer step is one
call of :class:`~torchlvm.training.fast_step.WholeStep` under manual optimization (captured as a
CUDA graph with ``fast``), and a batch from resident data holds several mini-batches
(:mod:`torchlvm.training.resident`), split here and stepped in order: the same steps and draws
as one mini-batch per batch, with Lightning's per-batch work paid once per batch.

Speed: Adam runs fused (one kernel over all parameters, ``fused=True``) where the parameters'
device supports it, 4-5× faster than the per-parameter loop on a CPU; ``compile=True`` passes the
training loss through ``torch.compile`` (measured: it does not pay on a CPU for MLPs this size).
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from lightning.pytorch.core.optimizer import LightningOptimizer
from torch import Tensor

from torchlvm.training.config import TrainConfig
from torchlvm.training.epoch_sums import EpochSums
from torchlvm.training.fast_step import WholeStep
from torchlvm.training.guard import CHECK_EVERY, NonFiniteGuard
from torchlvm.training.losses import kl_weight, no_argument_validation, training_loss
from torchlvm.training.objectives import check_objective, get_objective, monitor


class LVMModule(L.LightningModule):
    """Trains ``model`` with the objective and optimizer settings of ``config``.

    Args:
        model: a :class:`~torchlvm.protocol.LatentVariableModel` (VAE, CVAE) or an autoencoder.
        config: the run's settings.
        compile: pass the training loss through ``torch.compile``.
        fast: run the whole step as one function under manual optimization, captured as a CUDA
            graph on a GPU (:mod:`torchlvm.training.fast_step`).
        whole_step: the whole step as one function under manual optimization, not captured
            (implied by ``fast``); a batch may hold several ``config.batch_size`` mini-batches.
        redraw: with ``fast`` or ``whole_step``, draw the dynamic binarization inside the step
            (the training batches then hold intensities).

    Raises:
        ConfigError: if the objective does not suit the model.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        config: TrainConfig,
        *,
        compile: bool = False,
        fast: bool = False,
        whole_step: bool = False,
        redraw: bool = False,
    ) -> None:
        super().__init__()
        check_objective(model, config.objective)
        self.model = model
        self.config = config
        self._compiled_loss = torch.compile(training_loss) if compile else None
        self.compiled = compile
        self.guard = NonFiniteGuard(config.on_nonfinite, config.lr)
        self.epoch_sums = EpochSums()
        self._pending: tuple[tuple[str, ...], Tensor, int, Tensor] | None = None
        self.whole_step = fast or whole_step
        self.automatic_optimization = not self.whole_step
        self.fast, self.redraw = fast, redraw
        self._whole: WholeStep | None = None
        self._epoch_step = 0  # optimizer steps of the whole-step path so far in this epoch
        self._unlogged_epoch: int | None = None  # an epoch trained whose means are not logged

    # -- training ----------------------------------------------------------------------------

    def configure_optimizers(self) -> torch.optim.Optimizer:
        params = list(self.model.parameters())
        fused = all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in params)
        graph = self.fast and all(p.device.type == "cuda" for p in params)
        return torch.optim.Adam(params, lr=self.config.lr, fused=fused or None, capturable=graph)

    def current_kl_weight(self, step: int, per_epoch: float | None = None) -> float:
        """β times the warm-up ramp at the epoch's ``step`` of ``per_epoch`` (default: the
        epoch's batches), epochs done counted in fractions."""
        if self.config.warmup_epochs == 0:
            return self.config.beta
        per_epoch = self.trainer.num_training_batches if per_epoch is None else per_epoch
        return self._kl_weights(step, 1, per_epoch)[0]

    def _kl_weights(self, start: int, steps: int, per_epoch: float) -> list[float]:
        """:meth:`current_kl_weight` at the epoch's steps ``start, ..., start + steps - 1``, the
        epoch read once (the whole-step loop's weights, per Lightning batch)."""
        config, epoch = self.config, self.current_epoch
        if config.warmup_epochs == 0:
            return [config.beta] * steps
        if not 0 < per_epoch < float("inf"):
            return [kl_weight(config, epoch)] * steps
        return [kl_weight(config, epoch + step / per_epoch) for step in range(start, start + steps)]

    def on_train_epoch_start(self) -> None:
        self.epoch_sums.reset()
        self._pending = None
        self._epoch_step = 0

    def training_terms(
        self, x: Tensor, c: Tensor | None, kl_weight: float | Tensor
    ) -> dict[str, Tensor]:
        """The per-example terms ``(B,)`` of the training objective on the batch ``x``
        ``(B, D)``, its distributions built without argument validation (no host reads)."""
        loss_fn = self._compiled_loss or training_loss
        with no_argument_validation():
            return loss_fn(self.model, x, c, self.config, kl_weight=kl_weight)

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor | None:
        if self.whole_step:
            return self._whole_steps(batch)
        x, c = batch["x"], batch.get("c")
        terms = self.training_terms(x, c, self.current_kl_weight(batch_idx))
        loss = terms["loss"].mean()
        sums = torch.stack(list(terms.values())).detach().sum(-1)  # (T,): one op, not T
        self._pending = (tuple(terms), sums, x.shape[0], loss.detach())
        return loss

    def _whole_steps(self, batch: dict[str, Tensor]) -> None:
        """One optimizer step per ``config.batch_size`` rows of ``batch``, in order; the
        per-step Python is the least it can be (the KL weights and the epoch's step count are
        per batch), as on a GPU's fast path it bounds the steps/s (issue 15)."""
        optimizer = self.optimizers()
        assert isinstance(optimizer, LightningOptimizer)
        xs = batch["x"].split(self.config.batch_size)  # S × (B, D) views
        c = batch.get("c")
        cs = [None] * len(xs) if c is None else c.split(self.config.batch_size)
        if self._whole is None:
            capture = self.fast and xs[0].device.type == "cuda"
            self._whole = WholeStep(self, optimizer.optimizer, redraw=self.redraw, capture=capture)
        loader = self.trainer.train_dataloader
        per_epoch = getattr(loader, "steps_per_epoch", self.trainer.num_training_batches)
        weights = self._kl_weights(self._epoch_step, len(xs), per_epoch)
        steps = list(zip(xs, cs, weights, strict=True))
        whole, before, after = self._whole, optimizer._on_before_step, optimizer._on_after_step
        for first in range(0, len(steps), CHECK_EVERY):
            if first:  # the guard's bound holds in a batch of more than CHECK_EVERY steps
                self.guard.check(self.current_epoch)
            for x, c, weight in steps[first : first + CHECK_EVERY]:
                before()  # Lightning's step count (global_step), as .step()
                whole(x, c, weight)  # adds to the epoch sums itself
                after()
        self._epoch_step += len(xs)
        # the loggers' step (metrics.csv's "step") counts optimizer steps, as at one per batch;
        # Lightning adds the batch's last
        self.trainer.fit_loop.epoch_loop._batches_that_stepped += len(xs) - 1

    def position(self) -> tuple[int, int]:
        """(global step, epoch) of the step in progress, as the non-finite guard names it."""
        return self.global_step, self.current_epoch

    @property
    def skipped_steps(self) -> int:
        """Updates skipped for a non-finite loss or gradient so far in the run."""
        return self.guard.skipped_steps

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        if self._pending is None:
            return
        names, sums, n, loss = self._pending
        self._pending = None
        optimizer = getattr(optimizer, "_optimizer", optimizer)  # a LightningOptimizer's own
        finite = self.guard.observe(optimizer, loss, self.position)
        self.epoch_sums.add(names, sums, finite, n)

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        last = batch_idx + 1 >= self.trainer.num_training_batches  # before validation, checkpoint
        self.guard.check(self.current_epoch, now=last)
        if last:
            self._unlogged_epoch = self.current_epoch

    def on_validation_epoch_end(self) -> None:
        if not self.trainer.sanity_checking:
            self._log_train_epoch()

    def on_train_epoch_end(self) -> None:
        self._log_train_epoch()  # an epoch without validation

    def _log_train_epoch(self) -> None:
        """Log the means of the training epoch whose last step is done, once: with its
        validation's values when it has a validation, so that Lightning hands both to the
        loggers in one call. (Lightning logs ``on_train_epoch_end``'s values only after the
        validation's and after the checkpoints: a Ctrl-C between them left an epoch of
        ``last.ckpt`` with a metrics.csv row of ``val/`` columns only, for good.)"""
        if self._unlogged_epoch != self.current_epoch:
            return  # mid-epoch, or logged already
        self._unlogged_epoch = None
        for name, mean in self.epoch_sums.means().items():  # one host read per epoch
            self.log(f"train/{name}", mean, on_epoch=True, sync_dist=True)
        if self.config.warmup_epochs:
            weight = kl_weight(self.config, self.current_epoch + 1.0)
            self.log("train/kl_weight", weight, on_epoch=True)
        if self.config.on_nonfinite == "skip":
            self.log("train/skipped_steps", float(self.skipped_steps), on_epoch=True)

    # -- validation --------------------------------------------------------------------------

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        x, c = batch["x"], batch.get("c")
        size = x.shape[0]
        terms = get_objective(self.config.objective).validation(self.model, x, c, self.config)
        shown = monitor(self.config)[0]
        for name, value in terms.items():
            self.log(
                f"val/{name}",
                value.mean(),
                on_step=False,
                on_epoch=True,
                batch_size=size,
                sync_dist=True,
                prog_bar=f"val/{name}" == shown,
            )

    # -- checkpoints hold only plain values --------------------------------------------------

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        world_size = int(self.trainer.world_size) if self._trainer is not None else 1
        checkpoint["torchlvm"] = {
            "skipped_steps": int(self.skipped_steps),
            "world_size": world_size,
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.guard.skipped_steps = int(checkpoint.get("torchlvm", {}).get("skipped_steps", 0))
