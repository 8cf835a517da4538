"""LVMDataModule: whole-batch slicing, binarization protocols, conditions and the checks."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader

from torchlvm.errors import ConfigError, DataError
from torchlvm.models.cvae import CVAE, CVAEConfig
from torchlvm.models.vae import VAE, VAEConfig
from torchlvm.training import LVMDataModule
from torchlvm.training.resident import ResidentBatches


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny models train fastest on one thread (and CI machines are shared)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _epoch(dm: LVMDataModule, epoch: int) -> list[dict[str, torch.Tensor]]:
    loader = dm.train_dataloader()
    loader.sampler.set_epoch(epoch)
    return list(loader)


def test_train_batches_cover_the_data_once_per_epoch() -> None:
    dm = LVMDataModule("digits", batch_size=100)
    batches = _epoch(dm, 0)
    assert [b["x"].shape for b in batches[:2]] == [(100, 64), (100, 64)]
    assert sum(len(b["x"]) for b in batches) == 1258 == len(dm.train_data)
    labels = torch.cat([b["y"] for b in batches])
    assert torch.equal(labels.sort().values, dm.train_data.y.sort().values)
    assert "c" not in batches[0]


def test_order_depends_only_on_seed_and_epoch() -> None:
    first = [b["y"] for b in _epoch(LVMDataModule("digits", seed=3), 1)]
    again = [b["y"] for b in _epoch(LVMDataModule("digits", seed=3), 1)]
    other = [b["y"] for b in _epoch(LVMDataModule("digits", seed=3), 2)]
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not torch.equal(first[0], other[0])


def test_dynamic_binarization_redraws_and_validation_is_fixed() -> None:
    dm = LVMDataModule("digits", binarize="dynamic", batch_size=2000)
    loader = dm.train_dataloader()
    loader.sampler.set_epoch(0)
    a = next(iter(loader))["x"]
    b = next(iter(loader))["x"]  # same order, fresh draw
    assert set(a.unique().tolist()) == {0.0, 1.0}
    assert not torch.equal(a, b)
    v1, v2 = next(iter(dm.val_dataloader()))["x"], next(iter(dm.val_dataloader()))["x"]
    assert torch.equal(v1, v2) and set(v1.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(v1, dm.val_data.fixed_binarized(dm.seed))


def test_label_condition_is_one_hot_of_y() -> None:
    dm = LVMDataModule("digits", condition="label")
    batch = next(iter(dm.val_dataloader()))
    assert dm.condition_dim == 10
    assert torch.equal(batch["c"].argmax(-1), batch["y"])
    assert torch.equal(batch["c"].sum(-1), torch.ones(len(batch["y"])))


def test_mask_condition_holds_the_observed_half_and_the_mask() -> None:
    dm = LVMDataModule("digits", condition="mask:top", binarize="threshold")
    batch = next(iter(dm.val_dataloader()))
    x, c = batch["x"], batch["c"]
    assert dm.condition_dim == 128 and c.shape == (len(x), 128)
    observed = c[:, 64:].bool()[0]
    assert observed.sum() == 32 and not observed[:32].any()  # the top 4 rows are missing
    assert torch.equal(c[:, :64][:, observed], x[:, observed])


def test_unknown_condition_is_refused() -> None:
    with pytest.raises(ConfigError, match="condition must be 'none', 'label' or 'mask:KIND'"):
        LVMDataModule("digits", condition="class")


def test_label_condition_needs_labels() -> None:
    with pytest.raises(DataError, match="needs class labels, and linear-gaussian has none"):
        LVMDataModule("linear-gaussian", condition="label").setup()


LABELLED = {"label_column": "target"}


def _wine_csv(folder, labels) -> str:
    """sklearn's wine table with its class column rewritten as ``labels[k]`` for class k."""
    from sklearn.datasets import load_wine

    wine = load_wine()
    path = folder / "wine.csv"
    pairs = zip(wine.data, wine.target, strict=True)
    rows = [",".join([*map(str, x), str(labels[y])]) for x, y in pairs]
    path.write_text(",".join([*wine.feature_names, "target"]) + "\n" + "\n".join(rows) + "\n")
    return str(path)


