"""User files: .npy, .npz and .csv, with labels, missing values and every refusal."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
import torch

from torchlvm._shell import UNEXPANDED
from torchlvm.data import load_dataset, load_file
from torchlvm.data.files import read_rows
from torchlvm.errors import ConfigError, DataError, DataNotFoundError, OptionError

ROWS = np.arange(40 * 3, dtype=np.float64).reshape(40, 3) / 7.0


def test_npy_rows_load_unscaled(tmp_path):
    path = tmp_path / "rows.npy"
    np.save(path, ROWS)
    data = load_dataset(path, "all")
    assert data.x.dtype == torch.float32 and data.shape == (3,) and data.y is None
    torch.testing.assert_close(data.x, torch.tensor(ROWS, dtype=torch.float32))
    assert data.name == str(path)


@pytest.mark.parametrize(
    ("array_shape", "shape"),
    [((5, 6, 7), (1, 6, 7)), ((5, 3, 6, 7), (3, 6, 7))],
    ids=["NHW", "NCHW"],
)
def test_npy_images_are_flattened_row_major(tmp_path, array_shape, shape):
    images = np.random.default_rng(0).random(array_shape)
    np.save(tmp_path / "images.npy", images)
    data = load_dataset(str(tmp_path / "images.npy"), "all")
    assert data.shape == shape
    torch.testing.assert_close(data.x, torch.tensor(images.reshape(5, -1), dtype=torch.float32))


@pytest.mark.parametrize(
    ("x_key", "y_key"),
    [("x", "y"), ("X", "labels"), ("data", None)],
    ids=["x-y", "X-labels", "data"],
)
def test_npz_keys(tmp_path, x_key, y_key):
    arrays = {x_key: ROWS}
    if y_key:
        arrays[y_key] = np.arange(40) % 4
    np.savez(tmp_path / "set.npz", **arrays)
    data = load_dataset(tmp_path / "set.npz", "all")
    assert data.x.shape == (40, 3)
    if y_key:
        assert data.y.dtype == torch.int64 and data.num_classes == 4
        assert data.y.tolist() == (np.arange(40) % 4).tolist()
    else:
        assert data.y is None and data.num_classes is None


def test_npz_without_data_key_lists_keys(tmp_path):
    """An archive's only array is its data under any name but a label's, as the module says
    (np.savez(F, pixels=x) was refused as holding no data, review13 #3); beside labels, or alone
    under a label's name, the keys are listed."""
    np.savez(tmp_path / "only.npz", features=ROWS)
    assert np.array_equal(load_dataset(tmp_path / "only.npz", "all").x.numpy(), ROWS.astype("f4"))
    np.savez(tmp_path / "set.npz", features=ROWS, y=np.arange(len(ROWS)) % 2)
    with pytest.raises(DataError, match=r"no data array \(keys: features, y\).* x, X, data"):
        load_dataset(tmp_path / "set.npz", "all")
    np.savez(tmp_path / "labels.npz", y=np.arange(len(ROWS)) % 2)
    with pytest.raises(DataError, match=r"no data array \(keys: y\)"):
        load_dataset(tmp_path / "labels.npz", "all")


def test_npz_fractional_labels(tmp_path):
    np.savez(tmp_path / "set.npz", x=ROWS, y=np.full(40, 0.5))
    with pytest.raises(DataError, match="label of example 0 is 0.5"):
        load_dataset(tmp_path / "set.npz", "all")


def test_csv_with_header_and_label_column_name(tmp_path):
    path = tmp_path / "table.csv"
    path.write_text("a,b,label\n1,2,0\n3,4.5,1\n\n-1,1e3,1\n")
    data = load_dataset(path, "all", label_column="label")
    assert data.x.tolist() == [[1, 2], [3, 4.5], [-1, 1000]]
    assert data.y.tolist() == [0, 1, 1] and data.num_classes == 2


def test_csv_without_header_and_label_index(tmp_path):
    path = tmp_path / "table.csv"
    path.write_text("2,1,2\n0,3,4\n")
    data = load_dataset(path, "all", label_column=0)
    # codes 0 and 2 (not 0..C-1) are the classes named "0" and "2", in numeric order
    assert data.x.tolist() == [[1, 2], [3, 4]] and data.y.tolist() == [1, 0]
    assert data.class_names == ("0", "2")
    assert load_dataset(path, "all").x.shape == (2, 3)


def test_every_csv_is_a_table_and_an_array_is_one_only_when_standardized(tmp_path):
    """Dataset.is_table, the one decision of "nats/row" and of a run's table record: a CSV with
    or without a header (its columns then "column 1", ...), standardized or not; an array
    file only when standardized."""
    (tmp_path / "named.csv").write_text("a,b\n1,2\n3,5\n")
    (tmp_path / "bare.csv").write_text("1,2\n3,5\n")
    np.save(tmp_path / "rows.npy", ROWS)
    assert load_dataset(tmp_path / "named.csv", "all").columns == ("a", "b")
    bare = load_dataset(tmp_path / "bare.csv", "all")
    assert bare.is_table and bare.columns == ("column 1", "column 2")
    assert not load_dataset(tmp_path / "rows.npy", "all").is_table
    assert load_dataset(tmp_path / "rows.npy", "all", standardize=True).is_table


def test_csv_non_numeric_cell_names_line_and_column(tmp_path):
    path = tmp_path / "table.csv"
    path.write_text("a,b\n1,2\n3,oops\n")
    with pytest.raises(DataError, match=r"line 3, column 'b': cannot read 'oops'"):
        load_dataset(path, "all")


def test_csv_ragged_row(tmp_path):
    path = tmp_path / "table.csv"
    path.write_text("1,2\n3\n")
    with pytest.raises(DataError, match="line 2 has 1 cell but the file has 2 columns"):
        load_dataset(path, "all")


@pytest.mark.parametrize(
    ("label_column", "message"),
    [(5, "out of range for 2 columns"), ("y", "not a column name")],
    ids=["index", "name"],
)
def test_csv_bad_label_column(tmp_path, label_column, message):
    path = tmp_path / "table.csv"
    path.write_text("1,2\n3,4\n")
    with pytest.raises(ConfigError, match=message):
        load_dataset(path, "all", label_column=label_column)


def test_label_column_only_for_csv(tmp_path):
    np.save(tmp_path / "rows.npy", ROWS)
    with pytest.raises(ConfigError, match="label_column applies to .csv files"):
        load_dataset(tmp_path / "rows.npy", "all", label_column=0)


def test_missing_values_refused_by_default_and_kept_on_request(tmp_path):
    path = tmp_path / "table.csv"
    path.write_text("1,2\n,4\nnan,6\n")
    fix = r"pass allow_missing=True \(method='em' for PPCA\)"
    with pytest.raises(DataError, match=rf"holds 2 missing .* {fix}") as caught:
        load_dataset(path, "all")
    flags = "pass --allow-missing (with --method em for fit ppca): PPCA's EM"  # each works:
    assert flags in caught.value.on_command_line  # tests/reliability/test_bad_input.py
    data = load_dataset(path, "all", allow_missing=True)
    assert torch.isnan(data.x).sum() == 2 and data.x[2, 1] == 6


def test_infinity_always_refused(tmp_path):
    rows = ROWS.copy()
    rows[4, 1] = np.inf
    np.save(tmp_path / "rows.npy", rows)
    with pytest.raises(DataError, match=r"1 infinite value \(the first in example 4, feature 1"):
        load_dataset(tmp_path / "rows.npy", "all", allow_missing=True)


@pytest.mark.parametrize("suffix", [".npy", ".npz", ".csv"])
def test_empty_file(tmp_path, suffix):
    path = tmp_path / f"empty{suffix}"
    path.write_bytes(b"")
    with pytest.raises(DataError, match="is empty"):
        load_dataset(path, "all")


@pytest.mark.parametrize(
    ("file_name", "write", "message"),
    [
        ("header.csv", lambda p: p.write_text("a,b\n"), "holds no data rows"),
        ("none.npy", lambda p: np.save(p, np.zeros((0, 3))), "holds no data"),
        ("flat.npy", lambda p: np.save(p, np.zeros(3)), r"shape \(3,\); pass \(N, D\)"),
        ("text.npy", lambda p: np.save(p, np.array([["a"]])), "torchlvm needs a numeric array"),
        ("junk.npy", lambda p: p.write_bytes(b"not numpy"), "cannot read .* as .npy"),
        ("junk.npz", lambda p: p.write_bytes(b"PK not zip"), "cannot read .* as .npz"),
    ],
    ids=["header-only", "zero-rows", "1-d", "strings", "junk-npy", "junk-npz"],
)
def test_unusable_files(tmp_path, file_name, write, message):
    path = tmp_path / file_name
    write(path)
    with pytest.raises(DataError, match=message):
        load_dataset(path, "all")


def test_missing_file(tmp_path):
    with pytest.raises(DataNotFoundError, match="does not exist"):
        load_dataset(tmp_path / "nope.csv")


def test_splits_are_seeded_80_10_10_and_disjoint(tmp_path):
    np.save(tmp_path / "rows.npy", ROWS)
    parts = {s: load_file(tmp_path / "rows.npy", s, seed=3) for s in ("train", "val", "test")}
    assert {s: len(d) for s, d in parts.items()} == {"train": 32, "val": 4, "test": 4}
    rows = [tuple(r) for d in parts.values() for r in d.x.tolist()]
    assert len(set(rows)) == 40
    assert torch.equal(load_file(tmp_path / "rows.npy", "val", seed=3).x, parts["val"].x)


def test_too_small_for_a_split(tmp_path):
    np.save(tmp_path / "rows.npy", ROWS[:3])
    expected = r"split 'val' is empty .* add rows, to 7 at least \(or, from Python, load it with "
    with pytest.raises(DataError, match=expected + r"split='all'\)"):
        load_dataset(tmp_path / "rows.npy", "val")


@pytest.mark.parametrize("n", [5, 6, 7])
def test_the_rows_a_split_needs_are_the_rows_that_fill_it(tmp_path, n):
    """A table of 5 or 6 rows is refused saying 7 rows are needed, and 7 rows do fill every
    part: the number the message names is one that works."""
    path = tmp_path / "rows.csv"
    path.write_text("a,b\n" + "".join(f"{r[0]},{r[1]}\n" for r in ROWS[:n, :2].tolist()))
    if n < 7:
        with pytest.raises(DataError, match=r"\([56] examples .*add rows, to 7 at least"):
            load_dataset(path, "test")
        return
    assert [len(load_dataset(path, s)) for s in ("train", "val", "test")] == [5, 1, 1]


@pytest.mark.parametrize(
    ("offset", "scale"), [(1.7e9, 1.0), (0.0, 1e-30), (-1e6, 1e-3)], ids=["epoch", "tiny", "offset"]
)
def test_standardizing_sees_the_files_float64_values(tmp_path, offset, scale):
    """A column of Unix times (1.7e9 + noise) is constant in float32 (spacing 128) and a column
    of 1e-30s is not rounding noise: standardized before the float32 cast, a table gives the
    same values whatever its offset and scale."""
    rows = np.random.default_rng(0).normal(size=(50, 3))
    path = tmp_path / "t.csv"
    path.write_text("a,b,c\n" + "".join(",".join(map(repr, r.tolist())) + "\n" for r in rows))
    moved = tmp_path / "moved.csv"
    values = rows * scale + offset
    moved.write_text("a,b,c\n" + "".join(",".join(map(repr, r.tolist())) + "\n" for r in values))
    base = load_file(path, "all", standardize=True)
    data = load_file(moved, "all", standardize=True)
    assert data.x.dtype == torch.float32
    torch.testing.assert_close(data.x, base.x, atol=1e-5, rtol=0)
    assert data.standardizer.mean[0] == pytest.approx(base.standardizer.mean[0] * scale + offset)


def test_values_float32_cannot_hold_are_not_called_infinite(tmp_path):
    path = tmp_path / "huge.csv"
    path.write_text("a,b\n1,2\n3,1e200\n5,6\n")
    with pytest.raises(DataError, match="holds 1 finite but too large value .*float32"):
        load_file(path)


def test_a_csv_names_the_line_and_column_of_a_missing_or_bad_cell(tmp_path):
    """A spreadsheet user looks for line 4, column 'b' (after a header and a blank line), not
    for "example 1, feature 1, counting from 0"; a bad label is named by its line too."""
    path = tmp_path / "table.csv"
    path.write_text("a,b,c\n1,2,3\n\n4,NA,6\n7,8,9\n")
    with pytest.raises(DataError, match=r"the first on line 4, column 'b'\)"):
        load_dataset(path, "all")
    path.write_text("id,a,b\nx,1,inf\ny,2,3\n")
    with pytest.raises(DataError, match=r"the first on line 2, column 'b'\)"):
        load_dataset(path, "all", drop_columns=["id"], allow_missing=True)
    path.write_text("1,2,0\n3,4,1\n5,6,0.5\n")
    with pytest.raises(DataError, match="label of line 3 is 0.5"):
        load_dataset(path, "all", label_column=2)


def test_an_arrays_row_with_no_value_is_refused_as_a_csvs_is_unless_kept(tmp_path):
    x = ROWS.copy()
    x[3] = np.nan
    x[5, 1] = np.nan
    np.save(tmp_path / "rows.npy", x)
    with pytest.raises(DataError, match=r"example 3 \(counting from 0\) has no value at all"):
        load_file(tmp_path / "rows.npy", allow_missing=True)
    kept = load_file(tmp_path / "rows.npy", allow_missing=True, allow_empty=True)
    assert bool(torch.isnan(kept.x[3]).all()) and len(kept) == 40


@pytest.mark.parametrize("name", ["t.tsv", "t.csv.gz", "t.tsv.gz", "T.TSV"])
def test_tab_separated_and_gzipped_tables_read_as_the_csv(tmp_path, name):
    import gzip

    body = "".join(f"{i % 7},{i * i / 3},{i % 2}\n" for i in range(20))
    text = "a,b,label\n1,2,0\n3,4.5,1\n\n-1,,1\n" + body
    (tmp_path / "t.csv").write_text(text)
    if ".tsv" in name.lower():
        text = text.replace(",", "\t")
    raw = text.encode()
    (tmp_path / name).write_bytes(gzip.compress(raw) if name.endswith(".gz") else raw)
    options = dict(label_column="label", allow_missing=True, standardize=True)
    rows = load_dataset(tmp_path / "t.csv", "all", **options)
    other = load_dataset(tmp_path / name, "all", **options)
    torch.testing.assert_close(other.x, rows.x, equal_nan=True)
    assert other.columns == ("a", "b") and other.y.tolist()[:3] == [0, 1, 1] and other.is_table
    assert other.standardizer.to_dict() == rows.standardizer.to_dict()


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("t.tsv", b"a,b\n1,2\n", "separates its cells with commas, not tabs"),
        ("t.csv", b"a\tb\n1\t2\n", "separates its cells with tabs, not commas"),
        ("t.csv.gz", b"a,b\n1,2\n", r"cannot read .*t.csv.gz as gzip"),
    ],
    ids=["commas-in-tsv", "tabs-in-csv", "not-gzip"],
)
def test_a_table_in_another_format_than_its_name_says_is_refused(tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(DataError, match=message):
        load_dataset(tmp_path / name, "all")


def test_a_quoted_tilde_is_named_as_not_expanded():
    """In the one wording of torchlvm._shell (data had its own), naming the path meant: to a
    Python caller (load_dataset said 'no shell expanded', a shell's fix), and on the command
    line."""
    meant = os.path.expanduser("~/surely-not-here-futables.npy")
    with pytest.raises(
        DataNotFoundError, match=r"Python does not expand '~'; pass os.path.ex"
    ) as e:
        load_dataset("~/surely-not-here-futables.npy", "train")
    assert e.value.on_command_line.endswith(f"{UNEXPANDED}; pass {meant}")


def test_an_npz_without_a_data_key_gives_one_fix_not_two(tmp_path):
    path = tmp_path / "two.npz"
    np.savez(path, a=np.ones((4, 2)), b=np.zeros(4))
    with pytest.raises(DataError) as err:
        load_dataset(path, "all")
    assert str(err.value) == (
        f"{path} has no data array (keys: a, b); store the data under one of x, X, data, images"
    )


def test_a_label_column_of_many_numbers_is_a_measured_quantity_not_classes(tmp_path):
    """sklearn's diabetes 'target' (214 values, 25..346, in 442 rows) taken as labels trained and
    gave evaluate's probes one-row classes; 60 classes numbered 0..59, four rows each, are
    classes."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(240, 2))
    cases = {
        "target.csv": rng.integers(25, 347, 240),
        "classes.csv": np.arange(240) % 60,
        "one-row-classes.csv": np.arange(240) % 180,  # 0..179, most with one row: no classes
    }
    for name, y in cases.items():
        np.savetxt(tmp_path / name, np.column_stack([x, y]), delimiter=",", fmt="%g",
                   header="a,b,y", comments="")  # fmt: skip
    assert load_dataset(tmp_path / "classes.csv", "all", label_column="y").num_classes == 60
    with pytest.raises(OptionError) as err:
        load_dataset(tmp_path / "target.csv", "all", label_column="y", drop_columns=["a"])
    assert "the label column, column 'y', holds " in str(err.value)
    assert "(leave out label_column) or leave it out (drop_columns=['a', 'y'])" in str(err.value)
    assert "(leave out --label-column) or leave it out (--drop-columns a y)" in (
        err.value.on_command_line
    )
    with pytest.raises(OptionError, match=r"column 'y' \(label_column=2\), holds 180 distinct"):
        load_dataset(tmp_path / "one-row-classes.csv", "all", label_column=2)
    with pytest.raises(OptionError, match=r"column 'y' \(label_column=-1\), holds 180 distin"):
        load_dataset(tmp_path / "one-row-classes.csv", "all", label_column=-1)  # (readC C7)
    # a later file of a run's classes (to score, fill or encode) may hold a few rows of many
    later = read_rows(tmp_path / "one-row-classes.csv", label_column="y", if_present=True)
    assert later.data.num_classes == 180
    # an archive's such array, which no option leaves out (scikit-learn's X beside a regression
    # y), is read without it and said so: a VAE or PPCA never reads labels (review13 #17)
    np.savez(tmp_path / "t.npz", x=x, y=cases["target.csv"])
    with pytest.warns(UserWarning, match="its labels array holds .*, not classes: read without"):
        assert load_dataset(tmp_path / "t.npz", "all").y is None
    np.savez(tmp_path / "text.npz", x=x, y=np.array(["a", "b"] * 120))  # class names
    assert load_dataset(tmp_path / "text.npz", "all").class_names == ("a", "b")
    np.savez(tmp_path / "names.npz", x=x, y=np.array([f"row {i}" for i in range(240)]))
    with pytest.warns(UserWarning, match="holds 240 distinct names in 240 rows, so it names rows"):
        named = load_dataset(tmp_path / "names.npz", "all")
    assert named.y is None and named.class_names is None


def test_a_text_label_column_that_names_rows_is_no_classes(tmp_path):
    rows = "".join(f"{i % 7},{i % 5},name{i},{'ab'[i % 2]}\n" for i in range(120))
    (tmp_path / "t.csv").write_text("a,b,name,kind\n" + rows)
    data = load_dataset(tmp_path / "t.csv", "all", label_column="kind", drop_columns=["name"])
    assert data.class_names == ("a", "b")
    with pytest.raises(OptionError) as err:
        load_dataset(tmp_path / "t.csv", "all", label_column="name", drop_columns=["kind"])
    assert err.value.on_command_line.endswith(
        "the label column, column 'name', holds 120 distinct names in 120 rows, so it names "
        "rows, not classes; leave it out (--drop-columns kind name)"
    )


@pytest.mark.parametrize(
    "shape, nan_at, where",
    [
        ((4, 8, 8), (2, 3, 5), "in image 2, pixel row 3, column 5, counting from 0"),
        ((4, 3, 8, 8), (1, 2, 0, 7), "in image 1, channel 2, pixel row 0, column 7"),
        ((4, 8, 8, 3), (1, 0, 7, 2), "in image 1, channel 2, pixel row 0, column 7"),
    ],
    ids=["grey", "channels-first", "channels-last"],
)
def test_a_missing_pixel_is_named_as_a_pixel_and_counted_in_the_singular(
    tmp_path, shape, nan_at, where
):
    """An image file with one NaN said "holds 1 missing (NaN or empty) values (the first in
    example 2, feature 29 ...)": one value, a pixel by its row and column, no empty cells."""
    images = np.random.default_rng(0).random(shape, dtype=np.float32)
    images[nan_at] = np.nan
    np.save(tmp_path / "images.npy", images)
    with pytest.raises(DataError) as caught:
        load_file(tmp_path / "images.npy")
    assert f"holds 1 missing (NaN) value (the first {where}" in str(caught.value)
    images[:, 0, 0] = np.nan
    np.save(tmp_path / "images.npy", images)
    with pytest.raises(DataError, match="every one of its 4 images has a missing pixel, so no "):
        load_file(tmp_path / "images.npy")


