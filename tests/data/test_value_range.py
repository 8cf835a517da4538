"""A later file in other units than the model's training data (review13 #7): a run fit on 8-bit
images learned values in [0, 1]; the same images saved as floats (how NaN marks a missing pixel)
are read as stored, 0..255, and PPCA imputed pixels of -156 and scored rows at 8.6 million nats,
without a word. The commands that read a later file for a run refuse it, naming the rescaling."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from torchlvm import cli
from torchlvm.data.binarize import Values
from torchlvm.data.value_range import trained_range, units_slip


@pytest.fixture(scope="module")
def eight_bit_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PPCA fit on 200 uint8 images of 6x6 (levels 0..240), in a folder with float copies."""
    folder = tmp_path_factory.mktemp("units")
    levels = np.random.default_rng(0).integers(0, 241, size=(200, 6, 6)).astype(np.uint8)
    np.save(folder / "u8.npy", levels)
    stored = levels[:10].astype(np.float32)  # the same images as floats, read as stored
    np.save(folder / "as stored.npy", stored)
    np.save(folder / "divided.npy", stored / 255)
    holes = stored.copy()
    holes[:, 1:3, 1:3] = np.nan
    np.save(folder / "holes.npy", holes)
    argv = ["fit", "ppca", "--data", "u8.npy", "--latent-dim", "2", "--out", "run"]
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        assert cli.main(argv) == 0
    return folder


