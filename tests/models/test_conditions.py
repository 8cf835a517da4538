"""Condition vectors: one-hot labels, image masks (named by the MISSING part), masked conditions."""

from __future__ import annotations

import pytest
import torch

from torchlvm.errors import ConfigError, DataError
from torchlvm.models.conditions import (
    MASK_KINDS,
    Condition,
    check_mask_kind,
    image_mask,
    masked_condition,
    one_hot,
)


def grid(kind: str, shape=(4, 4)) -> list[list[int]]:
    """The mask as rows of 0 (missing) / 1 (observed), for readable expectations."""
    return image_mask(kind, shape).reshape(shape).int().tolist()


def test_one_hot_rows():
    torch.testing.assert_close(
        one_hot(torch.tensor([2, 0]), 3), torch.tensor([[0, 0, 1], [1, 0, 0.0]])
    )
    assert one_hot([1], 4).dtype == torch.float32


@pytest.mark.parametrize(
    "labels, match",
    [
        ([0, 3], "label 3 is out of range; valid labels are 0..2"),
        ([-1], "label -1 is out of range; valid labels are 0..2"),
        ([0.5], "labels must be integers in 0..2"),
    ],
    ids=["too-large", "negative", "float"],
)
def test_one_hot_refuses_labels_out_of_range(labels, match):
    with pytest.raises(ConfigError, match=match):
        one_hot(labels, 3)


HALVES = {
    "top": [[0, 0, 0, 0], [0, 0, 0, 0], [1, 1, 1, 1], [1, 1, 1, 1]],
    "bottom": [[1, 1, 1, 1], [1, 1, 1, 1], [0, 0, 0, 0], [0, 0, 0, 0]],
    "left": [[0, 0, 1, 1]] * 4,
    "right": [[1, 1, 0, 0]] * 4,
    "top-left": [[0, 0, 1, 1], [0, 0, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1]],
    "top-right": [[1, 1, 0, 0], [1, 1, 0, 0], [1, 1, 1, 1], [1, 1, 1, 1]],
    "bottom-left": [[1, 1, 1, 1], [1, 1, 1, 1], [0, 0, 1, 1], [0, 0, 1, 1]],
    "bottom-right": [[1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 0, 0], [1, 1, 0, 0]],
}


@pytest.mark.parametrize("kind", list(HALVES), ids=list(HALVES))
def test_mask_kind_names_the_missing_part(kind):
    assert grid(kind) == HALVES[kind]


def test_every_fixed_kind_is_listed():
    assert set(HALVES) | {"random:<fraction>"} == set(MASK_KINDS)


def test_odd_sizes_hide_the_floor_half_and_keep_the_middle_line():
    assert grid("top", (3, 2)) == [[0, 0], [1, 1], [1, 1]]
    assert grid("bottom", (3, 2)) == [[1, 1], [1, 1], [0, 0]]


def test_mask_covers_every_channel_in_c_h_w_order():
    mask = image_mask("left", (3, 2, 2)).reshape(3, 2, 2)
    assert mask.shape == (3, 2, 2) and mask.dtype == torch.bool
    assert (mask == torch.tensor([[False, True], [False, True]])).all()
    assert image_mask("left", (2, 2)).shape == (4,)


def test_random_mask_hides_the_requested_fraction_reproducibly():
    a = image_mask("random:0.25", (1, 8, 8), generator=torch.Generator().manual_seed(0))
    b = image_mask("random:0.25", (1, 8, 8), generator=torch.Generator().manual_seed(0))
    assert (~a).sum() == 16 and torch.equal(a, b)
    assert image_mask("random:0", (8, 8)).all() and not image_mask("random:1", (8, 8)).any()


@pytest.mark.parametrize(
    "kind, match",
    [
        ("middle", "mask kind must be one of top, bottom, .* got 'middle'"),
        ("random:1.5", r"needs a missing fraction in \[0, 1\]"),
        ("random:lots", r"needs a missing fraction in \[0, 1\]"),
    ],
    ids=["unknown", "fraction-above-one", "fraction-not-a-number"],
)
def test_bad_mask_kinds_are_refused(kind, match):
    with pytest.raises(ConfigError, match=match):
        image_mask(kind, (8, 8))
    with pytest.raises(ConfigError, match=match):
        check_mask_kind(kind)


def test_masked_condition_zeroes_missing_values_and_appends_the_mask():
    x = torch.tensor([[1.0, float("nan"), 3.0, 4.0]])
    mask = torch.tensor([True, False, True, False])
    c = masked_condition(x, mask)
    torch.testing.assert_close(c, torch.tensor([[1.0, 0.0, 3.0, 0.0, 1.0, 0.0, 1.0, 0.0]]))


def test_masked_condition_accepts_a_mask_per_row():
    x = torch.ones(2, 3)
    mask = torch.tensor([[True, False, True], [False, True, True]])
    assert masked_condition(x, mask).shape == (2, 6)


@pytest.mark.parametrize(
    "mask",
    [torch.ones(5, dtype=torch.bool), torch.ones(3, 4, dtype=torch.bool)],
    ids=["width", "rows"],
)
def test_masked_condition_refuses_a_mask_that_does_not_fit(mask):
    with pytest.raises(DataError, match="observed_mask"):
        masked_condition(torch.ones(2, 4), mask)


# -- Condition: the text none | label | mask:KIND parsed once -----------------------------------


