"""One update of a fused ``torch.optim.Adam``, the call its ``step()`` makes, with less Python.

``Adam.step`` runs each call through its profiling wrapper (a ``record_function`` scope, the
step hooks), a grad-mode switch and ``_init_group``, which checks every parameter (sparse,
complex, first-step state) before it calls torch's functional Adam, ``torch.optim.adam.adam``.
For a small model on a CPU that is ~20 µs of a training step in which the plain loop's own
Python is a few hundred (issue 15). :func:`adam_update` makes the same call of the same function
with the lists ``step()`` would build, read afresh from the optimizer's parameter groups and state
at every call (a changed learning rate, a reloaded state apply at once), under ``no_grad`` as
``step()`` runs it, so the kernel, its arguments and the state it updates in place are Adam's own
(bitwise equal, tests/training/test_training_adam_update.py). Wherever ``step()`` would do
more than that call it is called instead: the first step (it creates the state), a parameter
group that is not fused, step hooks, a subclass with its own ``step``, a parameter without a
gradient.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.optim import Adam
from torch.optim import optimizer as _optimizer
from torch.optim.adam import adam


def adam_update(optimizer: torch.optim.Optimizer) -> None:
    """``optimizer.step()``, for a fused Adam without the wrapper's Python (module docstring).

    ``found_inf`` and ``grad_scale``, where set on the optimizer (the non-finite guard sets
    ``found_inf``), are passed on as ``step()`` passes them.
    """
    lists = _lists(optimizer) if _plain(optimizer) else None
    if lists is None:
        optimizer.step()
        return
    with torch.no_grad():
        for group, (params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps) in zip(
            optimizer.param_groups, lists, strict=True
        ):
            beta1, beta2 = group["betas"]
            adam(
                params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps,
                amsgrad=group["amsgrad"], has_complex=False, beta1=beta1, beta2=beta2,
                lr=group["lr"], weight_decay=group["weight_decay"], eps=group["eps"],
                maximize=group["maximize"], foreach=group["foreach"],
                capturable=group["capturable"], differentiable=False, fused=True,
                grad_scale=getattr(optimizer, "grad_scale", None),
                found_inf=getattr(optimizer, "found_inf", None),
                decoupled_weight_decay=group["decoupled_weight_decay"],
            )  # fmt: skip


def _plain(optimizer: torch.optim.Optimizer) -> bool:
    """Whether ``step()`` is Adam's own, unhooked, over fused groups (fused parameters are
    floating point, never complex)."""
    return (
        type(optimizer).step is Adam.step
        and "step" not in vars(optimizer)
        and not optimizer._optimizer_step_pre_hooks
        and not optimizer._optimizer_step_post_hooks
        and not _optimizer._global_optimizer_pre_hooks
        and not _optimizer._global_optimizer_post_hooks
        and all(group["fused"] and not group["differentiable"] for group in optimizer.param_groups)
    )


_Lists = tuple[list[Tensor], list[Tensor], list[Tensor], list[Tensor], list[Tensor], list[Tensor]]


def _lists(optimizer: torch.optim.Optimizer) -> list[_Lists] | None:
    """Per parameter group, what ``Adam._init_group`` collects: the parameters and their
    gradients, first and second moments, max second moments (amsgrad) and step counts; None
    where ``step()`` has more to do (a parameter without a gradient or state, a sparse one)."""
    out = []
    state = optimizer.state
    for group in optimizer.param_groups:
        amsgrad = group["amsgrad"]
        lists: _Lists = ([], [], [], [], [], [])
        params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps = lists
        for p in group["params"]:
            grad, moments = p.grad, state.get(p)
            if grad is None or not moments or grad.is_sparse:
                return None
            params.append(p)
            grads.append(grad)
            exp_avgs.append(moments["exp_avg"])
            exp_avg_sqs.append(moments["exp_avg_sq"])
            if amsgrad:
                max_exp_avg_sqs.append(moments["max_exp_avg_sq"])
            steps.append(moments["step"])
        out.append(lists)
    return out
