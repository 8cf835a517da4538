"""PPCA runs its fit and its scikit-learn methods on its ``threads`` parameter (userG #19: EM
took 17-58 s on two threads of shared cores against 3.4-3.8 s on one), and puts the caller's
count back; ``threads=None`` keeps the caller's count."""

import numpy as np
import pytest
import torch

from torchlvm.errors import ConfigError
from torchlvm.models import PPCA, ppca_fit


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("threads, seen", [(1, 1), (None, 2)], ids=["one", "the-callers"])
def test_fit_and_methods_run_on_the_threads_parameter(two_threads, monkeypatch, threads, seen):
    from torchlvm.models import ppca_sklearn

    counts = []
    fit_parameters, numpy = ppca_fit.fit_parameters, ppca_sklearn._numpy

    def counted(fit):
        def run(*args, **kwargs):
            counts.append(torch.get_num_threads())
            return fit(*args, **kwargs)

        return run

    from torchlvm.models import ppca as ppca_module

    monkeypatch.setattr(ppca_module, "fit_parameters", counted(fit_parameters))
    monkeypatch.setattr(ppca_sklearn, "_numpy", counted(numpy))
    x = np.random.default_rng(0).normal(size=(100, 6))
    x[0, 0] = np.nan
    model = PPCA(latent_dim=2, method="em", threads=threads).fit(x)
    model.transform(x), model.score_samples(x), model.impute(x), model.sample(3, random_state=0)
    assert counts == [seen] * 5 and torch.get_num_threads() == 2  # the caller's, put back
    assert PPCA().threads == 1 and model.get_params()["threads"] == threads


def test_a_bad_threads_is_refused_naming_it():
    with pytest.raises(ConfigError, match="threads must be a positive integer, or None"):
        PPCA(threads=0).fit(np.random.default_rng(0).normal(size=(20, 4)))
