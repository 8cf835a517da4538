"""``LVMDataModule``: a named dataset served to Lightning as whole index-sliced batches.

Batching: a map-style dataset whose ``__getitems__`` takes a batch of indices and slices the
tensors once (``x[index]``), with an identity ``collate_fn``, so there is no per-example Python
work. The samplers are ordinary ``torch.utils.data`` samplers, so Lightning's DDP strategy can
swap in its ``DistributedSampler`` unchanged; the training sampler's order is a function of
``(seed, epoch)`` only (Lightning calls ``set_epoch``), so a resumed run visits the data in the
same order as an uninterrupted one.

Distributed (DDP): ``batch_size`` is per process. The training order is dealt round robin
(:class:`ShardedEpochShuffleSampler`), so the per-process batches of R processes together are
exactly the batches of one process with R times the batch size: the global batches do not depend
on how many processes share them.

Residence: a training split held as a tensor that fits on the training device is served by
:class:`~torchlvm.training.resident.ResidentBatches` (copied there once; index sampling and
binarization on the device); a streamed file (``mmap=True``), worker processes or data too large
for the GPU go through a DataLoader (pinned memory for a GPU). Both serve the same batches.

Binarization (see :mod:`torchlvm.data.binarize`): under ``"dynamic"`` every training batch is a
fresh Bernoulli(intensity) draw (from the global RNG, which the trainer reseeds each epoch);
validation uses one fixed seeded draw, ``Dataset.fixed_binarized(seed)``.

Conditions: ``"none"``; ``"label"``, the one-hot class; ``"mask:<kind>"``, the imputation
condition concat(x ⊙ m, m) of :func:`torchlvm.models.conditions.masked_condition` computed after
binarization.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from typing import Any

import lightning as L
import torch
from torch import Tensor
from torch.utils.data import DataLoader, DistributedSampler, Sampler

from torchlvm._checks import check_positive_int
from torchlvm.data import load_dataset
from torchlvm.data.csv_once import parsed_once
from torchlvm.data.dataset import Dataset
from torchlvm.data.dataset_copy import copy_record
from torchlvm.data.fingerprint import file_record
from torchlvm.data.load import data_reference
from torchlvm.data.memmap_values import all_finite, is_binary
from torchlvm.data.pixels import reading_record
from torchlvm.data.save_lines import labels_fix
from torchlvm.data.value_range import range_record
from torchlvm.errors import ConfigError, DataError
from torchlvm.inference.class_mixture import class_counts
from torchlvm.models.conditions import BoundCondition, Condition
from torchlvm.models.registry import DataFacts
from torchlvm.training.resident import Batch, ResidentBatches, fits_on, make_batch

SMALL_DATA = 1000
"""Below this many training and validation rows, ``setup`` loads the test split too, so that data
too small to leave it a row is refused before training: 5 images trained (4 train, 1 val) and
every ``evaluate`` of the run was then refused for its empty test split. (A table's load read
every split and refused it already; above this size a test part of a split file has rows. A file
read with ``mmap`` is not looked at: its load streams the file, which mmap is there to spare.)"""


class _BatchedTensors(torch.utils.data.Dataset):
    """Rows of ``x`` (and ``y``) fetched a whole batch at a time through ``__getitems__``.

    Args:
        x: ``(N, D)``; intensities when ``redraw``, else the data as the model sees it.
        y: ``(N,)`` labels or None.
        conditioner: the condition bound to the data, which builds c from the (binarized) batch.
        redraw: draw x ~ Bernoulli(x) afresh for every batch (dynamic binarization).
    """

    def __init__(
        self, x: Tensor, y: Tensor | None, conditioner: BoundCondition, *, redraw: bool
    ) -> None:
        self.x, self.y, self.conditioner, self.redraw = x, y, conditioner, redraw

    def __len__(self) -> int:
        return self.x.shape[0]

    def __getitems__(self, indices: list[int]) -> Batch:
        index = torch.as_tensor(indices, dtype=torch.long)
        y = None if self.y is None else self.y[index]
        return make_batch(self.x[index], y, self.conditioner, redraw=self.redraw)

    def __getitem__(self, i: int) -> Batch:
        return {k: v[0] for k, v in self.__getitems__([i]).items()}


def _whole_batch(batch: Batch) -> Batch:
    """collate_fn: ``__getitems__`` already returns the batch."""
    return batch


class EpochShuffleSampler(Sampler[int]):
    """A random order of ``range(n)`` that depends only on ``(seed, epoch)``.

    Lightning calls :meth:`set_epoch` before each epoch, as it does for ``DistributedSampler``.
    It also reseeds ``loader_generator``, the DataLoader's own generator (which seeds worker
    processes), so that creating the epoch's iterator draws nothing from the global RNG and
    every epoch's draws are the same whether the run was resumed or not.
    """

    def __init__(self, n: int, seed: int, loader_generator: torch.Generator | None = None) -> None:
        self.n, self.seed, self.epoch = n, seed, 0
        self.loader_generator = loader_generator

    def _epoch_seed(self) -> int:
        return self.seed * 100_003 + self.epoch

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        if self.loader_generator is not None:
            self.loader_generator.manual_seed(self._epoch_seed() + 1)

    def epoch_order(self) -> Tensor:
        """The epoch's order as a ``(n,)`` tensor (what iterating yields, without a Python list:
        ~20 ms less per epoch of 54,000 examples, where an epoch on a GPU may take 150 ms)."""
        return torch.randperm(self.n, generator=torch.Generator().manual_seed(self._epoch_seed()))

    def __iter__(self) -> Iterator[int]:
        return iter(self.epoch_order().tolist())

    def __len__(self) -> int:
        return self.n


class ShardedEpochShuffleSampler(DistributedSampler):
    """:class:`EpochShuffleSampler`'s order dealt round robin to ``num_replicas`` processes.

    Process r takes positions r, r + R, r + 2R, ... of the ``(seed, epoch)`` order (padded with its
    first positions to a multiple of R, ``DistributedSampler``'s rule), so batch j of size b on
    every process together hold positions j·b·R ... (j + 1)·b·R − 1: batch j of a single process
    with batch size b·R. Lightning keeps a ``DistributedSampler`` it is given.
    """

    def __init__(
        self,
        n: int,
        seed: int,
        num_replicas: int,
        rank: int,
        loader_generator: torch.Generator | None = None,
    ) -> None:
        super().__init__(range(n), num_replicas=num_replicas, rank=rank, shuffle=False)
        self.order = EpochShuffleSampler(n, seed, loader_generator)

    def set_epoch(self, epoch: int) -> None:
        super().set_epoch(epoch)
        self.order.set_epoch(epoch)

    def __iter__(self) -> Iterator[int]:
        indices = list(self.order)
        padding = self.total_size - len(indices)
        if padding > 0:
            indices += (indices * math.ceil(padding / len(indices)))[:padding]
        return iter(indices[self.rank : self.total_size : self.num_replicas])


class LVMDataModule(L.LightningDataModule):
    """Train and validation batches of a dataset from :func:`torchlvm.data.load_dataset`.

    Args:
        name: dataset name (``"digits"``, ``"fashion-mnist"``, ...) or a ``.npy/.npz/.csv`` path.
        data_dir: folder holding the dataset's files (the only place looked in when given).
        binarize: ``"none"``, ``"dynamic"`` or ``"threshold"``.
        seed: seed of the split, of the training order and of the validation draw.
        batch_size: training examples per batch.
        condition: a :class:`Condition`, or its text ``"none"``, ``"label"`` or ``"mask:<kind>"``.
        num_workers: DataLoader workers (0: batches are sliced in the main process).
        eval_batch_size: validation batch size; defaults to ``max(batch_size, 512)``.
        options: extra dataset options passed to ``load_dataset`` (e.g. ``{"n": 500}``).

    Raises:
        ConfigError: for an unknown condition or a bad batch size.
    """

    def __init__(
        self,
        name: str | os.PathLike[str],
        *,
        data_dir: str | os.PathLike[str] | None = None,
        binarize: str = "none",
        seed: int = 0,
        batch_size: int = 128,
        condition: Condition | str = "none",
        num_workers: int = 0,
        eval_batch_size: int | None = None,
        options: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.name = str(name)
        self.data_dir = None if data_dir is None else str(data_dir)
        self.binarize = binarize
        self.seed = seed
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.eval_batch_size = check_positive_int(
            "eval_batch_size", eval_batch_size or max(batch_size, 512)
        )
        self.condition = Condition.parse(condition)
        self.num_workers = num_workers
        self.options = dict(options or {})
        self.train_data: Dataset | None = None
        self.val_data: Dataset | None = None
        self.val_x: Tensor | None = None
        self._conditioner: BoundCondition | None = None
        # False: training batches hold the intensities of "dynamic" and the training step draws
        # them (fit's fast path, which draws inside its CUDA graph)
        self.redraw_in_loader = True
        # mini-batches per item of a resident loader (resident.ResidentBatches; fit's whole-step
        # path, which then runs that many optimizer steps per Lightning batch)
        self.steps_per_batch = 1

    evaluated_later = True
    """Whether commands will evaluate the run on its test split (the estimators' in-memory data
    has none: its ``setup`` need not look for one)."""

    # -- loading -----------------------------------------------------------------------------

    def _load(self, split: str) -> Dataset:
        return load_dataset(
            self.name,
            split,
            data_dir=self.data_dir,
            binarize=self.binarize,
            seed=self.seed,
            **self.options,
        )

    def setup(self, stage: str | None = None) -> None:
        """Load the train and validation splits (once) and check them.

        Raises:
            DataNotFoundError, DataError, ConfigError: as :func:`load_dataset`; DataError for
                data holding NaN or infinities, or a ``"label"`` condition without labels.
        """
        if self.train_data is not None:
            return
        with parsed_once():  # a table file: one parse for both splits
            train, val = self._load("train"), self._load("val")
            small = len(train) + len(val) < SMALL_DATA
            if self.evaluated_later and small and not self.options.get("mmap"):
                self._load("test")  # refuses an empty test split, as a table's load did
        missing_ok = bool(self.options.get("allow_missing"))  # NaN only: files refuse inf
        for part in (train, val):
            if not missing_ok and not all_finite(part.x):  # mmap=True streams from the file
                raise DataError(
                    f"{part.name} ({part.split} split) holds NaN or infinite values; training "
                    "needs complete data — drop or impute them first"
                )
            if len(part) == 0:
                raise DataError(f"{part.name}: the {part.split} split is empty")
        if self.condition.kind == "label" and (train.y is None or train.num_classes is None):
            fix = (  # a table's labels are one of its columns; rows have no image part to mask
                "name the column holding them with --label-column NAME"
                if train.columns is not None
                else f"{labels_fix(train.name) or 'use a labelled dataset'}; or condition on "
                "the visible part of each image with --condition mask:top (or bottom, left, ...)"
            )
            raise DataError(
                f"condition 'label' needs class labels, and {train.name} has none; {fix}"
            )
        if self.condition.kind == "label":
            _check_classes(train, val)
        self._conditioner = self.condition.bind(
            train.shape, seed=self.seed, num_classes=train.num_classes
        )
        self.train_data, self.val_data = train, val
        self.val_x = val.fixed_binarized(self.seed)

    def _ready(self) -> tuple[Dataset, Dataset, BoundCondition]:
        if self.train_data is None:
            self.setup("fit")
        assert self.train_data is not None and self.val_data is not None
        assert self._conditioner is not None
        return self.train_data, self.val_data, self._conditioner

    # -- facts the model needs ---------------------------------------------------------------

    @property
    def input_dim(self) -> int:
        """D, values per example."""
        return self._ready()[0].dim

    @property
    def shape(self) -> tuple[int, ...]:
        """Per-example shape, e.g. ``(1, 8, 8)``."""
        return tuple(self._ready()[0].shape)

    @property
    def condition_dim(self) -> int | None:
        """Size of c: C classes for ``"label"``, 2D for a mask, None without a condition."""
        return self._ready()[2].dim

    def facts(self) -> DataFacts:
        """What the data decide in a model config (sizes, image shape, the condition's width,
        and the classes of a class condition), for a model recipe."""
        train, _, bound = self._ready()
        label = self.condition.kind == "label"
        names = train.class_names if label and train.class_names is not None else None
        return DataFacts(
            input_dim=train.dim,
            shape=tuple(train.shape),
            condition_dim=bound.dim,
            num_classes=train.num_classes if label else None,
            class_names=None if names is None else tuple(names),
            class_positions=self.classes_numbered(),
        )

    def classes_numbered(self) -> bool:
        """Whether the data number their classes 0..C-1 themselves (digits', Fashion-MNIST's),
        so that a number may name a class by its position: a file's labels are numbered only by
        their sorted order, which the user never saw (``run.labels._numbered`` reads a run by
        the same rule)."""
        from torchlvm.data.registry import is_file_name

        return not is_file_name(self.name)

    def is_binary(self) -> bool:
        """Whether the model sees {0, 1} data (a binarizing protocol, or binary data)."""
        train, _, _ = self._ready()
        if self.binarize != "none":
            return True
        x = train.x  # (a missing cell, NaN, is neither: the observed cells are what is modelled)
        return is_binary(x[~torch.isnan(x)] if isinstance(x, Tensor) else x)

    def _in_unit_interval(self) -> bool:
        """Whether the model sees values in [0, 1] only (a binarizing protocol, or such data;
        a memory-mapped file's images are taken to be)."""
        x = self._ready()[0].x
        if self.binarize != "none" or not isinstance(x, Tensor):
            return True
        seen = x[~torch.isnan(x)]  # (the observed cells of rows with missing ones)
        return bool(((seen >= 0) & (seen <= 1)).all())

    def _not_binary(self) -> str:
        """Why a Bernoulli likelihood cannot model the training data, and the fix that works
        for them: binarizing grey levels in [0, 1]; for a table, whose standardization turns
        0/1 columns into other values, --no-standardize; else a Gaussian likelihood."""
        train = self._ready()[0]
        x = train.x  # a Tensor, or a memory-mapped file's rows (images, not scanned here)
        if not train.is_table and self._in_unit_interval():
            return (
                f"a Bernoulli likelihood needs binary data, but {self.name} holds grey levels in "
                "[0, 1] and binarize is 'none'; pass --binarize dynamic (or threshold) to "
                "binarize it, or --likelihood gaussian to model the grey levels (in Python: "
                "LVMDataModule(..., binarize='dynamic'), or likelihood='gaussian' in the config)"
            )
        scaler = getattr(train, "standardizer", None)
        raw = None if scaler is None else scaler.inverse(x.double())  # the file's values
        zeros_and_ones = raw is not None and torch.allclose(raw, raw.round(), atol=1e-4)
        if zeros_and_ones and is_binary(raw.round()):
            return (
                f"a Bernoulli likelihood needs 0/1 data, and {self.name}'s 0/1 columns are "
                "standardized (the default for a table) into other values; pass "
                "--no-standardize to model them as 0s and 1s"
            )
        values = "standardized values" if scaler is not None else "values"
        seen = x[~torch.isnan(x)]  # (the observed cells of a table with missing ones)
        low, high = float(seen.min()), float(seen.max())
        return (
            f"a Bernoulli likelihood needs 0/1 data, but {self.name} holds {values} from "
            f"{low:.4g} to {high:.4g}; pass --likelihood gaussian"
            + (
                " (the default for tables)"
                if train.is_table
                else " (in Python: likelihood='gaussian' in the config)"
            )
        )

    def train_x(self) -> Tensor:
        """The training data as evaluation sees it (one seeded draw under ``"dynamic"``)."""
        return self._ready()[0].fixed_binarized(self.seed)

    def record(self) -> dict[str, Any]:
        """The ``"data"`` section of ``config.json``: enough to load the same data again."""
        train, val, _ = self._ready()
        return {
            "name": data_reference(self.name),
            "data_dir": None if self.data_dir is None else os.path.abspath(self.data_dir),
            "binarize": self.binarize,
            "seed": self.seed,
            "condition": str(self.condition),
            "options": self.options,
            "shape": list(train.shape),
            "num_classes": train.num_classes,
            "class_names": None if train.class_names is None else list(train.class_names),
            "class_counts": _class_counts(train),
            "num_train": len(train),
            "num_val": len(val),
            **self._table(train),
            **file_record(self.name),  # a moved file is found again by its content
            **copy_record(self.name, self.data_dir),  # which copy of a dataset read by name
            **reading_record(self.name),  # how its pixels were read
            **range_record(train),  # the values it learned: a later file in other units is told
        }

    def _table(self, train: Dataset) -> dict[str, Any]:
        """``{"table": ...}``: a table's columns and standardization, for later files; else {}."""
        from torchlvm.data.table_schema import TableSchema

        if not getattr(train, "is_table", False):
            return {}  # an image dataset, an array file, or a memory-mapped .npy
        return {"table": TableSchema.read_with(train, self.options).to_dict()}

    # -- checks against a model --------------------------------------------------------------

    def check_model(self, model: Any) -> None:
        """Refuse a model that cannot be trained on this data.

        Raises:
            DataError: for a size mismatch, or a Bernoulli likelihood on grey-level data.
            ConfigError: for a conditional model without a condition or the reverse, or a
                condition of the wrong size.
        """
        config = getattr(model, "config", None)
        input_dim = getattr(config, "input_dim", None)
        if input_dim is not None and input_dim != self.input_dim:
            raise DataError(
                f"the model takes input_dim={input_dim} values per example but {self.name} has "
                f"{self.input_dim}; build the model with input_dim={self.input_dim}"
            )
        if getattr(config, "likelihood", None) == "bernoulli" and not self.is_binary():
            raise DataError(self._not_binary())
        cross_entropy = getattr(config, "reconstruction", None) == "bernoulli"  # an autoencoder's
        if cross_entropy and not self._in_unit_interval():  # soft targets in [0, 1] are fine
            raise DataError(self._not_binary())
        want = getattr(config, "condition_dim", None)
        have = self.condition_dim
        if want is not None and have is None:
            raise ConfigError(
                f"a {getattr(model, 'model_type', 'conditional model')} needs a condition; pass "
                "--condition label (one-hot class) or --condition mask:KIND (imputation)"
            )
        if want is None and have is not None:
            raise ConfigError(
                f"condition '{self.condition}' needs a conditional model (cvae); "
                f"{type(model).__name__} takes none"
            )
        if want is not None and want != have:
            raise ConfigError(
                f"the model takes condition_dim={want} but condition '{self.condition}' on "
                f"{self.name} gives {have}; build the model with condition_dim={have}"
            )

    # -- loaders -----------------------------------------------------------------------------

    def _train_sampler(self, n: int, generator: torch.Generator) -> Sampler[int]:
        trainer = self.trainer
        if trainer is not None and trainer.world_size > 1:
            return ShardedEpochShuffleSampler(
                n, self.seed, trainer.world_size, trainer.global_rank, generator
            )
        return EpochShuffleSampler(n, self.seed, generator)

    def _device(self) -> torch.device:
        trainer = self.trainer
        return torch.device("cpu") if trainer is None else trainer.strategy.root_device

    def train_dataloader(self) -> ResidentBatches | DataLoader:
        """Training batches: resident on the device when the split fits (module docstring)."""
        train, _, conditioner = self._ready()
        redraw = train.binarize == "dynamic" and self.redraw_in_loader
        generator = torch.Generator()
        sampler = self._train_sampler(len(train), generator)
        device = self._device()
        if self.num_workers == 0 and isinstance(train.x, Tensor) and fits_on(device, train.x):
            return ResidentBatches(
                train.x, train.y, conditioner, redraw=redraw, sampler=sampler,
                batch_size=self.batch_size, device=device, steps=self.steps_per_batch,
            )  # fmt: skip
        return DataLoader(
            _BatchedTensors(train.x, train.y, conditioner, redraw=redraw),
            batch_size=self.batch_size,
            sampler=sampler,
            generator=generator,
            collate_fn=_whole_batch,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            pin_memory=device.type == "cuda",
        )

    def val_dataloader(self) -> DataLoader:
        _, val, conditioner = self._ready()
        assert self.val_x is not None
        data = _BatchedTensors(self.val_x, val.y, conditioner, redraw=False)
        return DataLoader(
            data,
            batch_size=self.eval_batch_size,
            shuffle=False,
            generator=torch.Generator().manual_seed(self.seed),
            collate_fn=_whole_batch,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def num_train_batches(self) -> int:
        """Training batches per epoch."""
        return math.ceil(len(self._ready()[0]) / self.batch_size)


def _class_counts(train: Dataset) -> dict[str, int] | None:
    """The train split's examples per class, by class name (the class prior π_c of a label
    CVAE's p(x) = Σ_c π_c p(x | c)), or None for data without labels."""
    if train.y is None or train.num_classes is None:
        return None
    return class_counts(train.y, int(train.num_classes), train.class_names)


def _check_classes(train: Dataset, val: Dataset) -> None:
    """Refuse labels of one class (conditioning on it tells a model nothing), and numeric class
    labels that do not number the classes 0..C-1 (an array's 1, 2, 3; a table's whole-number
    codes are named classes already): a class condition has C = max + 1 one-hot slots, so the
    absent numbers would be classes no training row has, sampled and scored as if real. Text
    labels are named classes (indices 0..C-1 by construction)."""
    if train.y is None or train.num_classes is None:
        return
    seen = set(train.y.unique().tolist()) | set(() if val.y is None else val.y.unique().tolist())
    if len(seen) == 1:
        (only,) = seen
        name = train.class_names[only] if train.class_names is not None else only
        raise DataError(
            f"{train.name}: every train and validation row has class {name!r}, so conditioning "
            "on the class tells the model nothing; train a VAE instead (torchlvm train vae, "
            "same --data) or add rows of other classes"
        )
    if train.class_names is not None:
        _warn_of_untrained_classes(train)
        return
    absent = sorted(set(range(int(train.num_classes))) - seen)
    if absent:
        shown = ", ".join(str(k) for k in absent[:5]) + (", ..." if len(absent) > 5 else "")
        raise DataError(
            f"{train.name}: its class labels are numbers up to {int(train.num_classes) - 1} but "
            f"no train or validation row has class {shown}, so a class-conditioned model would "
            "learn classes that do not exist; renumber the classes 0..C-1 (e.g. 1, 2, 3 as "
            "0, 1, 2) or write them as text names"
        )


def _warn_of_untrained_classes(train: Dataset) -> None:
    """Warn of named classes with no row in the train split (all in validation or test: a split
    at random, or a class of one or two rows split by class), whose condition the model never
    learns: a class 'late' of 6 rows, all in the test split, trained silently and was then
    sampled as if known (userK #17)."""
    import warnings

    from torchlvm.data.columns import listed

    assert train.y is not None and train.class_names is not None
    counts = torch.bincount(train.y[train.y >= 0], minlength=len(train.class_names))
    absent = [train.class_names[k] for k in range(len(counts)) if int(counts[k]) == 0]
    if absent:
        what = f"class {listed(absent)}" if len(absent) == 1 else f"classes {listed(absent)}"
        warnings.warn(
            f"{train.name}: no row of the train split has {what} (its rows all fell in the "
            "validation and test splits), so the model learns nothing of "
            f"{'it' if len(absent) == 1 else 'them'}: samples, "
            "scores and transfers of such a class are not of it; give it more rows, or leave "
            "its rows out",
            stacklevel=2,
        )
