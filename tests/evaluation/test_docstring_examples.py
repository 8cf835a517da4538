"""The examples in evaluation's docstrings run as written and print what they show: the
package's example loaded a run folder ('runs/vae') that a reader does not have."""

import doctest

import pytest

import torchlvm.evaluation
import torchlvm.evaluation.config


@pytest.mark.parametrize(
    "module", [torchlvm.evaluation, torchlvm.evaluation.config], ids=lambda m: m.__name__
)
def test_the_examples_run(module) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
