"""evaluate on rows with missing cells: every row's log p(x_o) on its observed cells, the other
sections on the complete rows."""

from __future__ import annotations

import pytest
import torch

from torchlvm.data.dataset import Dataset
from torchlvm.evaluation.evaluate import EvalConfig, evaluate
from torchlvm.evaluation.records import Evaluation, Undefined
from torchlvm.models.ppca import PPCA


def _table(x: torch.Tensor) -> Dataset:
    return Dataset(x, None, "rows", "test", (x.shape[1],), None, None, "none")


def _ppca_and_rows() -> tuple[PPCA, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(120, 2, generator=gen) @ torch.randn(2, 5, generator=gen)
    x = (x + 0.3 * torch.randn(120, 5, generator=gen)).double()
    model = PPCA(latent_dim=2, method="em").fit(x)
    x[torch.arange(0, 120, 3), torch.arange(0, 120, 3) % 5] = float("nan")  # a third of rows
    return model, x


CONFIG = EvalConfig(k=20, ks=(1,), separability=False, sample_quality=False, ood=())


def test_every_row_is_scored_on_its_observed_cells_and_the_rest_on_complete_rows():
    model, x = _ppca_and_rows()
    result = evaluate(model, _table(x), CONFIG)
    observed = result.observed_likelihood
    assert observed is not None
    assert (observed.rows, observed.incomplete_rows, observed.missing_cells) == (120, 40, 40)
    assert observed.nats.kind == "exact" and observed.nats.unit == "nats/row"
    exact = model.log_marginal(x).mean().item()  # PPCA integrates the missing cells out
    assert observed.nats.value == pytest.approx(exact, abs=1e-6)
    complete = x[~torch.isnan(x).any(-1)]
    assert result.protocol.n == 80
    assert result.likelihood.exact.nats.value == pytest.approx(
        model.log_marginal(complete).mean().item(), abs=1e-6
    )
    assert Evaluation.from_json(result.to_json()).observed_likelihood == observed


def test_without_a_complete_row_the_full_row_sections_are_undefined_with_the_reason():
    model, x = _ppca_and_rows()
    x[torch.arange(120), torch.arange(120) % 5] = float("nan")
    result = evaluate(model, _table(x), CONFIG)
    assert result.observed_likelihood.incomplete_rows == 120 and result.protocol.n == 0
    for section in (result.likelihood, result.reconstruction, result.latent):
        assert isinstance(section, Undefined) and "missing cell" in section.reason
