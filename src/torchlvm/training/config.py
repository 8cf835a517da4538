"""The settings of one training run: :class:`TrainConfig`, a frozen dataclass checked on
construction, recorded in a run's ``config.json`` under ``"training"`` so the run can be repeated.

``objective`` is checked against the registry of :mod:`torchlvm.training.objectives`, and the
settings an objective does not use (``k`` > 1, β, warm-up, free bits) are refused by what its
registration says, not by its name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from torchlvm._checks import check_choice, check_non_negative, check_positive_int
from torchlvm._epochs import epochs
from torchlvm.errors import ConfigError, Spell, on_command_line, spelled
from torchlvm.training import losses as _losses  # noqa: F401  (registers the built-in objectives)
from torchlvm.training import miwae as _miwae  # noqa: F401  (registers "miwae")
from torchlvm.training.objectives import OBJECTIVES, get_objective

NonFinitePolicy = Literal["stop", "skip"]
MAX_SEED = 2**32 - 1  # numpy's and Lightning's seed range is 0..2**32 - 1


@dataclass(frozen=True)
class TrainConfig:
    """How to train a model. Every field is a plain value, so ``asdict`` gives JSON.

    Raises:
        ConfigError: for a value out of range; the message names the field and the value.
    """

    # What to maximize, a registered objective (torchlvm.training.objectives): "elbo" (VAE /
    # CVAE, with beta, warm-up and free bits), "iwae" (the importance-weighted bound L_k of
    # Burda et al. 2016) or "reconstruction" (autoencoder).
    objective: str = "elbo"
    # k, the importance samples of the IWAE bound; only "iwae" uses more than one.
    k: int = 1
    # Weight of the KL term in the training objective (Higgins et al. 2017); 1 is the ELBO.
    beta: float = 1.0
    # The KL weight ramps linearly from 0 to beta over this many epochs (per step); 0 = no ramp.
    warmup_epochs: int = 0
    # Free bits λ in nats per latent dimension (Kingma et al. 2016, appendix C.8): each
    # dimension's batch-mean KL below λ is held at λ and gets no gradient; 0 turns it off.
    free_bits: float = 0.0
    # Adam's learning rate.
    lr: float = 1e-3
    # Examples per training batch.
    batch_size: int = 128
    # Epochs to train (the total, counting epochs before a resume).
    max_epochs: int = 20
    # Stop after this many epochs without a better validation bound; None never stops early.
    patience: int | None = None
    # Clip the gradient's global 2-norm to this value; None does not clip.
    gradient_clip: float | None = None
    # Seed of everything random: initialization, shuffling, binarization draws, z samples;
    # 0 to 2**32 - 1.
    seed: int = 0
    # Use deterministic algorithms only (slower on GPU; repeatable bit for bit on one machine).
    deterministic: bool = False
    # On a NaN or infinite loss or gradient: "stop" raises NonFiniteError (the last good
    # checkpoint stays); "skip" drops that update and counts it.
    on_nonfinite: NonFinitePolicy = "stop"
    # DataLoader worker processes; 0 batches in the main process (best for data in memory).
    num_workers: int = 0

    def __post_init__(self) -> None:
        objective = get_objective(self.objective)
        check_positive_int("k", self.k)
        if self.k > 1 and not objective.importance_samples:
            raise spelled(ConfigError, lambda spell: (
                f"{spell('k', self.k)} importance samples only apply to "
                f"{_objectives_with(spell, importance_samples=True)}, got "
                f"{spell('objective', self.objective)}"
                + (" (the default)" if self.objective == _default("objective") else "")
            ))  # fmt: skip
        check_non_negative("beta", self.beta)
        _check_count("warmup_epochs", self.warmup_epochs)
        check_non_negative("free_bits", self.free_bits)
        if not _is_number(self.lr) or not math.isfinite(self.lr) or self.lr <= 0:
            raise ConfigError(f"lr must be a positive finite number, got {self.lr!r}")
        check_positive_int("batch_size", self.batch_size)
        check_positive_int("max_epochs", self.max_epochs)
        if self.patience is not None:
            check_positive_int("patience", self.patience)
        if self.gradient_clip is not None and (
            not _is_number(self.gradient_clip)
            or not math.isfinite(self.gradient_clip)
            or self.gradient_clip <= 0
        ):
            raise ConfigError(
                "gradient_clip must be a positive finite number or None, "
                f"got {self.gradient_clip!r}"
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(f"seed must be a non-negative integer, got {self.seed!r}")
        if self.seed > MAX_SEED:
            raise ConfigError(
                f"seed must be at most {MAX_SEED} (2**32 - 1, what numpy accepts), got {self.seed}"
            )
        if not isinstance(self.deterministic, bool):
            raise ConfigError(f"deterministic must be True or False, got {self.deterministic!r}")
        check_choice("on_nonfinite", self.on_nonfinite, ("stop", "skip"))
        _check_count("num_workers", self.num_workers)
        if not objective.kl_term:
            self._refuse_kl_settings()

    def _refuse_kl_settings(self) -> None:
        """Refuse beta, warmup_epochs and free_bits where the objective has no KL term, naming
        only those given, as each interface spells them (userN #3: the CLI's --warmup-epochs
        was told of 'beta, warmup_epochs and free_bits' and "objective 'elbo'")."""
        given = [
            (name, value)
            for name, value, default in (
                ("beta", self.beta, 1.0),
                ("warmup_epochs", self.warmup_epochs, 0),
                ("free_bits", self.free_bits, 0.0),
            )
            if value != default
        ]
        if not given:
            return

        def message(spell: Spell) -> str:
            named = " and ".join(spell(name, _as_typed(spell, value)) for name, value in given)
            dropped = " and ".join(spell(name) for name, _ in given)
            shape = "shapes" if len(given) == 1 else "shape"
            use = _objectives_with(spell, kl_term=True)
            return (
                f"{named} {shape} the ELBO's KL term, which {spell('objective', self.objective)} "
                f"has none of: drop {dropped} or use {use}"
            )

        raise spelled(ConfigError, message)


def _default(name: str) -> object:
    """The default of TrainConfig's field ``name``."""
    return TrainConfig.__dataclass_fields__[name].default