def test_one_missing_cell_is_counted_in_the_singular(tmp_path):
    path = tmp_path / "table.csv"
    path.write_text("a,b\n1,2\n3,\n5,6\n")
    with pytest.raises(DataError, match=r"holds 1 missing \(NaN or empty\) value \(the first on"):
        load_dataset(path, "all")


def test_an_image_with_no_value_is_named_as_an_image_and_counted_in_the_singular(tmp_path):
    """It said "example 2 (counting from 0) has no value at all (1 such rows); delete those
    rows" of an image file."""
    images = np.random.default_rng(0).random((4, 8, 8), dtype=np.float32)
    images[2] = np.nan
    np.save(tmp_path / "images.npy", images)
    with pytest.raises(DataError, match=r"image 2 \(counting from 0\) has no value at all \(1 "):
        load_file(tmp_path / "images.npy", allow_missing=True)
    with pytest.raises(DataError, match=r"\(1 such image; delete it\)$"):
        load_file(tmp_path / "images.npy", allow_missing=True)


def test_an_archives_text_and_one_hot_labels_are_read_as_classes(tmp_path):
    """An .npz whose y held class names, or one-hot rows, was refused: 'labels must be 60
    numbers, one per example'; y as Python objects said only 'save it with numpy.savez'."""
    x = np.random.default_rng(0).random((60, 8, 8)).astype(np.float32)
    classes = np.arange(60) % 3
    np.savez(tmp_path / "names.npz", x=x, y=np.array(["cat", "dog", "bird"])[classes])
    data = load_file(tmp_path / "names.npz")
    assert data.class_names == ("bird", "cat", "dog") and data.num_classes == 3
    assert data.y.tolist() == [[1, 2, 0][c] for c in classes]  # sorted, as a CSV's are
    np.savez(tmp_path / "one-hot.npz", x=x, y=np.eye(3)[classes])
    assert load_file(tmp_path / "one-hot.npz").y.tolist() == classes.tolist()
    np.savez(tmp_path / "column.npz", x=x, y=classes[:, None])  # (N, 1): one label a row
    assert load_file(tmp_path / "column.npz").y.tolist() == classes.tolist()
    np.savez(tmp_path / "scores.npz", x=x, y=np.full((60, 3), 0.5))  # not one-hot: refused
    with pytest.raises(DataError, match="labels must be 60 numbers, one per example"):
        load_file(tmp_path / "scores.npz")
    np.savez(tmp_path / "objects.npz", x=x, y=np.array(["cat"] * 60, dtype=object))
    with pytest.raises(DataError, match=r"holds Python objects under 'y', which .*astype\(str\)"):
        load_file(tmp_path / "objects.npz")


