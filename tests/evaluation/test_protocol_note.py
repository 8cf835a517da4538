"""The record's words for what was evaluated under ``binarize='none'``."""

from __future__ import annotations

import pytest
import torch

from torchlvm.data.dataset import Dataset
from torchlvm.evaluation.eval_data import _protocol_note


@pytest.mark.parametrize(
    ("shape", "words"),
    [
        ((3, 4, 4), "colour levels of each channel, a continuous likelihood"),
        ((1, 6, 8), "grey levels, a continuous likelihood"),
        ((48,), "the values as they are, a continuous likelihood"),
    ],
)
def test_the_values_evaluated_are_named_by_what_they_are(shape, words):
    """userD: an RGB run's metrics.json said 'grey levels, a continuous likelihood' (the report
    header already said colour levels), and so did rows of a .npy."""
    data = Dataset(torch.rand(5, 48), None, "x.npy", "test", shape, None, None, "none")
    assert _protocol_note(data) == words
