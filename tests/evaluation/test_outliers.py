"""Outlier detection: AUROC/AUPRC against known orderings; OOD sets of another shape are refused
unless an explicit resize is asked for, and the resize is recorded; the typicality score flags
data that is *more* likely than typical (the Nalisnick et al. trap) where the raw score fails."""

import math
import re
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from torchlvm.data import Dataset, load_dataset
from torchlvm.errors import ConfigError, DataError
from torchlvm.evaluation.outliers import (
    OODSet,
    default_ood_sets,
    detection_metrics,
    make_ood_set,
    outlier_report,
    resize_images,
)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", "test")


def test_perfect_and_reversed_orderings():
    low, high = torch.arange(10.0), torch.arange(10.0) + 100
    assert detection_metrics(low, high)["auroc"]["value"] == 1.0
    assert detection_metrics(low, high)["auprc"]["value"] == pytest.approx(1.0)
    assert detection_metrics(high, low)["auroc"]["value"] == 0.0
    assert detection_metrics(low, high)["auprc"]["chance"] == 0.5


def test_noise_and_flip_have_the_reference_shape(digits):
    noise = make_ood_set("noise", digits, n=50, seed=0)
    flip = make_ood_set("flip", digits, n=50)
    assert noise.x.shape == (50, 64) and 0 <= noise.x.min() and noise.x.max() <= 1
    expected = digits.x[:50].reshape(-1, 8, 8).flip(1).reshape(-1, 64)
    assert torch.equal(flip.x, expected)


def test_another_shape_without_resize_is_an_error(digits):
    import torchlvm.data.factors  # noqa: F401  (registers "shapes", 16x16 images)

    with pytest.raises(DataError, match=r"shape \(1, 16, 16\).*explicit resize") as err:
        make_ood_set("shapes", digits, n=20, resize="none")
    # the fix as each interface spells it (review13 #20a: Python was told the CLI's flag)
    assert "resize (ood_resize='bilinear' or ood_resize='area')" in str(err.value)
    assert "(--ood-resize bilinear or --ood-resize area)" in err.value.on_command_line


def test_an_explicit_resize_is_applied_and_recorded(digits):
    import torchlvm.data.factors  # noqa: F401

    ood = make_ood_set("shapes", digits, n=20, resize="area")
    assert ood.x.shape == (20, 64)
    assert "resized from (1, 16, 16) to (1, 8, 8) (area)" in ood.description


def test_non_image_data_cannot_be_resized(digits):
    with pytest.raises(DataError, match="not an image"):
        make_ood_set("two-moons", digits, n=20, resize="bilinear")


def test_the_in_distribution_dataset_is_not_an_ood_set(digits):
    with pytest.raises(ConfigError, match="in-distribution dataset itself"):
        make_ood_set("digits", digits, n=20)


def test_resize_preserves_constant_images():
    x = torch.full((3, 16 * 16), 0.25)
    out = resize_images(x, (1, 16, 16), (1, 28, 28), "bilinear")
    torch.testing.assert_close(out, torch.full((3, 28 * 28), 0.25))


def test_typicality_catches_inputs_that_are_too_likely():
    generator = torch.Generator().manual_seed(0)
    # a toy "model" whose −log p(x) is x itself: in-distribution values around 10 ± 1, the OOD
    # set sits at 5 — *more* likely than any typical input, like MNIST under a Fashion model
    in_test = 10 + torch.randn(400, 1, generator=generator)
    in_val = 10 + torch.randn(400, 1, generator=generator)
    ood = OODSet("too-likely", 5 + 0.5 * torch.randn(400, 1, generator=generator), "toy")
    report = outlier_report(
        lambda x: x[:, 0], in_test, in_val, [ood], prepare=lambda x: x, score_name="toy",
        likelihood=True,
    )  # fmt: skip
    entry = report["sets"]["too-likely"]
    assert entry["score"]["auroc"]["value"] < 0.05  # the raw likelihood score is fooled
    assert entry["typicality"]["auroc"]["value"] > 0.95  # the typicality score is not


def test_a_file_as_ood_set_is_used_whole(digits, tmp_path):
    rows = np.random.default_rng(0).random((37, 64)).astype(np.float32)
    np.save(tmp_path / "odd.npy", rows)
    ood = make_ood_set(str(tmp_path / "odd.npy"), digits, n=10, seed=0)
    assert ood.x.shape == (37, 64) and "all 37 images" in ood.description  # (userM #2)