@pytest.mark.parametrize("y_key", ["targets", "target", "label", "labels", "y"])
def test_an_archives_labels_are_read_under_their_common_names(tmp_path, y_key):
    """Labels saved under torchvision's name (np.savez(path, x=ds.data, targets=ds.targets)) or
    scikit-learn's (target) were not read: a CVAE on the archive was refused as unlabelled."""
    labels = np.arange(40) % 4
    np.savez(tmp_path / "set.npz", images=ROWS, **{y_key: labels})
    data = load_dataset(tmp_path / "set.npz", "all")
    assert data.y.tolist() == labels.tolist() and torch.equal(
        data.x, torch.from_numpy(ROWS).float()
    )


def test_an_archive_with_two_different_label_or_data_arrays_is_refused(tmp_path):
    """An archive with y and targets (or x and data) that differ was read by the first name,
    silently; the same array under two names is read."""
    labels = np.arange(40) % 4
    np.savez(tmp_path / "same.npz", x=ROWS, y=labels, targets=labels)
    assert load_dataset(tmp_path / "same.npz", "all").y.tolist() == labels.tolist()
    np.savez(tmp_path / "two.npz", x=ROWS, y=labels, targets=labels[::-1])
    one = re.escape(repr(str(tmp_path / "two-one.npz")))  # (a free name beside it: readA #6)
    keep = rf"np.savez\({one}, x=f\['x'\], y=f\['{{}}'\]\)"
    fix = f"{keep.format('y')} or {keep.format('targets')}"
    with pytest.raises(
        DataError, match=r"labels under both 'y' and 'targets', and they differ; .*" + fix
    ):
        load_dataset(tmp_path / "two.npz", "all")
    np.savez(tmp_path / "xs.npz", x=ROWS, data=ROWS + 1, labels=labels)
    with pytest.raises(
        DataError, match=r"data under both 'x' and 'data'.* x=f\['data'\], y=f\['labels'\]\)$"
    ):
        load_dataset(tmp_path / "xs.npz", "all")


