"""The whole training step as one function of static buffers: fit's step for one process, run
eagerly, and its fast path, captured once as a CUDA graph and replayed (issue 15;
``fit(fast=True)``).

One step — dynamic binarization (``rand_like(x) < x``), the objective's forward pass, backward,
the non-finite guard (:mod:`torchlvm.training.guard`, its flag and record updated in place),
the epoch sums of the logged terms (:mod:`torchlvm.training.epoch_sums`, also in place),
gradient clipping and the fused Adam update (``capturable=True``) — is :meth:`WholeStep.step`, a
function of the batch, of a 0-dim KL-weight tensor and of tensors it updates in place. The
LightningModule runs it under manual optimization, several steps per Lightning batch:

- on CUDA with ``fast``, after :data:`WARMUP_STEPS` eager steps on a side stream (real training
  steps, which also create Adam's state and the guard's buffers), the step of a full batch is
  captured into a ``torch.cuda.CUDAGraph`` with static input buffers and replayed for every later
  full batch: one graph launch per step, the random draws (binarization, z noise) drawn inside
  the graph from the CUDA generator. The last, smaller batch of an epoch runs eagerly. Should an
  op of a model refuse capture (a host read), the step warns and stays eager.
- otherwise (and always on a CPU), the same function runs eagerly: the code a GPU captures is the
  code a CPU runs and tests.

The step constructs its distributions without argument validation, as every training step does
(``LVMModule.training_terms``, :func:`~torchlvm.training.losses.no_argument_validation`:
validation reads tensors on the host, which a graph cannot); a non-finite value still cannot
slip through, as the guard flags a non-finite loss or gradient. Reference: PyTorch's "CUDA
Graphs — whole network capture" (torch.cuda.graphs).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

if TYPE_CHECKING:
    from torchlvm.training.module import LVMModule

WARMUP_STEPS = 3  # eager steps before capture (cuBLAS workspaces, Adam state, guard buffers)


class WholeStep:
    """The whole training step of ``module`` with ``optimizer`` (see the module docstring).

    Args:
        module: the LVMModule (its model, config and guard).
        optimizer: fused Adam over the model's parameters (``capturable=True`` on CUDA).
        redraw: draw x ~ Bernoulli(x) inside the step (dynamic binarization).
        capture: capture and replay a CUDA graph (only on CUDA).
    """

    def __init__(
        self, module: LVMModule, optimizer: torch.optim.Optimizer, *, redraw: bool, capture: bool
    ) -> None:
        self.module, self.optimizer, self.redraw, self.capture = module, optimizer, redraw, capture
        self.params = [p for group in optimizer.param_groups for p in group["params"]]
        if capture:  # a resumed optimizer state may say otherwise; a graph needs it
            for group in optimizer.param_groups:
                group["capturable"] = True
        self.eager_steps = 0
        self.graph: Any = None
        self.static: dict[str, Any] = {}
        self.static_kl = float("nan")  # the KL weight in static["kl"]
        self.side: Any = None  # the side stream of the eager steps of a captured step

    def step(self, x: Tensor, c: Tensor | None, kl_weight: float | Tensor) -> None:
        """One update, its terms added to the module's epoch sums (all in place). ``kl_weight``
        is a float when eager (no kernel, and the objective's β = 1 shortcut applies) and a 0-dim
        tensor under capture (a graph replays with the value it reads)."""
        module, config = self.module, self.module.config
        if self.redraw:  # x ~ Bernoulli(p) as u < p, u ~ U[0, 1)
            x = (torch.rand_like(x) < x).to(x.dtype)
        terms = module.training_terms(x, c, kl_weight)
        loss = terms["loss"].mean()
        loss.backward()
        finite = module.guard.observe(
            self.optimizer, loss.detach(), module.global_step, module.current_epoch
        )
        if config.gradient_clip is not None:
            torch.nn.utils.clip_grad_norm_(self.params, config.gradient_clip, foreach=True)
        self.optimizer.step()
        sums = torch.stack(list(terms.values())).detach().sum(-1)  # (T,)
        module.epoch_sums.add(tuple(terms), sums, finite, x.shape[0])

    def __call__(self, x: Tensor, c: Tensor | None, kl_weight: float) -> None:
        """Run the step on a batch: replayed from the graph when captured and the batch is full."""
        if not self.capture:
            return self._eager(x, c, kl_weight)
        if self.graph is None and self.eager_steps >= WARMUP_STEPS:
            try:
                self._capture(x, c)
            except RuntimeError as err:  # an op that cannot be captured: stay eager, say so
                message = f"CUDA graph capture failed, the fast path runs eagerly: {err}"
                warnings.warn(message, RuntimeWarning, stacklevel=2)
                self.capture = False
                return self._eager(x, c, kl_weight)
        if self.graph is not None and x.shape == self.static["x"].shape:
            self.static["x"].copy_(x)
            if c is not None:
                self.static["c"].copy_(c)
            if kl_weight != self.static_kl:  # a kernel only when the weight changes (warm-up)
                self.static["kl"].fill_(kl_weight)
                self.static_kl = kl_weight
            self.graph.replay()
            return None
        return self._on_side_stream(x, c, kl_weight)

    def _eager(self, x: Tensor, c: Tensor | None, kl_weight: float) -> None:
        for p in self.params:  # zero_grad(set_to_none=True) without its ~15 µs of host work
            p.grad = None
        self.eager_steps += 1
        self.step(x, c, float(kl_weight))

    def _on_side_stream(self, x: Tensor, c: Tensor | None, kl_weight: float) -> None:
        if self.side is None:  # one stream for the run, not one per step
            self.side = torch.cuda.Stream(device=x.device)
        side = self.side
        side.wait_stream(torch.cuda.current_stream(x.device))
        with torch.cuda.stream(side):
            self._eager(x, c, kl_weight)
        torch.cuda.current_stream(x.device).wait_stream(side)

    def _capture(self, x: Tensor, c: Tensor | None) -> None:
        self.static = {
            "x": torch.empty_like(x),
            "c": None if c is None else torch.empty_like(c),
            "kl": torch.zeros((), dtype=x.dtype, device=x.device),
        }
        self.optimizer.zero_grad(set_to_none=True)  # backward in the graph writes the grads
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self.step(self.static["x"], self.static["c"], self.static["kl"])
        self.graph = graph  # capture runs nothing: __call__ replays it for this batch too
