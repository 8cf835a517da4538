"""adam_update makes the update optimizer.step() makes, bit for bit, and defers to step() where
step() would do more (torchlvm.training.adam_update)."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest
import torch
from torch import nn

from torchlvm.training.adam_update import adam_update

SETTINGS = [
    {},
    {"amsgrad": True, "weight_decay": 0.1},
    {"maximize": True, "betas": (0.8, 0.9), "eps": 1e-6},
]


def _twins(**settings) -> tuple[list[nn.Module], list[torch.optim.Optimizer]]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 3))
    models = [model, copy.deepcopy(model)]
    cls = settings.pop("cls", torch.optim.Adam)
    return models, [cls(m.parameters(), lr=0.01, fused=True, **settings) for m in models]


def _train(model: nn.Module, optimizer: torch.optim.Optimizer, update: Callable[[], None]) -> None:
    torch.manual_seed(1)
    for step in range(6):
        x = torch.randn(8, 5)
        for p in model.parameters():
            p.grad = None
        model(x).pow(2).sum().backward()
        skip = step == 3  # as the non-finite guard flags a step
        optimizer.found_inf = torch.tensor(1.0 if skip else 0.0)  # type: ignore[attr-defined]
        if step == 4:
            optimizer.param_groups[0]["lr"] = 0.003  # read at every call
        update()


@pytest.mark.parametrize("settings", [*SETTINGS, {"cls": torch.optim.AdamW}], ids=str)
def test_the_update_is_steps_bit_for_bit(settings: dict) -> None:
    (a, b), (opt_a, opt_b) = _twins(**settings)
    _train(a, opt_a, opt_a.step)
    _train(b, opt_b, lambda: adam_update(opt_b))
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)
        for key, value in opt_a.state[p].items():
            assert torch.equal(value, opt_b.state[q][key]), key
    assert opt_b.state[next(b.parameters())]["step"].item() == 5  # 6 steps, one skipped


class _Counting(torch.optim.Adam):
    calls = 0

    def step(self, closure=None):  # type: ignore[override]
        type(self).calls += 1
        return super().step(closure)


def test_it_defers_to_step_where_step_does_more() -> None:
    model = nn.Linear(3, 2)
    optimizer = _Counting(model.parameters(), lr=0.1, fused=True)
    model(torch.ones(1, 3)).sum().backward()
    adam_update(optimizer)  # a subclass with its own step
    assert _Counting.calls == 1
    plain = torch.optim.Adam(model.parameters(), lr=0.1, fused=True)
    adam_update(plain)  # the first step: step() creates the state
    assert len(plain.state) == 2
    seen = []
    plain.register_step_post_hook(lambda *args: seen.append(1))
    adam_update(plain)  # a hook: step() runs it
    assert seen == [1]
    loose = torch.optim.Adam(model.parameters(), lr=0.1)  # not fused
    before = model.weight.detach().clone()
    adam_update(loose)
    assert not torch.equal(model.weight, before)