@pytest.mark.parametrize(
    ("name", "shape", "expected"),
    [
        ("digits", (1, 8, 8), ("noise", "flip", "other", "mnist")),
        ("mnist", (1, 28, 28), ("noise", "flip", "other")),
        ("faces.npy", (1, 4, 4), ("noise", "flip", "mnist")),
    ],
    ids=["digits", "mnist-leaves-itself-out", "no-partner-leaves-other-out"],
)
def test_the_default_ood_sets_are_those_that_apply_to_the_data(name, shape, expected):
    """evaluate's default list had mnist for an mnist run, then reported 'OOD set mnist is the
    in-distribution dataset itself; choose another' though the user chose nothing."""
    x = torch.zeros(2, math.prod(shape))
    reference = Dataset(x, None, name, "test", shape, None, None, "none")
    assert default_ood_sets(reference, ("noise", "flip", "other", "mnist")) == expected


def test_check_ood_name_refuses_by_the_name_alone_what_make_ood_set_would(tmp_path) -> None:
    """The check evaluate makes before its minutes of sampling lives beside make_ood_set: the
    synthetic sets and registered datasets pass, a missing file, an unknown name and a dataset
    beside a table run do not."""
    from torchlvm.errors import ConfigError, DataNotFoundError
    from torchlvm.evaluation.ood_names import SYNTHETIC_OOD, check_ood_name

    for name in (*SYNTHETIC_OOD, "digits"):
        check_ood_name(name, table=False)
    rows = tmp_path / "rows.csv"
    rows.write_text("a,b\n1,2\n")
    check_ood_name(str(rows), table=True)
    with pytest.raises(DataNotFoundError, match="does not exist"):
        check_ood_name(str(tmp_path / "gone.csv"), table=True)
    with pytest.raises(ConfigError, match="takes files of rows"):
        check_ood_name("noise", table=True)
    with pytest.raises(ConfigError):
        check_ood_name("no-such-set", table=False)


@pytest.mark.parametrize(
    "values, found, fix",
    [
        (np.arange(0, 256, 4.0).reshape(4, 1, 4, 4), "0..252", "divided by 255"),  # not uint8
        (np.linspace(-1.0, 2.0, 64).reshape(4, 1, 4, 4), "-1..2", "rescale it to [0, 1], save"),
    ],
    ids=["8-bit", "real"],
)
def test_a_file_a_binarized_run_cannot_take_is_refused_before_any_resize(
    digits, tmp_path, values, found, fix
) -> None:
    """A 0..255 file beside a binarized run was refused only when scored, after the sampling, by
    binarize's 'or use binarize='none'' (a Python keyword, and no fix for a run trained
    binarized); resized first, its values would be clipped to [0, 1] and pass. It is refused
    when made (evaluate makes a file's set when its options are read, too)."""
    from torchlvm.evaluation.ood_names import check_ood_values

    path = str(tmp_path / "odd.npy")
    np.save(path, values)
    for binarize in ("dynamic", "threshold"):
        with pytest.raises(DataError, match=f"OOD set '.*odd.npy' holds {re.escape(found)}, ") as e:
            make_ood_set(path, digits, n=4, resize="bilinear", binarize=binarize)
        assert fix in str(e.value) and "binarize=" not in str(e.value)
    assert make_ood_set(path, digits, n=4, resize="bilinear").x.shape == (4, 64)  # any range
    check_ood_values(torch.rand(3, 64), "dynamic", "noise")


def test_an_image_file_with_missing_values_is_refused_with_a_fix_evaluate_has(
    digits, tmp_path
) -> None:
    """A file of images with a NaN was refused by the file reader's 'pass --allow-missing (in
    Python allow_missing=True): PPCA's EM and the VAE's MIWAE bound fit around missing values',
    an option evaluate does not have."""
    values = np.random.default_rng(0).random((5, 1, 8, 8))
    values[3, 0, 2, 2] = np.nan
    path = str(tmp_path / "holes.npy")
    np.save(path, values)
    message = "'.*holes.npy' has missing values \\(NaN\\) in 1 of its 5 images, .*; drop those"
    for binarize in ("none", "dynamic"):
        with pytest.raises(DataError, match=message) as e:
            make_ood_set(path, digits, n=5, binarize=binarize)
        assert "allow" not in str(e.value)


