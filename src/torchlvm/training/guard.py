"""The non-finite guard of a training step: no update from a NaN or infinite loss or gradient.

Each step the loss and the gradients are checked on the device, and the result is a device flag,
not a Python bool:

- With Adam ``fused=True`` (CPU and CUDA parameters), the check is the one ``torch.amp.GradScaler``
  makes (``torch._amp_foreach_non_finite_check_and_unscale_``, one pass over the whole list with
  an inverse scale of 1, which leaves every value as it is) and the flag is handed to the
  optimizer as ``found_inf``: the fused kernel leaves the parameters, both moments and the step
  count untouched for a flagged step, on the device, with no host synchronization. The guard
  reads its on-device record (steps before the first flagged one, whether its loss was bad,
  the flagged count) only every :data:`CHECK_EVERY` steps and at the last step of every epoch,
  before validation and the epoch's checkpoint: under ``on_nonfinite="stop"`` the run stops
  within that many steps of the bad one, whose update never happened, and no checkpoint or
  export ever follows it. Six small in-place kernels per step, so a step captured as a CUDA
  graph (:mod:`torchlvm.training.fast_step`) updates the same record on every replay.
- With any other optimizer the flag is read at once (one host sync per step) and the gradients of
  a bad step are dropped (Adam skips parameters without one).

The epoch means of the logged terms leave out flagged steps, on the device.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from torchlvm._epochs import shown
from torchlvm.errors import NonFiniteError

CHECK_EVERY = 32
"""Steps between the guard's reads of its on-device record (the bound on acting late)."""


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


class _Record:
    """The guard's device record and its flags, updated in place by every step (so that a
    captured CUDA graph updates them too); made at the first step, on the loss's device.

    ``flags`` is ``[1, loss bad, found_inf]`` (float32, as the check and fused Adam take it),
    ``alive`` ``[a, a, 1]`` with a = 1 until the first flagged step, and ``counts``
    ``[steps up to the first flagged one, its loss bad, flagged steps]`` (float64: exact counts
    to 2^53), so that one ``addcmul_`` (counts += flags · alive) updates all three.
    """

    def __init__(self, device: torch.device, start: int) -> None:
        self.start = start  # the global step of the record's first step
        self.flags = torch.tensor([1.0, 0.0, 0.0], device=device)
        self.inv_scale = torch.ones((), device=device)
        self.alive = torch.ones(3, dtype=torch.float64, device=device)
        self.counts = torch.zeros(3, dtype=torch.float64, device=device)
        self.finite = torch.ones((), dtype=torch.bool, device=device)
        # views made once: slicing is an op per step too
        self.bad, self.loss_bad, self.found_inf = self.flags[1:], self.flags[1], self.flags[2]
        self.alive_steps = self.alive[:2]

    def update(self, loss: Tensor, grads: list[Tensor]) -> None:
        """Flag this step's loss and gradients and add the step to the record: six kernels."""
        check = torch._amp_foreach_non_finite_check_and_unscale_  # sets 1.0 on a NaN or inf
        self.bad.zero_()
        check([loss], self.loss_bad, self.inv_scale)
        check([loss, *grads], self.found_inf, self.inv_scale)
        self.counts.addcmul_(self.flags, self.alive)
        self.alive_steps.addcmul_(self.alive_steps, self.found_inf, value=-1)  # a ← a·(1 − f)
        torch.eq(self.found_inf, 0, out=self.finite)

    def read(self) -> tuple[int, int | None, bool]:
        """``(flagged steps, first flagged global step or None, whether its loss was bad)``:
        one host read."""
        steps, loss_bad, flagged = (int(v) for v in self.counts.tolist())
        first = self.start + steps - 1 if flagged else None
        return flagged, first, bool(loss_bad)


def _checkable(loss: Tensor, grads: list[Tensor]) -> bool:
    """Whether one device-side check covers the loss and every gradient (all on one device)."""
    device, strided = loss.device, torch.strided
    return all(g.device == device and g.layout == strided for g in grads)


class NonFiniteGuard:
    """The guard of one run (see the module docstring).

    Args:
        policy: ``"stop"`` (raise :class:`NonFiniteError`) or ``"skip"`` (count and train on).
        lr: the learning rate, named in the message.
    """

    def __init__(self, policy: str, lr: float) -> None:
        self.policy, self.lr = policy, lr
        self._skipped_before = 0  # flagged steps already counted on the host
        self._record: _Record | None = None  # the device record, made at the first step
        self._unchecked = 0

    @property
    def skipped_steps(self) -> int:
        """Updates skipped so far (reads the device record)."""
        flagged = 0 if self._record is None else self._record.read()[0]
        return self._skipped_before + flagged

    @skipped_steps.setter
    def skipped_steps(self, value: int) -> None:
        self._skipped_before, self._record = int(value), None

    def observe(
        self, optimizer: torch.optim.Optimizer, loss: Tensor, where: Callable[[], tuple[int, int]]
    ) -> Tensor:
        """Check one step before its update; returns the device flag "finite" (a 0-dim bool).
        ``where()`` gives the step's (global step, epoch), asked only when needed (the record's
        first step, a message): Lightning's counters take microseconds per read.

        Raises:
            NonFiniteError: at once, for an optimizer that cannot skip on the device, under "stop".
        """
        params = [p for group in optimizer.param_groups for p in group["params"]]
        grads = [g for p in params if (g := p.grad) is not None]
        if skips_on_device(optimizer) and _checkable(loss, grads):
            record = self._record
            if record is None:  # one host-to-device copy per run, not per step
                record = self._record = _Record(loss.device, where()[0])
            with torch.no_grad():  # the check writes its inputs (times 1) in place
                record.update(loss, grads)
            self._unchecked += 1
            optimizer.found_inf = record.found_inf  # type: ignore[attr-defined]
            return record.finite
        finite = torch.isfinite(loss_and_grad_norms(loss, params)).all()
        if bool(finite):  # the one host sync per step of this path
            return finite
        if self.policy == "stop":
            raise NonFiniteError(self.message(not bool(torch.isfinite(loss)), *where()))
        for p in params:
            p.grad = None
        self._skipped_before += 1
        return finite

    def check(self, epoch: int, *, now: bool = False) -> None:
        """Read the device record when due (every :data:`CHECK_EVERY` steps) or ``now``.

        Raises:
            NonFiniteError: under "stop", naming the first flagged step.
        """
        if self._record is None or not (now or self._unchecked >= CHECK_EVERY):
            return
        self._unchecked = 0
        if self.policy != "stop":
            return
        _, first, loss_bad = self._record.read()
        if first is not None:
            raise NonFiniteError(self.message(loss_bad, first, epoch))

    def message(self, loss_bad: bool, step: int, epoch: int) -> str:
        what = "loss" if loss_bad else "gradient"
        causes = (
            f"Likely causes: a learning rate too high (lr={self.lr:g}; lower it or set a "
            "gradient clip), a Gaussian likelihood with learned variance collapsing onto the "
            "data (use fixed variance), or NaN in the data"
        )
        if step == 0:  # no update has happened yet: neither the lr nor a collapse can be it
            causes = (
                "This is the first step, so the learning rate is not the cause; the data are: "
                "values too large for float32 (beyond about 1e19 their squares overflow; "
                "standardize them: torchlvm train --standardize, sklearn's StandardScaler) or "
                "NaN in them"
            )
        return (
            f"training stopped: the {what} became non-finite (NaN or inf) at global step {step} "
            f"(epoch {shown(epoch)}); no update was applied. {causes}"
        )