def test_an_npy_of_python_objects_names_the_line_that_saves_numbers(tmp_path):
    """An .npy of dtype object (a list of rows with a None) was told 'cannot read it as .npy
    (Object arrays cannot be loaded when allow_pickle=False); save it with numpy.save', which
    is what saved it; the line given reads it back as numbers, into a new file (the user's is
    kept), also for an object array of images (userJ #11: `.astype` alone raised 'setting an
    array element with a sequence' there)."""
    rows = np.array([[1, 2.5], [3, None]] * 10, dtype=object)
    images = np.empty(3, dtype=object)
    images[:] = [np.full((4, 4), i, dtype=np.uint8) for i in range(3)]
    for name, array, shape in (("rows", rows, (20, 2)), ("images", images, (3, 16))):
        path = tmp_path / f"{name}.npy"
        np.save(path, array, allow_pickle=True)
        with pytest.raises(DataError) as error:
            load_file(path)
        said = str(error.value)
        assert said.startswith(f"{path} holds Python objects (dtype object)")
        line = said.split("(np.save(", 1)[1].split(", which also stacks")[0]
        exec(f"np.save({line}", {"np": np})  # the fix, as given
        assert said.endswith("and pass that file")
        made = load_file(tmp_path / f"{name}-numbers.npy", allow_missing=True)
        assert made.x.reshape(len(made.x), -1).shape == shape