@pytest.mark.parametrize("incomplete", [1, 2], ids=["one", "two"])
def test_a_table_ood_file_with_missing_cells_is_scored_on_its_complete_rows(tmp_path, incomplete):
    """evaluate RUN --ood new.csv printed that it evaluates the test split's complete rows, then
    refused the whole --ood file for one missing cell (userA #19): the file's complete rows are
    scored as the split's are, the description says how many were left out and what scores
    them; a file with no complete row is refused, naming score."""
    from torchlvm.data.table_schema import TableSchema

    path = tmp_path / "ood.csv"
    cells = ["1,", ",4"][:incomplete] + ["5,6", "7,8", "9,10"][: 4 - incomplete]
    path.write_text("a,b\n" + "\n".join(cells) + "\n")
    schema = TableSchema(("a", "b"))  # a table's OOD set is the file alone, read as the run's
    ood = make_ood_set(str(path), None, n=4, table=schema)
    kept = 4 - incomplete
    assert ood.x.shape == (kept, 2) and not torch.isnan(ood.x).any()
    assert ood.x[:, 0].tolist() == [5.0, 7.0, 9.0][:kept]
    assert f"the {kept} complete rows of 4 ({incomplete} with missing cells left out; " in (
        ood.description
    )
    assert f"torchlvm score RUN --data {path} --out scores.csv scores those)" in ood.description
    path.write_text("a,b\n1,\n,4\n")
    with pytest.raises(DataError, match=r"none of its 2 rows is complete, .*torchlvm score RUN"):
        make_ood_set(str(path), None, n=2, table=schema)


def test_an_idx_file_of_images_is_an_ood_set_used_whole(digits, tmp_path) -> None:
    """--ood path/to/an-IDX-file said "unknown dataset": an IDX file of images is read whole,
    grey levels as the dataset read by its name holds them; a labels file is refused by name."""
    import gzip

    from torchlvm.evaluation.ood_names import check_ood_name

    pixels = np.random.default_rng(0).integers(0, 256, size=(7, 28, 28), dtype=np.uint8)
    images = tmp_path / "t10k-images-idx3-ubyte.gz"
    header = bytes([0, 0, 8, 3]) + b"".join(int(n).to_bytes(4, "big") for n in pixels.shape)
    images.write_bytes(gzip.compress(header + pixels.tobytes()))
    check_ood_name(str(images), table=False)
    ood = make_ood_set(str(images), digits, n=1, resize="bilinear")
    expected = resize_images(
        torch.from_numpy(pixels).reshape(7, -1).float() / 255, (1, 28, 28), (1, 8, 8), "bilinear"
    )
    torch.testing.assert_close(ood.x, expected)
    labels = tmp_path / "t10k-labels-idx1-ubyte"
    labels.write_bytes(bytes([0, 0, 8, 1]) + (3).to_bytes(4, "big") + bytes([1, 2, 3]))
    with pytest.raises(DataError, match=r"IDX file of shape \(3,\), not of images"):
        make_ood_set(str(labels), digits, n=1, resize="bilinear")
    with pytest.raises(ConfigError, match="takes files of rows"):
        check_ood_name(str(images), table=True)


@pytest.mark.parametrize("resize", ["none", "bilinear"])
def test_colour_images_beside_grey_ones_are_told_how_to_match_the_channels(
    digits, tmp_path, resize
):
    """evaluate --ood rgb.npy on a grey run said 'pass an explicit resize (--ood-resize bilinear
    ...)', and with it 'cannot resize 3-channel images to 1 channels', with no fix: both say how
    to give the images the run's channels."""
    rgb = tmp_path / "rgb.npy"
    np.save(rgb, np.random.default_rng(0).random((5, 3, 8, 8), dtype=np.float32))
    fix = (
        f"OOD set {str(rgb)!r} has 3-channel images but the model's data (digits) has 1; save "
        "them with 1 channel (grey from colour, numpy: x.mean(axis=1, keepdims=True) of "
        "(N, 3, H, W), x.mean(axis=-1) of (N, H, W, 3)) or choose a set of 1-channel images"
    )  # (both layouts: a channels-last file was told axis=1, which averages its rows)
    with pytest.raises(DataError, match=re.escape(fix)):
        make_ood_set(str(rgb), digits, n=5, resize=resize)


