"""``EvalConfig``: every setting of :func:`torchlvm.evaluation.evaluate`, in one frozen value.

The settings are checked once, when the config is made (``ConfigError`` naming the field, its
value and what is allowed), so a bad setting fails before any data is loaded or any sample drawn.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

from torchlvm._checks import check_positive_int
from torchlvm.data.table_schema import TableSchema
from torchlvm.errors import ConfigError
from torchlvm.models.conditions import Condition

DEFAULT_OOD: tuple[str, ...] = ("noise", "flip", "other", "mnist")
DEFAULT_K = 1000
"""Importance samples of log p(x) by default (also ``torchlvm evaluate``'s). Against k = 5000 on
the same images it moved the estimate by +0.31 ± 0.06 nats on a Fashion-MNIST VAE, at a fifth
of the cost; k = 5000 stays one setting away (``benchmarks/results/evaluate_time.md``)."""
DEFAULT_KS: tuple[int, ...] = (1, 10, 100)
"""The k of the IWAE bounds reported beside the estimate by default, those not above its k: a
bound L_100 beside an estimate of k = 50 would cost more samples than the estimate, for a number
the estimate is weaker than (it is L_50 in expectation)."""
RESIZES: tuple[str, ...] = ("none", "bilinear", "area")


@dataclass(frozen=True)
class EvalConfig:
    """How to evaluate a model (see :func:`torchlvm.evaluation.evaluate`).

    >>> from torchlvm.evaluation import EvalConfig
    >>> config = EvalConfig(k=1000, n=2000, ood=())
    """

    condition: Condition = Condition()  # how the model was conditioned (or its text, parsed)
    k: int = DEFAULT_K  # importance samples of the log p(x) estimate
    ks: tuple[int, ...] | None = None  # k of the IWAE bounds beside it; None: DEFAULT_KS <= k
    chunk: int | None = None  # samples drawn at a time; None: cache-sized (CPU) or large (GPU)
    batch_size: int = 100  # examples per batch
    n: int | None = None  # evaluate a seeded subsample of n examples; None: all of them
    seed: int = 0  # seed of every random draw (subsample, binarization, z samples)
    data_seed: int | None = None  # the data seed of training (mask:random masks); None: seed
    refine_steps: int = 0  # T > 0: refine each q(z|x) by T Adam steps (semi-amortized)
    refine_lr: float = 0.01  # step size of that refinement
    ais_steps: int | None = None  # > 0: also estimate log p(x) by AIS with this many HMC steps
    ais_chains: int = 16  # AIS chains per example
    ood: tuple[str, ...] = DEFAULT_OOD  # OOD sets (see outliers.make_ood_set); () skips them
    ood_resize: Literal["none", "bilinear", "area"] = "bilinear"  # OOD images of another size
    ood_k: int = 100  # importance samples of the likelihood used as outlier score
    data_dir: str | os.PathLike[str] | None = None  # dataset files (classifier, OOD sets)
    # how OOD files are read for a table run (its label and dropped columns too); None: with the
    # evaluated table's columns and standardization
    table: TableSchema | None = None
    # a label CVAE's training examples per class, in label order: π_c of the OOD score
    # log Σ_c π_c p(x | c); None: uniform (a run that records none)
    class_counts: tuple[int, ...] | None = None
    sample_quality: bool = True  # compute the sample-quality section
    separability: bool = True  # compute the separability section
    pixel_reference: bool = True  # also probe the pixels as evaluated (binarized or grey levels)
    progress: bool = False  # show progress bars

    def __post_init__(self) -> None:
        check_positive_int("k", self.k)
        check_positive_int("ood_k", self.ood_k)
        check_positive_int("batch_size", self.batch_size)
        check_positive_int("ais_chains", self.ais_chains)
        for name in ("n", "chunk", "ais_steps"):
            if getattr(self, name) is not None:
                check_positive_int(name, getattr(self, name))
        ks = tuple(k for k in DEFAULT_KS if k <= self.k) if self.ks is None else tuple(self.ks)
        if not ks:
            raise ConfigError("ks must hold at least one positive integer, got ()")
        for value in ks:
            check_positive_int("ks", value)
        refine = self.refine_steps
        if isinstance(refine, bool) or not isinstance(refine, int) or refine < 0:
            raise ConfigError(f"refine_steps must be a non-negative integer, got {refine!r}")
        object.__setattr__(self, "condition", Condition.parse(self.condition))
        if self.ood_resize not in RESIZES:
            raise ConfigError(f"ood_resize must be one of {RESIZES}, got {self.ood_resize!r}")
        if isinstance(self.ood, str):
            raise ConfigError(f"ood must be a sequence of set names, got the string {self.ood!r}")
        object.__setattr__(self, "ks", ks)
        object.__setattr__(self, "ood", tuple(self.ood))

    @property
    def training_seed(self) -> int:
        """The seed with which training drew its masks: ``data_seed``, else ``seed``."""
        return self.seed if self.data_seed is None else self.data_seed