@pytest.mark.parametrize("mmap", [False, True], ids=["read", "streamed"])
def test_an_npy_of_one_dict_names_the_line_that_saves_its_arrays(tmp_path, mmap):
    """`np.save('d.npy', {'data': x, 'target': y})` writes one pickled object of shape (): the
    line offered for an array of objects raised 'iteration over a 0-d array' on it (review12
    #9), and a streamed read said only that it needs a real dtype. The line given saves the
    dict's arrays as an archive, under a new name, which torchlvm reads with its labels."""
    rows, labels = np.arange(40, dtype=np.float32).reshape(20, 2), np.arange(20) % 2
    path = tmp_path / "d.npy"
    np.save(path, {"data": rows, "target": labels}, allow_pickle=True)
    with pytest.raises(DataError) as error:
        load_dataset(path, "all", mmap=mmap)
    said = str(error.value)
    assert said.startswith(f"{path} holds one pickled Python object (shape (), as np.save")
    line = said.split("for a dict of arrays, ", 1)[1].split(" saves them")[0]
    exec(line, {"np": np})  # the fix, as given
    assert said.endswith(f"np.load({str(path)!r}, allow_pickle=True).item() shows what it holds")
    made = load_file(tmp_path / "d-arrays.npz")
    assert np.array_equal(made.x.numpy(), rows) and made.y.tolist() == labels.tolist()