@pytest.mark.parametrize(
    "text, kind, missing",
    [("none", "none", None), ("label", "label", None), ("mask:top", "mask", "top"),
     ("mask:random:0.25", "mask", "random:0.25")],
    ids=["none", "label", "mask-top", "mask-random"],
)  # fmt: skip
def test_condition_parses_and_prints_back_its_canonical_text(text, kind, missing):
    condition = Condition.parse(text)
    assert (condition.kind, condition.missing) == (kind, missing)
    assert str(condition) == text
    assert Condition.parse(condition) is condition
    assert condition.conditional == (kind != "none")


@pytest.mark.parametrize(
    "text, match",
    [("labels", "got 'labels'"), ("", "got ''"), (None, "got None"), ("mask:middle", "top, "),
     ("mask:random:2", "fraction in \\[0, 1\\]"), ("Mask:top", "'none', 'label' or 'mask:KIND'")],
    ids=["typo", "empty", "none-object", "unknown-mask", "bad-fraction", "case"],
)  # fmt: skip
def test_condition_refuses_bad_text(text, match):
    with pytest.raises(ConfigError, match=match):
        Condition.parse(text)


def test_condition_dim_is_classes_for_labels_and_twice_the_data_for_masks():
    assert Condition.parse("none").dim(64, 10) is None
    assert Condition.parse("label").dim(64, 10) == 10
    assert Condition.parse("mask:left").dim(64, 10) == 128


def test_bound_label_condition_builds_one_hot_rows_and_needs_labels():
    bound = Condition.parse("label").bind((1, 2, 2), num_classes=3)
    x = torch.zeros(2, 4, dtype=torch.float64)
    c = bound.build(x, torch.tensor([2, 0]))
    torch.testing.assert_close(c, torch.tensor([[0, 0, 1], [1, 0, 0.0]], dtype=torch.float64))
    assert (bound.dim, bound.mask, bound.missing) == (3, None, None)
    with pytest.raises(DataError, match="needs class labels"):
        bound.build(x, None)
    with pytest.raises(ConfigError, match="needs class labels"):
        Condition.parse("label").bind((1, 2, 2))


def test_bound_mask_condition_is_the_masked_input_with_the_seeded_mask():
    condition = Condition.parse("mask:random:0.5")
    bound = condition.bind((4, 4), seed=3)
    assert torch.equal(bound.mask, condition.mask((4, 4), seed=3))  # the same draw for a seed
    assert not torch.equal(bound.mask, condition.mask((4, 4), seed=4))
    x = torch.rand(5, 16)
    torch.testing.assert_close(bound.build(x, None), masked_condition(x, bound.mask))
    assert torch.equal(bound.missing, ~bound.mask)
    assert bound.dim == 32


def test_no_condition_builds_nothing_and_has_no_mask():
    bound = Condition.parse("none").bind((4, 4))
    assert bound.build(torch.rand(2, 16), torch.tensor([0, 1])) is None
    with pytest.raises(ConfigError, match="has no mask"):
        Condition.parse("label").mask((4, 4), seed=0)


@pytest.mark.parametrize("text", ["mask:top", "mask:random:0.3"])
def test_a_mask_condition_on_rows_names_the_table_imputation(text):
    """`train cvae --data table.csv --condition mask:top` ended in "image_shape must be (C, H, W)
    or (H, W), got (14,)", a name the user never typed and no fix: rows have no image part to
    hide, and a table's empty cells are filled by the MIWAE-trained VAE."""
    with pytest.raises(
        ConfigError, match=r"rows of 14 values, not images; .* allow_missing=True"
    ) as err:
        Condition.parse(text).bind((14,), seed=0)  # in Python (LVMDataModule(condition=...))
    assert str(err.value).endswith(
        "fill them with torchlvm.inference.imputation.impute_rows(model, x)"
    )
    assert "--allow-missing (the MIWAE bound)" in err.value.on_command_line
    assert err.value.on_command_line.endswith(
        "'torchlvm impute RUN --data FILE.csv --out FILLED.csv'"
    )


def test_what_the_densities_are_conditioned_on():
    assert [Condition.parse(t).given for t in ("none", "label", "mask:top")] == ["", "c", "x_o"]


@pytest.mark.parametrize("kind", ["mask:random:0", "mask:random:0.005", "mask:top"])
def test_a_mask_that_hides_no_pixel_is_refused_before_training(kind, tmp_path, capsys):
    """mask:random:0 (or a fraction that rounds to no pixel of 8x8: 0.005 · 64 = 0.32) trained
    and saved, and evaluate then died dividing log p(x_m | x_o) by zero dimensions (review13
    #8); a half of a one-row image is no pixel either."""
    from torchlvm.cli import main

    shape = (1, 1, 8) if kind == "mask:top" else (1, 8, 8)
    with pytest.raises(ConfigError, match=r"hides none of the (8|64) pixels"):
        Condition.parse(kind).mask(shape, seed=0)
    if kind != "mask:top":
        argv = ["train", "cvae", "--data", "digits", "--condition", kind, "--epochs", "1"]
        assert main([*argv, "--out", str(tmp_path / "run")]) == 2
        assert capsys.readouterr().err == (
            f"torchlvm: error: --condition {kind} hides none of the 64 pixels of 8x8 images, so "
            "nothing is left to draw from the rest; pass a mask that hides some: --condition "
            "mask:top, or a random fraction of at least 0.016 (--condition mask:random:0.25)\n"
        )
        assert not (tmp_path / "run").exists()