def _as_typed(spell: Spell, value: object) -> object:
    """``value`` as a command line writes it (``--beta 2``, not ``--beta 2.0``); as it is for
    Python (``beta=2.0``)."""
    if not isinstance(value, float) or spell is not on_command_line:
        return value
    return repr(value).removesuffix(".0")  # (every digit: 0.1234567, not :g's 0.123457; R31)


def _objectives_with(spell: Spell, **uses: bool) -> str:
    """``objective='iwae' or objective='miwae'`` (``--objective iwae or ...`` on the command
    line): the registered objectives that use a setting."""
    names = [n for n, o in sorted(OBJECTIVES.items()) if all(getattr(o, k) for k in uses)]
    return " or ".join(spell("objective", name) for name in names)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_count(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{name} must be a non-negative integer, got {value!r}")


def shaped_objective(config: TrainConfig) -> str | None:
    """What a run maximizes where it is not the ELBO itself (a β-VAE, a KL warm-up, free
    bits), in words, else None: a β=4 run's summary printed only 'validation ELBO (…; β=1, …)',
    which a student read as the run's β (userE)."""
    if not get_objective(config.objective).kl_term:
        return None
    parts = []
    if config.beta != 1:
        parts.append(f"E_q[log p(x|z)] − β·KL with β={config.beta:g}")
    if config.warmup_epochs:
        ramp = epochs(config.warmup_epochs)
        parts.append(f"the KL weight ramped from 0 to {config.beta:g} over {ramp}")
    if config.free_bits:
        parts.append(
            f"free bits, each latent dimension's batch-mean KL held at ≥ {config.free_bits:g} nats"
        )
    return ", ".join(parts) or None