@pytest.mark.parametrize(
    "name, reader", [("new.parquet", "read_parquet"), ("new.xlsx", "read_excel")]
)
def test_a_table_run_given_a_file_pandas_reads_names_the_line_that_saves_it_as_csv(
    tmp_path, name, reader
) -> None:
    """evaluate --ood new.parquet on a table run listed the extensions torchlvm reads: it names
    the pandas line that writes the CSV, as every other command that reads a table does."""
    from torchlvm.evaluation.ood_names import check_ood_name

    path = tmp_path / name
    path.write_bytes(b"PAR1")
    with pytest.raises(ConfigError, match=rf"OOD set .*{name}.*pandas\.{reader}\(.*to_csv"):
        check_ood_name(str(path), table=True)


@pytest.mark.parametrize("layout", ["flat", "gzipped", "torchvision"])
def test_a_folder_of_idx_files_is_an_ood_set_of_its_test_images(digits, tmp_path, layout) -> None:
    """--ood FOLDER (MNIST's four files as a user keeps them) was refused with a fix that moved
    the run's own data (--data-dir): the folder's test images are taken as a dataset's test
    split is, a seeded subsample of n, in each layout the datasets are found in."""
    import gzip

    from torchlvm.evaluation.ood_names import check_ood_name

    pixels = np.random.default_rng(1).integers(0, 256, size=(9, 8, 8), dtype=np.uint8)
    header = bytes([0, 0, 8, 3]) + b"".join(int(n).to_bytes(4, "big") for n in pixels.shape)
    folder = tmp_path / "my-mnist"
    where = folder / "MNIST" / "raw" if layout == "torchvision" else folder
    where.mkdir(parents=True)
    name = "t10k-images-idx3-ubyte" + (".gz" if layout == "gzipped" else "")
    data = header + pixels.tobytes()
    (where / name).write_bytes(gzip.compress(data) if layout == "gzipped" else data)
    check_ood_name(str(folder), table=False)
    ood = make_ood_set(str(folder), digits, n=5, seed=2)
    rows = torch.from_numpy(pixels).reshape(9, -1).float() / 255
    picked = torch.randperm(9, generator=torch.Generator().manual_seed(2))[:5]
    torch.testing.assert_close(ood.x, rows[picked])
    assert ood.description == f"{folder} test split"


def test_a_folder_without_test_images_is_refused_naming_the_file_it_lacks(digits, tmp_path):
    from torchlvm.errors import DataNotFoundError
    from torchlvm.evaluation.ood_names import check_ood_name

    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"")
    for refuse in (check_ood_name, lambda f, **_: make_ood_set(f, digits, n=1)):
        with pytest.raises(DataNotFoundError, match="holds no t10k-images-idx3-ubyte"):
            refuse(str(tmp_path), table=False)


def test_a_folder_of_pictures_is_offered_the_lines_that_make_one_file_of_them(digits, tmp_path):
    """review13 #18: `--ood classes/` of class folders of PNGs said "holds no t10k-images..., or
    one file of images", where --data of the same folder offers the lines that stack them: the
    same lines, which make the file that is then scored whole."""
    import subprocess
    import sys

    from PIL import Image

    from torchlvm.errors import DataNotFoundError
    from torchlvm.evaluation.ood_names import check_ood_name

    folder = tmp_path / "classes"
    for k, kind in enumerate(["cat", "cat", "dog"]):
        (folder / kind).mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((8, 8), 40 * k, np.uint8)).save(folder / kind / f"{k}.png")
    with pytest.raises(DataNotFoundError, match="a folder of picture files") as err:
        check_ood_name(str(folder), table=False)
    lines = re.search(r"\((import glob.*)\) and pass that file", str(err.value)).group(1)
    lines = lines.split("; .convert('RGB')")[0]
    subprocess.run([sys.executable, "-c", lines], cwd=tmp_path, check=True)
    ood = make_ood_set(str(tmp_path / "classes.npz"), digits, n=5)
    assert ood.x.shape == (3, 64) and ood.description.startswith(f"{tmp_path / 'classes.npz'}")


