"""``inference.ess``: one rule for an importance-sampled estimate resting on a few draws."""

import numpy as np
import pytest
import torch

from torchlvm.inference.ess import few_effective, few_text


@pytest.mark.parametrize(
    ("ess", "samples", "few"),
    [(9.9, 100, True), (10.0, 100, False), (9.9, 100_000, True), (40.0, 1000, False),
     (3.0, 8, True), (4.0, 8, False), (1.0, 1, False), (1.0, 2, False)],
    ids=["below-10", "at-10", "a-count-not-a-share", "40-of-1000", "few-of-8", "half-of-8",
         "one-sample", "two-samples"],
)  # fmt: skip
def test_few_effective_is_a_count_of_draws_or_half_of_a_few(ess, samples, few):
    assert few_effective(ess, samples) is few


def test_it_takes_arrays_and_tensors_elementwise_and_says_itself():
    np.testing.assert_array_equal(few_effective(np.array([1.0, 12.0]), 1000), [True, False])
    assert few_effective(torch.tensor([3.0, 4.0]), 8).tolist() == [True, False]
    assert few_text(1000) == "under 10" and few_text(8) == "under 4 (half)"