def test_byte_labels_of_an_npz_are_read_as_their_text(tmp_path):
    """Labels stored as bytes (h5py's strings, dtype 'S') were read as class names "b'cat'",
    which no --condition could name (review13 #2): they are read as their UTF-8 text; bytes of
    another encoding are refused with the line that decodes them, which then reads."""
    x = np.arange(24, dtype=np.float32).reshape(6, 4)
    path = tmp_path / "b.npz"
    np.savez(path, x=x, y=np.array([b"cat", b"dog", "Kätze".encode()] * 2))
    read = load_file(path)
    assert read.class_names == ("Kätze", "cat", "dog") and read.y.tolist() == [1, 2, 0] * 2
    latin = tmp_path / "latin.npz"
    np.savez(latin, x=x, y=np.array([b"cat", b"dog", "Kätze".encode("latin-1")] * 2))
    with pytest.raises(DataError) as refused:
        load_file(latin)
    said = str(refused.value)
    assert said.startswith(f"{latin}: its labels ('y') are bytes that are not UTF-8 text")
    exec(said.split("decode them with their encoding (")[1].split(") and pass")[0], {"np": np})
    assert load_file(tmp_path / "latin-text.npz").class_names == ("Kätze", "cat", "dog")


@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_a_record_array_and_a_single_column_name_the_lines_that_make_them_readable(
    tmp_path, monkeypatch, suffix
):
    """`np.save('rec.npy', df.to_records(index=False))` printed its whole dtype and "needs a
    numeric array"; a 1-D array only the shapes it lacks (review13 #19). Each names a line
    that makes a file torchlvm reads: the table as CSV, the feature as one column of rows. In
    an archive the lines load its data key: np.load('F.npz').reshape failed on the archive,
    and pandas wrote a CSV of its key names (readA #7, #8)."""
    pandas = pytest.importorskip("pandas")
    monkeypatch.chdir(tmp_path)
    frame = pandas.DataFrame({"a": [1.5, 2.5, 3.5], "b": [1, 2, 3], "kind": [0, 1, 0]})
    save = np.save if suffix == ".npy" else (lambda name, a: np.savez(name, x=a))
    save(f"rec{suffix}", frame.to_records(index=False))
    save(f"one{suffix}", np.array([1.0, 2.0, 4.0]))
    lines = {}
    starts = {f"rec{suffix}": "save it as one (", f"one{suffix}": "save it as rows ("}
    for name, start in starts.items():
        with pytest.raises(DataError) as refused:
            load_file(name)
        said = str(refused.value)
        lines[name] = said.split(start)[1].split(") and pass that file")[0]
        assert not name.startswith("rec") or "a table of 3 named columns ('a', 'b', 'kind')" in said
    for line in lines.values():
        exec(line, {"np": np, "pandas": pandas})
    table = load_file("rec.csv", label_column="kind")
    assert table.x.shape == (3, 2) and table.y.tolist() == [0, 1, 0]
    assert load_file("one-rows.npy").x.shape == (3, 1)