def test_a_folder_named_as_a_dataset_is_the_dataset_unless_written_as_a_path(
    digits, tmp_path, monkeypatch
):
    """A folder called mnist in the working folder (a run written with --out mnist) took the
    place of the dataset mnist, also in the default sets: 'mnist: skipped, the folder holds no
    t10k-images-idx3-ubyte' (review11). The name is the dataset's; ./mnist is the folder."""
    from torchlvm.evaluation.ood_names import is_ood_folder

    monkeypatch.chdir(tmp_path)
    (tmp_path / "mnist").mkdir()
    (tmp_path / "mine").mkdir()
    assert not is_ood_folder("mnist") and not is_ood_folder("noise")
    assert is_ood_folder("./mnist") and is_ood_folder("mine")
    assert not is_ood_folder("absent")


def test_a_named_ood_dataset_is_never_read_from_the_runs_own_folder(tmp_path, monkeypatch):
    """evaluate --data-dir F on a Fashion-MNIST run read the OOD set 'mnist' from F too: the same
    IDX file names, so the run's own images were scored as "mnist test split" (AUROC 0.500)."""
    from torchlvm.evaluation.config import EvalConfig
    from torchlvm.evaluation.outlier_section import ood_sets

    monkeypatch.setenv("TORCHLVM_DATA", str(tmp_path / "none"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    own = tmp_path / "own"  # the run's folder of IDX files (its data_dir)
    pixels = np.zeros((4, 8, 8), dtype=np.uint8)
    header = bytes([0, 0, 8, 3]) + b"".join(int(n).to_bytes(4, "big") for n in pixels.shape)
    labels = bytes([0, 0, 8, 1]) + (4).to_bytes(4, "big") + bytes(4)
    own.mkdir()
    for part in ("train", "t10k"):
        (own / f"{part}-images-idx3-ubyte").write_bytes(header + pixels.tobytes())
        (own / f"{part}-labels-idx1-ubyte").write_bytes(labels)
    digits = load_dataset("digits", "test")
    data = SimpleNamespace(x=digits.x[:4], grey=digits.x[:4], y=torch.as_tensor(digits.y[:4]))
    sets, skipped = ood_sets(digits, data, EvalConfig(ood=("mnist",), data_dir=str(own)))
    assert sets == [] and "mnist not found" in skipped["mnist"]  # not the run's folder's files


def test_noise_is_refused_for_rows_it_lies_among():
    """userI #12: uniform noise in [0, 1] as the OOD set of two-moons (rows spanning
    [-1.2, 2.2]) lay among the data, its AUROC below chance, unsaid: it is refused there, and
    rows of values in [0, 1] take it, said per value."""
    from torchlvm.data import load_dataset
    from torchlvm.errors import DataError
    from torchlvm.evaluation.outliers import make_ood_set

    moons = load_dataset("two-moons", "test")
    with pytest.raises(DataError, match=r"the rows of two-moons span \[-1\.\d+, 2\.\d+\]"):
        make_ood_set("noise", moons, n=10)
    unit = Dataset(moons.x.sigmoid(), None, "rows", "test", (2,), None, None, "none")
    assert make_ood_set("noise", unit, n=10).description == "uniform noise in [0, 1] per value"


def test_a_datasets_grey_images_are_skipped_for_a_colour_model_saying_why(tmp_path):
    """userM #14: `evaluate` with its default sets on a colour run, MNIST installed, exited 2
    after the sampling ("OOD set 'mnist' has 1-channel images ...": a set never named), no
    metrics written. A dataset of other channels is skipped with the reason; a user's file of
    other channels is still refused with its conversion."""
    from torchlvm.evaluation.config import EvalConfig
    from torchlvm.evaluation.eval_data import EvalData
    from torchlvm.evaluation.outlier_section import ood_sets
    from torchlvm.evaluation.outliers import OtherChannelsError

    x = torch.rand(30, 3 * 8 * 8)
    colour = Dataset(x, None, "rgb.npy", "test", (3, 8, 8), None, None, "none")
    data = EvalData(x=x, grey=x, y=None, c=None, missing=None)
    sets, skipped = ood_sets(colour, data, EvalConfig(ood=("noise", "flip", "digits")))
    assert [s.name for s in sets] == ["noise", "flip"]
    assert skipped == {
        "digits": "grey images for a model of 3-channel images (no resize gives them its "
        "channels); pass a file of 3-channel images as --ood FILE.npy"
    }
    np.save(tmp_path / "grey.npy", np.random.default_rng(0).random((5, 8, 8), np.float32))
    with pytest.raises(OtherChannelsError, match="save them with 3 channels"):
        ood_sets(colour, data, EvalConfig(ood=(str(tmp_path / "grey.npy"),)))
