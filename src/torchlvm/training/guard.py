"""The non-finite guard of a training step: no update from a NaN or infinite loss or gradient.

Each step the loss and the gradients' norms are checked on the device (one ``_foreach_norm``
pass, what the fused Adam step needs anyway), and the result is a device flag, not a Python bool:

- With Adam ``fused=True`` (CPU and CUDA parameters), the flag is handed to the optimizer as
  ``found_inf`` — the mechanism ``torch.amp.GradScaler`` uses — and the fused kernel leaves the
  parameters, both moments and the step count untouched for a flagged step, on the device, with no
  host synchronization. The guard reads its on-device record (first flagged step, flagged count)
  only every :data:`CHECK_EVERY` steps and at the last step of every epoch, before validation and
  the epoch's checkpoint: under ``on_nonfinite="stop"`` the run stops within that many steps of
  the bad one, whose update never happened, and no checkpoint or export ever follows it.
- With any other optimizer the flag is read at once (one host sync per step) and the gradients of
  a bad step are dropped (Adam skips parameters without one).

The epoch means of the logged terms leave out flagged steps, on the device.
"""

from __future__ import annotations

import torch
from torch import Tensor

from torchlvm.errors import NonFiniteError

CHECK_EVERY = 32
"""Steps between the guard's reads of its on-device record (the bound on acting late)."""
_NEVER = 2**62  # the record's key of the first flagged step when there is none


def loss_and_grad_norms(loss: Tensor, params: list[Tensor]) -> Tensor:
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


def skips_on_device(optimizer: torch.optim.Optimizer) -> bool:
    """Whether ``optimizer`` honours ``found_inf`` (a fused Adam or AdamW)."""
    return isinstance(optimizer, (torch.optim.Adam, torch.optim.AdamW)) and all(
        group.get("fused") for group in optimizer.param_groups
    )


class NonFiniteGuard:
    """The guard of one run (see the module docstring).

    Args:
        policy: ``"stop"`` (raise :class:`NonFiniteError`) or ``"skip"`` (count and train on).
        lr: the learning rate, named in the message.
    """

    def __init__(self, policy: str, lr: float) -> None:
        self.policy, self.lr = policy, lr
        self._skipped_before = 0  # flagged steps already counted on the host
        self._record: dict[str, Tensor] = {}  # the device record, made at the first step
        self._unchecked = 0

    @property
    def skipped_steps(self) -> int:
        """Updates skipped so far (reads the device record)."""
        skipped = self._record.get("skipped")
        return self._skipped_before + (0 if skipped is None else int(skipped))

    @skipped_steps.setter
    def skipped_steps(self, value: int) -> None:
        self._skipped_before, self._record = int(value), {}

    def observe(
        self, optimizer: torch.optim.Optimizer, loss: Tensor, step: int, epoch: int
    ) -> Tensor:
        """Check one step before its update; returns the device flag "finite".

        Raises:
            NonFiniteError: at once, for an optimizer that cannot skip on the device, under "stop".
        """
        params = [p for group in optimizer.param_groups for p in group["params"]]
        finite = torch.isfinite(loss_and_grad_norms(loss, params)).all()
        if skips_on_device(optimizer):
            optimizer.found_inf = self._update(finite, loss, step)  # type: ignore[attr-defined]
            return finite
        if bool(finite):  # the one host sync per step of this path
            return finite
        if self.policy == "stop":
            raise NonFiniteError(self.message(not bool(torch.isfinite(loss)), step, epoch))
        for p in params:
            p.grad = None
        self._skipped_before += 1
        return finite

    def _update(self, finite: Tensor, loss: Tensor, step: int) -> Tensor:
        """Update the device record in place (so that a captured CUDA graph updates it too), in
        six small kernels; returns ``found_inf`` (1.0 for a flagged step, else 0.0).

        The first flagged step is kept as the key 2·step + [loss finite], the minimum over the
        flagged steps (``never`` for none), which :meth:`check` decodes."""
        record = self._record
        if not record:  # one host-to-device copy per run, not per step
            device = loss.device
            record["step"] = torch.tensor(step, device=device)
            record["skipped"] = torch.zeros((), device=device)
            record["found_inf"] = torch.zeros((), device=device)
            record["never"] = torch.tensor(_NEVER, device=device)
            record["first"] = record["never"].clone()
        torch.logical_not(finite, out=record["found_inf"])
        record["skipped"].add_(record["found_inf"])
        key = torch.add(torch.isfinite(loss), record["step"], alpha=2)  # 2·step + [loss finite]
        torch.minimum(
            record["first"], torch.where(finite, record["never"], key), out=record["first"]
        )
        record["step"].add_(1)
        self._unchecked += 1
        return record["found_inf"]

    def check(self, epoch: int, *, now: bool = False) -> None:
        """Read the device record when due (every :data:`CHECK_EVERY` steps) or ``now``.

        Raises:
            NonFiniteError: under "stop", naming the first flagged step.
        """
        if not self._record or not (now or self._unchecked >= CHECK_EVERY):
            return
        self._unchecked = 0
        if self.policy != "stop":
            return
        first = int(self._record["first"])
        if first != _NEVER:
            step, loss_finite = divmod(first, 2)
            raise NonFiniteError(self.message(not loss_finite, step, epoch))

    def message(self, loss_bad: bool, step: int, epoch: int) -> str:
        what = "loss" if loss_bad else "gradient"
        return (
            f"training stopped: the {what} became non-finite (NaN or inf) at global step {step} "
            f"(epoch {epoch}); no update was applied. Likely causes: a learning rate too high "
            f"(lr={self.lr:g}; lower it or set a gradient clip), a Gaussian likelihood with "
            "learned variance collapsing onto the data (use fixed variance), or NaN in the data"
        )