def test_allow_missing_leaves_out_rows_of_no_value_naming_their_lines(tmp_path):
    """table10: `fit/train --allow-missing` refused a row of no value (delete it), where rows
    of no label are left out with one line: such rows are left out alike, every read the same,
    and the other options keep their rules."""
    path = tmp_path / "t.csv"
    rows = [f"{i}.5,{i % 3},{'x' if i % 2 else 'y'}" for i in range(12)]
    rows[3], rows[7] = "NA,,y", ",NA,x"
    rows[9] = "9.5,,x"  # one value: kept
    path.write_text("a,b,kind\n" + "\n".join(rows) + "\n")
    with pytest.warns(
        UserWarning, match=r"2 rows have no value in any feature column \(lines 5, 9"
    ):
        read = read_rows(path, allow_missing=True, label_column="kind")
    assert read.lines.tolist() == [2, 3, 4, 6, 7, 8, 10, 11, 12, 13]
    kept = [0, 1, 2, 4, 5, 6, 8, 9, 10, 11]  # each row's own label ('x' 0, 'y' 1)
    assert read.data.y.tolist() == [i % 2 == 0 for i in kept]
    with pytest.raises(DataError, match=r"line 5 has no value .* lines 5, 9; delete them"):
        read_rows(path, allow_missing=True, allow_empty="columns", label_column="kind")
    assert (
        len(read_rows(path, allow_missing=True, allow_empty=True, label_column="kind").data) == 12
    )
    with pytest.raises(DataError, match=r"line 5 has no value"):
        read_rows(path, label_column="kind")