def test_whole_number_codes_are_classes_named_by_their_values(tmp_path) -> None:
    """UCI's wine numbers its classes 1, 2, 3: they are the classes "1", "2", "3" in numeric
    order (C = 3, not max + 1 slots of which one no row has), as CVAEEstimator reads them;
    0-based codes stay indices and text labels are named classes."""
    for labels, names in [((1, 2, 3), ("1", "2", "3")), ((1, 6, 11), ("1", "6", "11"))]:
        dm = LVMDataModule(_wine_csv(tmp_path, labels), condition="label", options=LABELLED)
        dm.setup("fit")
        assert dm.condition_dim == 3 and dm.record()["class_names"] == list(names)
    for labels in [(0, 1, 2), ("a", "b", "c")]:
        dm = LVMDataModule(_wine_csv(tmp_path, labels), condition="label", options=LABELLED)
        dm.setup("fit")
        assert dm.condition_dim == 3
    # a VAE ignores the classes
    unconditioned = LVMDataModule(_wine_csv(tmp_path, (1, 2, 3)), options=LABELLED)
    unconditioned.setup("fit")


def test_only_the_data_that_number_their_classes_let_a_number_name_one(tmp_path) -> None:
    """readB #12: a file's words are numbered only by their sorted order, so its CVAE records
    class_positions=False (a number is refused, as by --condition); digits' classes are theirs."""
    dm = LVMDataModule(_wine_csv(tmp_path, ("a", "b", "c")), condition="label", options=LABELLED)
    dm.setup("fit")
    assert dm.facts().class_positions is False
    digits = LVMDataModule("digits", condition="label")
    digits.setup("fit")
    assert digits.facts().class_positions is True


