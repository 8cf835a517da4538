"""The whole training step as one function of static buffers: fit's step for one process, run
eagerly, and its fast path, captured once as a CUDA graph and replayed (issue 15;
``fit(fast=True)``).

One step — dynamic binarization (``rand_like(x) < x``), the objective's forward pass, backward
of the batch mean (per-example weights 1/B, no mean taken), the non-finite guard
(:mod:`torchlvm.training.guard`, its flag and record updated in place), the epoch sums of the
logged terms (:mod:`torchlvm.training.epoch_sums`, also in place), gradient clipping and the
fused Adam update (``capturable=True``; :mod:`torchlvm.training.adam_update`) — is
:meth:`WholeStep.step`, a function of the batch, of a 0-dim KL-weight tensor and of tensors it
updates in place. The LightningModule runs it under manual optimization, several steps per
Lightning batch:

- on CUDA with ``fast``, after :data:`WARMUP_STEPS` eager steps on a side stream (real training
  steps, which also create Adam's state and the guard's buffers), the step of a full batch is
  captured into a ``torch.cuda.CUDAGraph`` with static input buffers and replayed for every later
  full batch: one graph launch per step, the random draws (binarization, z noise) drawn inside
  the graph from the CUDA generator. An epoch's last, smaller mini-batch runs eagerly once and
  is then captured too, as a second graph (its own static inputs and memory pool; the two share
  the parameters, Adam's state, the guard's record, the epoch sums and the KL weight, all
  updated in place), so that no eager step (~5 ms of host time) is left per epoch. Should an op
  of a model refuse capture (a host read), the step warns and stays eager.
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

from torchlvm.training.adam_update import adam_update

if TYPE_CHECKING:
    from torchlvm.training.module import LVMModule

WARMUP_STEPS = 3  # eager steps before capture (cuBLAS workspaces, Adam state, guard buffers)
MAX_GRAPHS = 2  # batch shapes captured: the full mini-batch and an epoch's last, smaller one


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
        self.clip = module.config.gradient_clip
        self._weights: dict[torch.Size, Tensor] = {}  # 1/B per batch shape (see _mean_weights)
        if capture:  # a resumed optimizer state may say otherwise; a graph needs it
            for group in optimizer.param_groups:
                group["capturable"] = True
        self.eager_steps = 0
        self.eager_shapes: dict[torch.Size, int] = {}  # eager steps per batch shape
        self.graphs: dict[torch.Size, Any] = {}  # the captured step per batch shape (or None)
        self.inputs: dict[torch.Size, tuple[Tensor, Tensor | None]] = {}  # its static x, c
        self.kl: Tensor | None = None  # the static KL weight every graph reads
        self.static_kl = float("nan")  # its value
        self.side: Any = None  # the side stream of the eager steps of a captured step

    def step(self, x: Tensor, c: Tensor | None, kl_weight: float | Tensor) -> None:
        """One update, its terms added to the module's epoch sums (all in place). ``kl_weight``
        is a float when eager (no kernel, and the objective's β = 1 shortcut applies) and a 0-dim
        tensor under capture (a graph replays with the value it reads)."""
        module = self.module
        if self.redraw:  # x ~ Bernoulli(p) as u < p, u ~ U[0, 1), written in u's dtype
            x = torch.rand_like(x).lt_(x)
        terms = module.training_terms(x, c, kl_weight)
        loss = terms["loss"]  # (B,)
        loss.backward(self._mean_weights(loss))  # ∇ of the batch mean, without taking it
        finite = module.guard.observe(self.optimizer, loss, module.position)
        if self.clip is not None:
            torch.nn.utils.clip_grad_norm_(self.params, self.clip, foreach=True)
        adam_update(self.optimizer)  # optimizer.step(), its Python trimmed
        module.epoch_sums.add_terms(terms, finite)

    def _mean_weights(self, loss: Tensor) -> Tensor:
        """``(B,)`` of 1/B, what ``loss.mean()`` sends back to each example (1 / B rounded in
        the loss's dtype, as the mean's backward rounds it): made once per batch size."""
        weights = self._weights.get(loss.shape)
        if weights is None:
            weights = self._weights[loss.shape] = torch.ones_like(loss.detach()) / loss.numel()
        return weights

    def __call__(self, x: Tensor, c: Tensor | None, kl_weight: float) -> None:
        """Run the step on a batch: replayed from the graph of its shape once captured."""
        if not self.capture:
            return self._eager(x, c, kl_weight)
        shape = x.shape
        if shape not in self.graphs and self._due(shape):
            try:
                self.graphs[shape] = self._capture(x, c)
            except RuntimeError as err:  # an op that cannot be captured: stay eager, say so
                return self._not_captured(x, c, kl_weight, err)
        graph = self.graphs.get(shape)
        if graph is None:
            return self._on_side_stream(x, c, kl_weight)
        static_x, static_c = self.inputs[shape]
        static_x.copy_(x)
        if static_c is not None and c is not None:
            static_c.copy_(c)
        if kl_weight != self.static_kl:  # a kernel only when the weight changes (warm-up)
            assert self.kl is not None
            self.kl.fill_(kl_weight)
            self.static_kl = kl_weight
        graph.replay()
        return None

    def _not_captured(
        self, x: Tensor, c: Tensor | None, kl_weight: float, err: RuntimeError
    ) -> None:
        """After a failed capture: the batches of ``x``'s shape run eagerly, and every batch
        does when no graph was captured before (a graph already captured stays)."""
        if self.graphs:
            self.graphs[x.shape] = None
            what = f"batches of {x.shape[0]} rows run eagerly"
        else:
            self.capture = False
            what = "the fast path runs eagerly"
        warnings.warn(f"CUDA graph capture failed, {what}: {err}", RuntimeWarning, stacklevel=3)
        return (
            self._on_side_stream(x, c, kl_weight) if self.capture else self._eager(x, c, kl_weight)
        )

    def _due(self, shape: torch.Size) -> bool:
        """Whether to capture the step of batches of ``shape`` now: the first shape after
        :data:`WARMUP_STEPS` eager steps, another one (an epoch's last, smaller mini-batch,
        else one eager step per epoch: ~5 ms of host time on a GPU machine) once it has run
        eagerly once, at most :data:`MAX_GRAPHS` shapes."""
        if len(self.graphs) >= MAX_GRAPHS:
            return False
        return self.eager_shapes.get(shape, 0) >= (1 if self.graphs else WARMUP_STEPS)

    def _eager(self, x: Tensor, c: Tensor | None, kl_weight: float) -> None:
        for p in self.params:  # zero_grad(set_to_none=True) without its ~15 µs of host work
            p.grad = None
        self.eager_steps += 1
        if self.capture:  # what _due counts; on a CPU nothing is captured
            self.eager_shapes[x.shape] = self.eager_shapes.get(x.shape, 0) + 1
        self.step(x, c, float(kl_weight))

    def _on_side_stream(self, x: Tensor, c: Tensor | None, kl_weight: float) -> None:
        if self.side is None:  # one stream for the run, not one per step
            self.side = torch.cuda.Stream(device=x.device)
        side = self.side
        side.wait_stream(torch.cuda.current_stream(x.device))
        with torch.cuda.stream(side):
            self._eager(x, c, kl_weight)
        torch.cuda.current_stream(x.device).wait_stream(side)

    def _capture(self, x: Tensor, c: Tensor | None) -> Any:
        """Capture the step of batches shaped as ``x`` (and ``c``) into a new CUDA graph (its own
        memory pool) reading new static inputs; returns it. The grads are dropped first, so that
        its backward writes grads of its own (another graph's keep their addresses)."""
        if self.kl is None:
            self.kl = torch.zeros((), dtype=x.dtype, device=x.device)
        static = (torch.empty_like(x), None if c is None else torch.empty_like(c))
        for p in self.params:
            p.grad = None
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self.step(static[0], static[1], self.kl)
        self.inputs[x.shape] = static
        return graph  # capture runs nothing: __call__ replays it for this batch too
