"""The imputation error of a fill against a baseline, with the paired standard error."""

from __future__ import annotations

import math

import pytest
import torch

from torchlvm.evaluation.imputation import imputation_error


def test_the_paired_standard_error_is_that_of_the_per_example_differences():
    x = torch.zeros(4, 3)
    missing = torch.tensor([True, True, False])
    imputed = torch.tensor([[1.0, 1.0, 9.0], [2.0, 0.0, 9.0], [0.0, 0.0, 9.0], [1.0, 3.0, 9.0]])
    baseline = torch.tensor([1.0, 2.0, 7.0])  # (D,), the same fill for every example
    result = imputation_error(x, imputed, baseline, missing)
    model = [1.0, 2.0, 0.0, 5.0]  # mean of the squares over the two missing entries
    differences = [m - 2.5 for m in model]  # the baseline's error is (1 + 4) / 2 everywhere
    mean = sum(differences) / 4
    sd = math.sqrt(sum((d - mean) ** 2 for d in differences) / 3)
    assert result.model == pytest.approx(2.0) and result.baseline == pytest.approx(2.5)
    assert result.difference == pytest.approx(-0.5)
    assert result.difference_stderr == pytest.approx(sd / 2) and result.n == 4


def test_one_example_has_no_standard_error():
    result = imputation_error(
        torch.zeros(1, 2), torch.ones(1, 2), torch.zeros(2), torch.ones(2) > 0
    )
    assert result.model == 1.0 and math.isnan(result.difference_stderr)