def test_whole_number_codes_of_a_measured_quantity_are_still_refused(tmp_path):
    """Codes read as classes named by their values are checked as numbers first: ages 18..90
    (73 values, many rows each) are a measured quantity; grades 1..60 (1..C) are classes."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 2))
    for name, y in {
        "age.csv": 18 + np.arange(600) % 73,
        "grade.csv": 1 + np.arange(600) % 60,
    }.items():
        np.savetxt(tmp_path / name, np.column_stack([x, y]), delimiter=",", fmt="%g",
                   header="a,b,y", comments="")  # fmt: skip
    with pytest.raises(OptionError, match=r"holds 73 distinct numbers \(18 to 90\).*measured"):
        load_dataset(tmp_path / "age.csv", "all", label_column="y")
    grades = load_dataset(tmp_path / "grade.csv", "all", label_column="y")
    assert grades.num_classes == 60 and grades.class_names[:3] == ("1", "2", "3")


@pytest.mark.parametrize("mmap", [False, True], ids=["loaded", "streamed"])
@pytest.mark.parametrize("shape", [(4, 3, 5, 3), (4, 1, 6, 3), (4, 3, 6, 1)], ids=str)
def test_an_array_whose_channels_may_be_first_or_last_is_read_first_with_a_warning(
    tmp_path, shape, mmap
):
    """(N, 3, H, 3) was silently read channels first: the reading is said, with the fix; a
    streamed read (--mmap) said nothing."""
    path = tmp_path / "x.npy"
    np.save(path, np.random.default_rng(0).random(shape, dtype=np.float32))
    with pytest.warns(UserWarning, match=r"read as \d channels? of .* x.transpose\(0, 3, 1, 2\)"):
        data = load_dataset(path, "all", mmap=mmap)
    assert data.shape == shape[1:]


@pytest.mark.parametrize("mmap", [False, True], ids=["loaded", "streamed"])
@pytest.mark.parametrize("shape", [(4, 3, 5, 6), (4, 5, 6, 3), (4, 1, 5, 1)], ids=str)
def test_an_array_of_one_channel_order_is_read_without_a_warning(tmp_path, shape, mmap):
    import warnings

    path = tmp_path / "x.npy"
    np.save(path, np.random.default_rng(0).random(shape, dtype=np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_dataset(path, "all", mmap=mmap)


def test_missing_cells_offer_a_fill_that_exists_in_both_interfaces(tmp_path):
    """A CVAE on a table with empty cells was told "pass --allow-missing ...; or fill the missing
    values in", then, with --allow-missing, to drop it: two refusals pointing at each other, and
    no word of the fill torchlvm has (userG #13). The fill is named as each interface runs it."""
    path = tmp_path / "holes.csv"
    path.write_text("a,b\n1,2\n3,\n5,6\n7,8\n")
    with pytest.raises(DataError) as refused:
        load_dataset(str(path), "all")
    assert (
        f"or fill them in first (torchlvm fit ppca --data {path} --allow-missing --method em "
        f"--out RUN, then torchlvm impute RUN --data {path} --out filled.csv)"
    ) in refused.value.on_command_line
    python = "or fill them in first (PPCA(method='em').fit(X).impute(X) on its rows X)"
    assert python in str(refused.value)


@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_the_fill_offered_for_an_array_file_runs_as_printed(tmp_path, monkeypatch, suffix):
    """The fill offered for an .npy with NaN cells left its path unquoted (a folder with a
    space split it) and its `fit ppca` lacked --latent-dim, which an array file needs; an .npz
    was offered Python with X unbound (review13 #1). Each line now runs as printed: an archive's
    data saved as an .npy first (impute fills an .npy or a table)."""
    import shlex

    from torchlvm import cli

    x = np.random.default_rng(0).normal(size=(60, 4))
    x[3, 1] = np.nan
    (tmp_path / "my dir").mkdir()
    path = tmp_path / "my dir" / f"nan a{suffix}"
    np.save(path, x) if suffix == ".npy" else np.savez(path, data=x, y=np.arange(60) % 2)
    with pytest.raises(DataError) as refused:
        load_dataset(str(path), "all")
    offered = refused.value.on_command_line.split("or fill them in first (", 1)[1][:-1]
    monkeypatch.chdir(tmp_path)
    for line in offered.split(", then "):
        if line.startswith("np.save("):
            exec(line, {"np": np})
            continue
        assert cli.main(shlex.split(line)[1:]) == 0, line
    filled = np.load(tmp_path / "filled.npy")
    assert filled.shape == (60, 4) and np.isfinite(filled).all()
    assert np.array_equal(np.delete(filled, 13), np.delete(x, 13))  # the cells it had, kept


@pytest.mark.parametrize("standardize", [False, True], ids=["as-stored", "standardized"])
def test_a_table_read_in_float64_keeps_every_digit_of_its_cells(tmp_path, standardize):
    """A table was read in float32 whatever read it: a PPCA, which computes in float64, scored
    rows off by up to 2.7e-5 nats from a float64 computation (userG #3). ``dtype="float64"``
    keeps each cell as float64 parses it (standardized in float64); float32 stays the
    default, for the deep models."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(60, 3)) * [1e3, 1.0, 1e-3] + [5e4, 0.0, 1.0]  # (N, D) mixed units
    path = tmp_path / "t.csv"
    path.write_text("a,b,c\n" + "".join(",".join(map(repr, r)) + "\n" for r in x.tolist()))
    wide = load_file(path, "all", standardize=standardize, dtype="float64")
    assert wide.x.dtype == torch.float64
    expected = x if not standardize else (x - wide.standardizer.mean) / wide.standardizer.scale
    np.testing.assert_allclose(wide.x.numpy(), expected, rtol=1e-15, atol=1e-15)
    narrow = load_file(path, "all", standardize=standardize)
    assert narrow.x.dtype == torch.float32
    assert torch.equal(narrow.x, wide.x.float())


def test_a_precision_torchlvm_does_not_read_in_is_refused(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2\n3,4\n")
    with pytest.raises(ConfigError, match="dtype must be one of"):
        read_rows(path, dtype="float16")
    np.save(tmp_path / "rows.npy", ROWS)
    with pytest.raises(OptionError, match=r"needs a full load \(dtype='float64'\)"):
        load_dataset(tmp_path / "rows.npy", "all", mmap=True, dtype="float64")


def test_a_mistyped_data_file_is_offered_the_close_name_beside_it(tmp_path, monkeypatch):
    """userP #10: `--data wine_hole.csv` beside wine_holes.csv was told only "does not exist;
    check the path", and `--data wine_holes` (no .csv) "unknown dataset"."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "wine_holes.csv").write_text("a,b\n1,2\n3,4\n")
    with pytest.raises(DataNotFoundError, match=r"does not exist; did you mean wine_holes.csv\?"):
        load_file("wine_hole.csv")
    with pytest.raises(ConfigError, match=r"did you mean the file wine_holes.csv \(--data wine"):
        load_dataset("wine_holes", "all")
    with pytest.raises(DataNotFoundError, match=r"other.csv does not exist; check the path"):
        load_file("other.csv")


def test_a_data_file_named_in_another_case_is_offered_the_name_beside_it(tmp_path, monkeypatch):
    """review14 R35: `--data WineL.CSV` beside winel.csv was told only to check the path (to
    difflib, four of its letters differ)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "winel.csv").write_text("a,b\n1,2\n3,4\n")
    for typed in ("WineL.CSV", "WINEL.csv"):
        with pytest.raises(DataNotFoundError, match=r"does not exist; did you mean winel.csv\?"):
            load_file(typed)


def test_standardized_fits_on_the_split_it_is_given_and_asks_for_one():
    """review16 R6: files.standardized(data, True) with no split fell to an IndexError; it
    takes the one computed split (splits.split_parts) and names what it lacks."""
    import torch

    from torchlvm.data.dataset import Dataset
    from torchlvm.data.files import FRACTIONS, standardized
    from torchlvm.data.splits import split_parts

    x = torch.arange(40.0).reshape(20, 2)
    data = Dataset(x=x, y=None, name="t.csv", split="all", shape=(2,), num_classes=None,
                   class_names=None, binarize="none", columns=("a", "b"))  # fmt: skip
    with pytest.raises(ValueError, match="fits on the train part: pass parts="):
        standardized(data, True, parts=None)
    parts = split_parts(data, fractions=FRACTIONS, seed=3)
    done = standardized(data, True, parts=parts)
    assert done.standardizer.mean == tuple(x[torch.from_numpy(parts[0])].double().mean(0).tolist())
