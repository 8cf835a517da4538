"""The EM fit's report: missing cells counted, iterations, convergence, what log p(x) covers."""

from __future__ import annotations

import torch

from torchlvm.models import ppca_em
from torchlvm.models.ppca import PPCA


def _table(seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    W = torch.randn(6, 2, generator=gen, dtype=torch.float64)
    x = torch.randn(200, 2, generator=gen, dtype=torch.float64) @ W.T
    return x + 0.2 * torch.randn(200, 6, generator=gen, dtype=torch.float64)


def test_report_of_a_fit_with_missing_cells():
    x = _table()
    x[:10, 0] = torch.nan
    x[5, 3] = torch.nan
    model = PPCA(latent_dim=2, method="em", max_iter=500, tol=1e-8).fit(x)
    report = ppca_em.em_report(x, model.log_likelihood_history_, max_iter=500, tol=1e-8)
    assert (report.missing_cells, report.cells, report.incomplete_rows) == (11, 1200, 10)
    assert report.iterations == model.n_iter_ and report.converged
    assert report.covers == "observed cells only"
    assert report.lines()[0] == "missing cells: 11 of 1200 (0.9%), in 10 of 200 rows"
    assert report.lines()[2] == "log p(x) covers observed cells only"


def test_report_says_when_em_stopped_short():
    x = _table()
    history = PPCA(latent_dim=2, method="em", max_iter=2, tol=0.0).fit(x).log_likelihood_history_
    report = ppca_em.em_report(x, history, max_iter=2, tol=0.0)
    assert report.iterations == 2 and not report.converged and report.covers == "every cell"
    assert "did NOT converge" in report.lines()[1]


def test_one_iteration_is_singular():
    history = (
        PPCA(latent_dim=2, method="em", max_iter=1, tol=0.0).fit(_table()).log_likelihood_history_
    )
    report = ppca_em.em_report(_table(), history, max_iter=1, tol=0.0)
    assert report.lines()[1].startswith("EM: 1 iteration, did NOT converge")
    assert report.lines()[1].endswith("nats/row; tolerance 0, at most 1 iteration)")
