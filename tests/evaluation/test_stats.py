"""mean_and_stderr: the one computation of a mean's error bar (n − 1 in the variance)."""

import math

import torch

from torchlvm.evaluation.stats import mean_and_stderr


def test_the_standard_error_is_the_sample_sd_over_root_n():
    mean, stderr = mean_and_stderr(torch.tensor([1.0, 2.0, 3.0, 6.0]))
    assert mean == 3.0
    assert math.isclose(stderr, math.sqrt(14 / 3) / 2, rel_tol=1e-15)  # Σ(x − 3)² = 14


def test_one_value_has_no_standard_error_and_float32_is_summed_in_float64():
    assert mean_and_stderr(torch.tensor([2.5])) == (2.5, None)
    values = torch.full((10**6,), 0.1, dtype=torch.float32)
    mean, stderr = mean_and_stderr(values)
    assert mean == float(torch.tensor(0.1, dtype=torch.float32)) and stderr == 0.0
