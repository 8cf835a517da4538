"""Separability probes: linearly separable features give near-perfect accuracy, features
unrelated to the labels give chance, and too few examples per class are refused clearly."""

import numpy as np
import pytest

from torchlvm.errors import DataError
from torchlvm.evaluation.probes import probe_accuracies


def test_separable_features_are_read_out_perfectly():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 50)
    x = np.eye(4)[y] * 5 + rng.normal(scale=0.3, size=(200, 4))
    out = probe_accuracies(x, y)
    assert out["logistic"]["value"] > 0.98 and out["knn"]["value"] > 0.98
    assert out["logistic"]["unit"] == "accuracy" and out["logistic"]["folds"] == 5


def test_features_unrelated_to_labels_give_chance():
    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(4), 100)
    out = probe_accuracies(rng.normal(size=(400, 6)), y)
    assert abs(out["logistic"]["value"] - 0.25) < 0.1 and abs(out["knn"]["value"] - 0.25) < 0.1


def test_too_few_examples_per_class_is_refused():
    with pytest.raises(DataError, match="at least 5 examples of each"):
        probe_accuracies(np.zeros((6, 2)), np.array([0, 0, 0, 1, 1, 1]))


def test_too_few_examples_names_the_smallest_class_seen() -> None:
    labels = np.array([0] * 12 + [1] * 2 + [3] * 11)  # class 2 absent: not the smallest
    features = np.random.default_rng(0).normal(size=(len(labels), 3))
    match = r"got 3 classes, 1 of them with fewer than 5 examples \(smallest counts 2, 11, 12\);"
    with pytest.raises(DataError, match=match):
        probe_accuracies(features, labels)


@pytest.mark.parametrize(
    ("labels", "seen"),
    [
        (np.arange(44).repeat([1] * 40 + [30] * 4), "44 classes, 40 of them with fewer than 5 "
         r"examples \(smallest counts 1, 1, 1, 1, 1, \.\.\.\);"),
        (np.zeros(12, dtype=np.int64), r"one class \(12 examples\);"),
    ],
    ids=["many-classes-of-one", "one-class"],
)  # fmt: skip
def test_many_small_classes_are_summarised_in_one_line(labels, seen) -> None:
    """A regression target taken as labels gave 44 classes of one row, each count listed."""
    features = np.random.default_rng(0).normal(size=(len(labels), 3))
    with pytest.raises(DataError, match=r"got " + seen) as raised:
        probe_accuracies(features, labels)
    assert len(str(raised.value)) < 200


@pytest.mark.parametrize(
    "split, fix",
    [
        (("test", 12), ": the test split has only 12 examples; --split train has more (examples "),
        (("test", 300), " in the 12 of 300 test examples evaluated; pass --n all"),
        (("train", 12), ": the train split has only 12 examples"),
    ],
    ids=["whole-test-split", "a-subsample", "whole-train-split"],
)
def test_too_few_examples_of_a_class_names_a_fix_that_exists(split, fix) -> None:
    """userC: a 12-row test split was told 'evaluate more examples' when every row of it was
    evaluated: the note says the split holds no more, and names the split that does; where a
    subsample was evaluated, --n all."""
    import torch

    from torchlvm.evaluation.eval_data import EvalData
    from torchlvm.evaluation.probes import separability_section
    from torchlvm.evaluation.records import Undefined

    y = torch.tensor([0] * 8 + [1] * 2 + [2] * 2)
    x = torch.randn(12, 4, generator=torch.Generator().manual_seed(0))
    data = EvalData(x, x, y, None, None)
    found = separability_section(x, data, seed=0, pixels=True, split=split)
    assert isinstance(found, Undefined)
    assert found.reason.startswith(
        "5-fold probes need at least 5 examples of each of two or more classes, got 3 classes, "
        "2 of them with fewer than 5 examples (smallest counts 2, 2, 8)"
    )
    assert fix in found.reason
    assert "evaluate more examples" not in found.reason