def test_a_named_class_without_a_training_row_is_warned_of(tmp_path) -> None:
    """A class 'late' whose 6 rows all fell in the test split trained silently, and was sampled
    as if the model knew it (userK #17): the rows of the train split are counted by class."""
    import warnings

    from torchlvm.data.dataset import Dataset
    from torchlvm.training.data import _check_classes

    def split(y: list[int]) -> Dataset:
        x = torch.zeros(len(y), 2)
        names = ("early", "on time", "late")
        return Dataset(x, torch.tensor(y), "t.csv", "train", (2,), 3, names, "none")

    late = r"no row of the train split has class 'late' \(its rows all fell in the validation and"
    with pytest.warns(UserWarning, match=late):  # (a split by class deals a 1-row class so too)
        _check_classes(split([0, 1, 0, 1]), split([0, 1]))
    with pytest.warns(UserWarning, match="has classes 'on time', 'late' "):
        _check_classes(split([0, 0, 0]), split([1, 1]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _check_classes(split([0, 1, 2]), split([0]))


def test_bernoulli_on_grey_levels_names_both_fixes() -> None:
    dm = LVMDataModule("digits", binarize="none")
    both = r"--binarize dynamic.*--likelihood gaussian.*in Python: LVMDataModule\(\.\.\., binarize="
    with pytest.raises(DataError, match=both):
        dm.check_model(VAE(VAEConfig(64, likelihood="bernoulli")))
    dm.check_model(VAE(VAEConfig(64, likelihood="gaussian")))
    LVMDataModule("digits", binarize="dynamic").check_model(VAE(VAEConfig(64)))


def test_model_and_condition_must_fit_the_data() -> None:
    dm = LVMDataModule("digits", binarize="dynamic")
    with pytest.raises(ConfigError, match="needs a condition; pass --condition label"):
        dm.check_model(CVAE(CVAEConfig(64, condition_dim=10)))
    with pytest.raises(DataError, match="input_dim=10 .* digits has 64"):
        dm.check_model(VAE(VAEConfig(10)))
    labelled = LVMDataModule("digits", binarize="dynamic", condition="label")
    with pytest.raises(ConfigError, match="needs a conditional model"):
        labelled.check_model(VAE(VAEConfig(64)))
    with pytest.raises(ConfigError, match="condition_dim=3"):
        labelled.check_model(CVAE(CVAEConfig(64, condition_dim=3)))


@pytest.mark.parametrize(
    ("binarize", "condition"),
    [("dynamic", "none"), ("dynamic", "label"), ("threshold", "mask:right"), ("none", "none")],
    ids=["dynamic", "label", "mask", "grey"],
)
def test_resident_batches_are_the_dataloader_batches(binarize: str, condition: str) -> None:
    """In memory and without workers, training batches are sliced (and redrawn) on the device
    with no DataLoader; they are the batches a DataLoader would serve, draw for draw."""
    resident = LVMDataModule("digits", binarize=binarize, condition=condition, batch_size=300)
    loaded = LVMDataModule(
        "digits", binarize=binarize, condition=condition, batch_size=300, num_workers=1
    )
    assert isinstance(resident.train_dataloader(), ResidentBatches)
    assert isinstance(loaded.train_dataloader(), DataLoader)
    assert len(resident.train_dataloader()) == len(loaded.train_dataloader()) == 5
    for epoch in (0, 3):
        torch.manual_seed(epoch)
        ours = _epoch(resident, epoch)
        torch.manual_seed(epoch)
        theirs = _batches_in_main_process(loaded, epoch)
        assert len(ours) == len(theirs) == 5
        for a, b in zip(ours, theirs, strict=True):
            assert a.keys() == b.keys()
            for key in a:
                assert torch.equal(a[key], b[key]), key


def _batches_in_main_process(dm: LVMDataModule, epoch: int) -> list[dict[str, torch.Tensor]]:
    """The DataLoader's batches, fetched in this process so that they draw from this RNG."""
    loader = dm.train_dataloader()
    loader.sampler.set_epoch(epoch)
    indices = list(loader.sampler)
    size = loader.batch_size
    return [
        loader.dataset.__getitems__(indices[i : i + size]) for i in range(0, len(indices), size)
    ]


@pytest.mark.parametrize("label", ["3", "a"], ids=["code", "text"])
def test_a_cvae_on_labels_of_one_class_is_refused(tmp_path, label) -> None:
    path = tmp_path / "one.csv"
    path.write_text("a,b,k\n" + "".join(f"{i}.1,{i % 7}.5,{label}\n" for i in range(40)))
    dm = LVMDataModule(path, condition="label", options={"label_column": "k"})
    with pytest.raises(
        DataError, match=f"every train and validation row has class '{label}'.*train vae"
    ):
        dm.setup("fit")
    LVMDataModule(path, options={"label_column": "k"}).setup("fit")  # a VAE ignores the classes


def test_the_record_holds_the_train_splits_examples_per_class(tmp_path) -> None:
    """The class prior π_c of a label CVAE (evaluate's OOD score log Σ_c π_c p(x | c)) is the
    train split's class frequencies: the record counts them by class name, every class."""
    dm = LVMDataModule(_wine_csv(tmp_path, ("x", "y", "z")), condition="label", options=LABELLED)
    dm.setup("fit")
    counts = dm.record()["class_counts"]
    names = dm.train_data.class_names
    assert list(counts) == list(names) == ["x", "y", "z"]
    assert list(counts.values()) == torch.bincount(dm.train_data.y, minlength=3).tolist()
    assert sum(counts.values()) == len(dm.train_data) < 178  # the train split, not the file
    assert len(set(counts.values())) == 3  # wine's classes are unbalanced (59, 71, 48 rows)
    unlabelled = LVMDataModule("linear-gaussian", options={"n": 50})
    unlabelled.setup("fit")
    assert unlabelled.record()["class_counts"] is None


def test_a_bernoulli_miwae_trains_on_zeros_and_ones_with_missing_cells() -> None:
    """review11 #20: 0/1 data with NaN cells were refused as not binary (NaN is neither 0 nor
    1); the observed cells are what a Bernoulli likelihood models."""
    import numpy as np

    from torchlvm.estimators import VAEEstimator

    rng = np.random.default_rng(0)
    x = (rng.random((120, 6)) < 0.4).astype(float)
    x[rng.random(x.shape) < 0.1] = np.nan
    model = VAEEstimator(likelihood="bernoulli", objective="miwae", train_k=2, epochs=1,
                         hidden=(8,), random_state=0)  # fmt: skip
    model.fit(x)
    assert model.n_features_in_ == 6
    x[0, 0] = 0.5  # a grey level among them is still refused
    with pytest.raises(DataError, match="likelihood=.bernoulli. needs X of 0s and 1s"):
        VAEEstimator(likelihood="bernoulli", objective="miwae", train_k=2, epochs=1).fit(x)


@pytest.mark.parametrize("shape", [(5, 8, 8), (5, 6)], ids=["images", "rows"])
def test_data_too_small_for_a_test_split_is_refused_before_training(tmp_path, shape):
    """5 images trained (4 train, 1 val, rc 0) and every evaluate of the run was then refused
    for its empty test split (userJ #10), while a 5-row table was refused at once. Any file is
    now refused at setup, naming the rows it needs; 7 rows leave every split one."""
    import numpy as np

    path = tmp_path / "small.npy"
    np.save(path, np.random.default_rng(0).random(shape, dtype=np.float32))
    with pytest.raises(DataError, match=r"split 'test' is empty .* add rows, to 7 at least"):
        LVMDataModule(str(path)).setup()
    np.save(path, np.random.default_rng(0).random((7, *shape[1:]), dtype=np.float32))
    dm = LVMDataModule(str(path))
    dm.setup()
    assert len(dm.train_data) + len(dm.val_data) == 6
