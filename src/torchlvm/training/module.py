"""``LVMModule``: any torchlvm model paired with a :class:`TrainConfig` as a LightningModule.

Training minimizes the batch mean of the per-example ``"loss"`` of :mod:`torchlvm.training.losses`
with Adam, and reports per-epoch means (nats per example) of every term: ``train/loss``,
``train/elbo``, ``train/log_lik``, ``train/kl`` (``train/iwae`` for IWAE, ``train/reconstruction``
for the autoencoder). Validation logs the batch means of the objective's registered validation
terms as ``val/<name>`` (:mod:`torchlvm.training.objectives`; the true bound whatever the training
objective: ``val/elbo``, ``val/log_lik``, ``val/kl``, ``val/iwae_<k>`` for IWAE,
``val/reconstruction`` for the autoencoder).

Non-finite guard: before each optimizer step the loss and the gradient norm are checked with one
host sync (the only one per step; the epoch means are accumulated on the device). On NaN or inf,
``on_nonfinite="stop"`` raises :class:`~torchlvm.errors.NonFiniteError` before the update, so the
weights stay finite and the last checkpoint is untouched; ``"skip"`` drops the gradients (Adam
skips parameters without one, so the update, moments included, does not happen) and counts it in
``train/skipped_steps``. The check is one pass over the gradients (``torch._foreach_norm``),
about 2% of a step of the reference 784-400-20 VAE on a CPU core; see
``benchmarks/results/train_throughput.md``.

Speed: Adam runs fused (one kernel over all parameters, ``fused=True``) where the parameters'
device supports it, 4-5× faster than the per-parameter loop on a CPU; ``compile=True`` passes the
training loss through ``torch.compile`` (measured: it does not pay on a CPU for MLPs this size).
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch import Tensor

from torchlvm.errors import NonFiniteError
from torchlvm.training.config import TrainConfig
from torchlvm.training.losses import kl_weight, training_loss
from torchlvm.training.objectives import check_objective, get_objective, monitor


class LVMModule(L.LightningModule):
    """Trains ``model`` with the objective and optimizer settings of ``config``.

    Args:
        model: a :class:`~torchlvm.protocol.LatentVariableModel` (VAE, CVAE) or an autoencoder.
        config: the run's settings.

    Raises:
        ConfigError: if the objective does not suit the model.
    """

    def __init__(
        self, model: torch.nn.Module, config: TrainConfig, *, compile: bool = False
    ) -> None:
        super().__init__()
        check_objective(model, config.objective)
        self.model = model
        self.config = config
        self._compiled_loss = torch.compile(training_loss) if compile else None
        self.skipped_steps = 0
        self._names: tuple[str, ...] = ()
        self._sums: Tensor | None = None  # per-term sums of the epoch's finite steps, on device
        self._count = 0
        self._pending: tuple[tuple[str, ...], Tensor, int, Tensor] | None = None

    # -- training ----------------------------------------------------------------------------

    def configure_optimizers(self) -> torch.optim.Optimizer:
        params = list(self.model.parameters())
        fused = all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in params)
        return torch.optim.Adam(params, lr=self.config.lr, fused=fused or None)

    def current_kl_weight(self, batch_idx: int) -> float:
        """β times the warm-up ramp at this step (epochs done, counted in fractions)."""
        if self.config.warmup_epochs == 0:
            return self.config.beta
        per_epoch = self.trainer.num_training_batches
        fraction = batch_idx / per_epoch if 0 < per_epoch < float("inf") else 0.0
        return kl_weight(self.config, self.current_epoch + fraction)

    def on_train_epoch_start(self) -> None:
        self._sums, self._count, self._pending = None, 0, None

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        x, c = batch["x"], batch.get("c")
        loss_fn = self._compiled_loss or training_loss
        terms = loss_fn(self.model, x, c, self.config, kl_weight=self.current_kl_weight(batch_idx))
        loss = terms["loss"].mean()
        sums = torch.stack(list(terms.values())).detach().sum(-1)  # (T,): one op, not T
        self._pending = (tuple(terms), sums, x.shape[0], loss.detach())
        return loss

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        if self._pending is None:
            return
        names, sums, n, loss = self._pending
        self._pending = None
        params = [p for group in optimizer.param_groups for p in group["params"]]
        if bool(torch.isfinite(_loss_and_grad_norms(loss, params)).all()):  # the one host sync
            self._names = names
            self._sums = sums if self._sums is None else self._sums + sums
            self._count += n
            return
        if self.config.on_nonfinite == "stop":
            raise NonFiniteError(self._nonfinite_message(loss))
        for p in params:
            p.grad = None
        self.skipped_steps += 1

    def _nonfinite_message(self, loss: Tensor) -> str:
        what = "loss" if not bool(torch.isfinite(loss)) else "gradient"
        return (
            f"training stopped: the {what} became non-finite (NaN or inf) at global step "
            f"{self.global_step} (epoch {self.current_epoch}); no update was applied. Likely "
            f"causes: a learning rate too high (lr={self.config.lr:g}; lower it or set a "
            "gradient clip), a Gaussian likelihood with learned variance collapsing onto the "
            "data (use fixed variance), or NaN in the data"
        )

    def on_train_epoch_end(self) -> None:
        if self._count and self._sums is not None:
            for name, total in zip(self._names, self._sums / self._count, strict=True):
                self.log(f"train/{name}", total, on_epoch=True, sync_dist=True)
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
        self.skipped_steps = int(checkpoint.get("torchlvm", {}).get("skipped_steps", 0))


def _loss_and_grad_norms(loss: Tensor, params: list[Tensor]) -> Tensor:
    """``[loss, ‖g_1‖, ‖g_2‖, ...]``: finite iff the loss and every gradient are finite.

    One ``_foreach_norm`` pass when the gradients share a device and dtype (what the fused Adam
    step needs anyway), else ``get_total_norm``.
    """
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return loss.reshape(1)
    device, dtype = loss.device, grads[0].dtype
    if all(g.device == device and g.dtype == dtype for g in grads):
        return torch.stack([loss.to(dtype), *torch._foreach_norm(grads)])
    norm = torch.nn.utils.get_total_norm(grads, error_if_nonfinite=False)
    return torch.stack([loss, norm.to(loss)])