def test_the_section_records_chance_beside_the_accuracies() -> None:
    """userJ #2: on labels unrelated to the rows, 39 of 44 'no', 5-NN read 0.886, exactly the
    rate of always answering 'no', and nothing said so. The section records that rate (of the
    rows the probes read: a subsample of a large split) and the console prints it."""
    import torch

    from torchlvm.cli._evaluate_table import _separability_rows
    from torchlvm.evaluation.eval_data import EvalData
    from torchlvm.evaluation.probes import chance_accuracy, separability_section

    y = torch.tensor([0] * 39 + [1] * 5)
    x = torch.randn(44, 6, generator=torch.Generator().manual_seed(0))
    found = separability_section(x, EvalData(x, x, y, None, None), 0, True, names=["no", "yes"])
    assert found.chance.value == pytest.approx(39 / 44) and found.chance.kind == "exact"
    assert "the most frequent class, no (39 of 44 examples probed)" in found.chance.note
    assert found.latent.knn.value <= found.chance.value + 0.05  # 5-NN answers 'no': chance
    rows = " ".join(" ".join(_separability_rows(found)).split())
    assert "chance (the most frequent class) 0.886" in rows
    labels = np.repeat([0, 1, 2], [6000, 3000, 1000])
    chance = chance_accuracy(labels, seed=3, max_examples=5000)
    assert chance["n"] == 5000 and chance["value"] != 0.6  # the probes' subsample's share
    assert abs(chance["value"] - 0.6) < 0.03


def test_a_class_too_small_for_the_folds_is_left_out_and_named() -> None:
    """userU #4: a class of 3 rows beside classes of 164 and 291 dropped the whole section, with
    the fix 'the train split has only 458 examples'; the other classes are probed, and the
    section names the class left out."""
    import torch

    from torchlvm.cli._evaluate_table import _separability_rows
    from torchlvm.evaluation.eval_data import EvalData
    from torchlvm.evaluation.probes import separability_section
    from torchlvm.evaluation.records import Separability

    y = torch.tensor([0] * 20 + [1] * 20 + [2] * 3)
    x = torch.randn(43, 4, generator=torch.Generator().manual_seed(0)) + y[:, None] * 3.0
    data = EvalData(x, x, y, None, None)
    found = separability_section(x, data, 0, True, split=("train", 43), names=["a", "b", "rare"])
    assert isinstance(found, Separability)
    assert found.latent.logistic.extra["n"] == 40 and found.chance.value == 0.5
    assert found.left_out == (
        "left out: class 'rare' (3 examples): 5-fold probes need 5 examples of each class; the "
        "probes and chance are of the other 40"
    )
    assert Separability.from_json(found.to_json()).left_out == found.left_out
    assert "left out: class 'rare'" in " ".join(" ".join(_separability_rows(found)).split())


@pytest.mark.parametrize("rare", [5, 6, 7, 12])
def test_a_small_class_is_told_on_the_rows_the_probes_read(rare: int) -> None:
    """readH H2: of more than 5,000 evaluated rows the probes read a seeded subsample; a class
    of 5-7 rows among 8,000 passed the leaving out (told on every row), kept 3-4 rows in the
    subsample, and the whole section was dropped ('... with fewer than 5 examples ...; pass
    more examples'). Told on the probed rows, it is left out and named, or probed."""
    import torch

    from torchlvm.evaluation.eval_data import EvalData
    from torchlvm.evaluation.probes import PROBED, _probed, separability_section
    from torchlvm.evaluation.records import Separability

    n = 8000
    y = torch.tensor([0] * 4000 + [1] * (n - 4000 - rare) + [2] * rare)
    x = torch.randn(n, 4, generator=torch.Generator().manual_seed(0)) + y[:, None] * 2.0
    found = separability_section(x, EvalData(x, x, y, None, None), 0, True, names=["a", "b", "r"])
    assert isinstance(found, Separability), found
    kept = int((y.numpy()[_probed(n, PROBED, 0)] == 2).sum())  # 3, 4, 4, 7
    probed = found.latent.logistic.extra["n"]
    if kept < 5:
        assert found.left_out.startswith(f"left out: class 'r' ({kept} examples)")
        assert probed == PROBED - kept and found.chance.extra["n"] == probed
    else:
        assert found.left_out is None and probed == PROBED