@pytest.mark.parametrize(
    "argv",
    [
        ["score", "run", "--data", "as stored.npy", "--out", "s.csv"],
        ["encode", "run", "--data", "as stored.npy", "--out", "e.csv"],
        ["reconstruct", "run", "--data", "as stored.npy", "--out", "r.png"],
        ["impute", "run", "--data", "holes.npy", "--out", "filled.npy"],
    ],
    ids=lambda argv: argv[0],
)
def test_a_float_copy_of_eight_bit_images_is_refused_naming_the_rescaling(
    eight_bit_run: Path, argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    monkeypatch.chdir(eight_bit_run)
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    name = argv[3]
    stored = np.load(eight_bit_run / name)
    seen = np.abs(stored[np.isfinite(stored) & (stored != 0)])
    assert err == (
        f"torchlvm: error: {name} holds values up to 240 (half of those not 0 above "
        f"{np.median(seen):.3g}), but the model in run was trained on values in [0, 0.941]; "
        "they look like 8-bit levels read as stored: divide them by 255, "
        f"np.save('{name[:-4]}-01.npy', np.load('{name}') / 255)\n"
    )
    assert not (eight_bit_run / argv[-1]).exists()


def test_the_offered_rescaling_is_read_as_the_run_learned(
    eight_bit_run: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    """The line run as offered gives the values of the 8-bit file: the same scores."""
    monkeypatch.chdir(eight_bit_run)
    np.save("u8-10.npy", np.load("u8.npy")[:10])
    for data, out in (("divided.npy", "a.csv"), ("u8-10.npy", "b.csv")):
        assert cli.main(["score", "run", "--data", data, "--out", out]) == 0
    capsys.readouterr()
    a, b = (np.genfromtxt(f, delimiter=",", names=True)["neg_log_p"] for f in ("a.csv", "b.csv"))
    np.testing.assert_allclose(a, b, rtol=1e-5)
    assert json.loads(Path("run/config.json").read_text())["data"]["value_range"] == [
        0.0,
        pytest.approx(240 / 255),
    ]


def test_units_are_judged_by_the_range_the_run_learned() -> None:
    """Only a file far above a [0, 1] training range is refused: a little above 1 (noise), a run
    trained on values as stored (0..255), a table and an unknown file say nothing."""
    levels = Values(0, 100, 0.0, 255.0, True)
    grey = {"name": "digits"}  # (a run from before the record: a dataset of grey levels)
    assert trained_range(grey) == (0.0, 1.0)
    assert units_slip(levels, "x.npz", grey, "m", 120.0).endswith("divide them by 255")
    assert units_slip(levels, "x.npz", grey, "m").endswith("divide them by 255")  # (streamed)
    assert units_slip(levels, "x.npz", grey, "m", 0.4) is None  # (a few far out: outliers)
    floats = Values(3, 100, -0.5, 37.25, False)
    assert units_slip(floats, "x.npy", grey, "m", 12.5).endswith(
        "other units: rescale them as the training data were"
    )
    assert units_slip(floats, "x.npy", grey, "m") is None  # (streamed: whole levels only)
    assert units_slip(Values(0, 100, 0.0, 1.3, False), "x.npy", grey, "m", 1.0) is None
    assert units_slip(levels, "x.npy", {"name": "a.npy", "value_range": [0, 255]}, "m") is None
    divided = Values(0, 100, 0.0, 0.94, False)  # (the mirror: levels divided, readA #16)
    images = {"value_range": [0, 255], "value_whole": True, "shape": [1, 8, 8]}
    assert units_slip(divided, "x.npy", images, "m").endswith(
        "multiply them by 255, as the training data were"
    )
    assert units_slip(divided, "x.npy", {**images, "value_range": [-3.1, 4.2]}, "m") is None
    counts = Values(0, 100, 0.0, 1.0, True)  # (0/1 values: no fractions of levels)
    assert units_slip(counts, "x.npy", images, "m") is None
    rows = {"value_range": [0, 20], "shape": [6]}  # (measurements: a row of small ones, readA #18)
    assert units_slip(divided, "x.npy", rows, "m") is None
    other = {**images, "value_whole": False}  # (an image model of other values: review13 #29)
    assert units_slip(divided, "x.npy", other, "m") is None
    assert units_slip(levels, "x.npy", {"name": "table.csv"}, "m") is None


@pytest.mark.parametrize(
    ("stored", "pixels", "learned"),
    [
        (np.arange(64, dtype=np.int64).reshape(1, 8, 8) * 4, 4, (0.0, 1.0)),
        (np.arange(64, dtype=np.uint8).reshape(1, 8, 8) * 4, 4, (0.0, 1.0)),
        (np.arange(64, dtype=np.uint8).reshape(1, 8, 8) * 4, 1, None),  # read 0..255 then
        (np.arange(64, dtype=np.float32).reshape(1, 8, 8) * 4, 4, None),  # floats: as stored
        (np.arange(64, dtype=np.int64).reshape(1, 64) * 4, 4, None),  # rows, not images
    ],
    ids=["int64-images", "uint8-images", "uint8-reading-1", "float-images", "int64-rows"],
)
def test_a_run_before_the_record_on_a_file_of_levels_learned_them_divided(
    tmp_path, stored, pixels, learned
):
    """userM #6: a run made before the value-range record, trained on a file of integer levels
    (read divided by 255), took a later file of 0..255 floats with NaN cells, and impute filled
    them with values in [0, 1] among the 0..255 ones, exit 0. Where its file is in place and
    read as it is now, its range is [0, 1]; otherwise it is not known (None)."""
    path = tmp_path / "train.npy"
    np.save(path, np.repeat(stored, 3, axis=0))
    data = {"name": str(path), "pixels": pixels, "shape": [1, 8, 8]}
    assert trained_range(data) == learned
    later = Values(10, 6400, 0.0, 255.0, True)
    slip = units_slip(later, "later.npy", data, "the model", 120.0)
    assert (slip is not None) == (learned is not None)
    path.unlink()  # moved away: nothing known
    assert trained_range(data) is None


def test_eight_bit_rows_are_judged_as_images_are(tmp_path, capsys, monkeypatch):
    """uint8 rows (N, D) are divided by 255 as images are, and their float copy was scored at
    8.6 million nats without a word (review13 #22): an array's rows record their range too."""
    monkeypatch.chdir(tmp_path)
    levels = np.random.default_rng(0).integers(0, 241, size=(200, 12)).astype(np.uint8)
    np.save("rows.npy", levels)
    np.save("rows-float.npy", levels[:10].astype(np.float32))
    assert cli.main(["fit", "ppca", "--data", "rows.npy", "--latent-dim", "2", "--out", "r"]) == 0
    assert cli.main(["score", "r", "--data", "rows-float.npy", "--out", "s.csv"]) == 2
    err = capsys.readouterr().err
    assert "rows-float.npy holds values up to 240 (half of those not 0 above " in err
    assert "but the model in r was trained on values in [0, 0.941]" in err


def test_a_few_values_far_out_are_outliers_to_score_not_other_units(tmp_path, capsys, monkeypatch):
    """A file of rows in [0, 1] with one cell of 3.0 was refused whole as 'in other units'
    (readA #1), and then one new row with one far cell, a sixth of its values (readA #5):
    score is there to rank such rows. Only values mostly far out are other units."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    np.save("rows.npy", rng.random((300, 6)).astype(np.float32))
    later = rng.random((50, 6)).astype(np.float32)
    later[0, 0] = 3.0
    np.save("later.npy", later)
    np.save("one.npy", later[:1])
    shifted = later.copy()
    shifted[:, 2] += 40.0  # (a file of known anomalies: one feature shifted in every row)
    np.save("shifted.npy", shifted)
    assert cli.main(["fit", "ppca", "--data", "rows.npy", "--latent-dim", "2", "--out", "r"]) == 0
    assert cli.main(["score", "r", "--data", "later.npy", "--out", "s.csv", "--top", "1"]) == 0
    assert "rank 1: row 1," in capsys.readouterr().out  # (the row with the far value, first)
    sparse = np.zeros((1, 6), np.float32)
    sparse[0, 4] = 5.0  # (zeros and one spike: review13 #26)
    np.save("sparse.npy", sparse)
    for data in ("one.npy", "shifted.npy", "sparse.npy"):
        assert cli.main(["score", "r", "--data", data, "--out", f"{data}.csv"]) == 0
    np.save("percent.npy", later * 100)  # (every value in other units: refused)
    assert cli.main(["score", "r", "--data", "percent.npy", "--out", "p.csv"]) == 2
    assert "they are in other units: rescale them" in capsys.readouterr().err


def test_images_of_another_layout_with_as_many_pixels_are_refused(
    eight_bit_run, capsys, monkeypatch
):
    """score and impute of an array file checked only its count of values: 6x6 images relaid as
    4x9 were scored, or filled from the wrong neighbours, as if they were the run's pictures
    (readA #13), where encode and reconstruct refuse them."""
    monkeypatch.chdir(eight_bit_run)
    images = np.load("u8.npy")[:10]
    np.save("relaid.npy", images.reshape(10, 4, 9))
    holes = (images / 255).reshape(10, 4, 9)
    holes[:, 0, 0] = np.nan
    np.save("relaid-holes.npy", holes)
    for argv in (["score", "run", "--data", "relaid.npy", "--out", "s4.csv"],
                 ["impute", "run", "--data", "relaid-holes.npy", "--out", "f4.npy"]):  # fmt: skip
        assert cli.main(argv) == 2
        assert "holds 4×9 images (36 values each) but the model in run takes 6×6 images (36 " \
            "values each): as many values in another layout" in capsys.readouterr().err  # fmt: skip


def test_outside_trained_counts_values_beyond_the_recorded_range():
    """review14 R1: one count of a model's outputs outside its trained range, for impute and
    sample alike, from the run's record (or [0, 1] for a dataset of grey levels by name)."""
    import torch

    from torchlvm.data.value_range import Outside, outside_trained

    values = torch.tensor([[-0.5, 0.2], [2.0, 16.5]])
    assert outside_trained(values, {"value_range": [0.0, 16.0]}) == Outside(
        2, 4, -0.5, 16.5, 0.0, 16.0
    )
    assert outside_trained(values, {"name": "digits"}) == Outside(3, 4, -0.5, 16.5, 0.0, 1.0)
    assert outside_trained(values, {"value_range": [-1.0, 17.0]}) is None
    assert outside_trained(values, {"name": "my.csv"}) is None  # (range not known)
    assert outside_trained(torch.empty(0), {"name": "digits"}) is None


def test_a_tables_range_is_each_columns_and_outside_columns_counts_by_column():
    """userP #5: a table's columns are each in their own units, so a fill is outside where it
    leaves its own column's range; NaN (a cell not filled) is not looked at."""
    from dataclasses import replace

    import torch

    from torchlvm.data.dataset import Dataset
    from torchlvm.data.standardize import Standardizer
    from torchlvm.data.value_range import Outside, outside_columns, range_record

    x = torch.tensor([[1.0, 100.0, float("nan")], [3.0, 300.0, float("nan")], [2.0, 50.0, 7.0]])
    raw = Dataset(x=x, y=None, name="t.csv", split="train", shape=(3,), num_classes=None,
                  class_names=None, binarize="none", columns=("a", "b", "c"))  # fmt: skip
    recorded = {"column_range": [[1.0, 50.0, 7.0], [3.0, 300.0, 7.0]]}
    assert range_record(raw) == recorded
    scaler = Standardizer.fit(x[:, :2].double())
    standardized = replace(raw, x=scaler.transform(x[:, :2]), shape=(2,), columns=("a", "b"),
                           standardizer=scaler)  # fmt: skip
    assert range_record(standardized) == {"column_range": [[1.0, 50.0], [3.0, 300.0]]}
    fills = torch.tensor([[0.0, 200.0, float("nan")], [2.0, 400.0, 7.0]])
    found = outside_columns(fills, recorded["column_range"])
    assert (found.count, found.total, found.least, found.most) == (2, 5, 0.0, 400.0)
    assert found.columns == (
        (0, Outside(1, 2, 0.0, 2.0, 1.0, 3.0)),
        (1, Outside(1, 2, 200.0, 400.0, 50.0, 300.0)),
    )
    inside = torch.tensor([[1.0, 50.0, 7.0], [3.0, 300.0, 7.0]])
    assert outside_columns(inside, recorded["column_range"]) is None


def test_a_tables_values_are_compared_with_their_columns_range_as_written():
    """review15 R9 / R3: the one rule of a table's values outside their column's range compares
    them as the file writes them (a draw of -0.003 written '0' is not below 0; one of 10.04
    written '10.0' is not above 10), and a Bernoulli's 0/1 draws with the range the model sees
    (a column of greys up to 0.3 holds 1s as drawn; one of 0s only holds none)."""
    import torch

    from torchlvm.data.value_range import as_written, outside_columns

    columns = [[0.0, 0.0], [10.0, 0.0]]
    values = torch.tensor([[-0.003, 0.0], [10.04, 0.0]], dtype=torch.float64)
    assert outside_columns(values, columns).count == 2  # (as computed)
    assert outside_columns(values, columns, [0, 1]) is None  # (as written)
    assert as_written(values, [0, None]).tolist() == [[0.0, 0.0], [10.0, 0.0]]
    draws = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    found = outside_columns(draws, [[0.0, 0.0], [0.3, 0.0]], binary=True)
    assert found is not None and [j for j, _ in found.columns] == [1] and found.count == 1
