"""``torchlvm sample RUN`` on a class-conditional CVAE without ``--condition``: draws from the
model's p(x) = Σ_c π_c p(x | c), each sample's class c ~ π first (π the train split's class
frequencies, which the run records), as ``CVAEEstimator.sample`` and scikit-learn's
``GaussianMixture.sample`` draw; the classes are then written as for ``--condition all``.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from torchlvm.errors import ConfigError


def class_counts_to_draw(run_: Any) -> tuple[int, ...]:
    """The run's train-split examples per class (label order), which π comes from.

    Raises:
        ConfigError: for a run that records none (written before torchlvm recorded them),
            naming ``--condition``.
    """
    from torchlvm import run as _run
    from torchlvm.inference.class_mixture import recorded_counts

    counts = recorded_counts(run_.data, run_.class_names)
    if counts is None:
        raise ConfigError(
            f"{run_.folder} records no class frequencies of its train split (it was trained "
            "before torchlvm recorded them), so its classes cannot be drawn as often as they "
            f"occur; pass --condition LABEL (valid labels are {_run.valid_labels(run_)}, or "
            "'all' for one row per class), or train it again to sample without --condition"
        )
    return counts


def draw_classes(counts: tuple[int, ...], n: int, generator: Any) -> Tensor:
    """``n`` classes c ~ π (n,), int64 on the CPU, in label order (the grid shows a class's
    samples together; the draws are exchangeable, so sorting them changes nothing else), from
    ``generator`` on the model's device."""
    import torch

    from torchlvm.inference.class_mixture import class_log_prior

    pi = class_log_prior(counts, len(counts)).exp()
    pi = pi.to(device=generator.device, dtype=torch.float64)
    drawn = torch.multinomial(pi, n, replacement=True, generator=generator)
    return drawn.sort().values.cpu()


def drawn_line(
    run_: Any, counts: tuple[int, ...], classes: Tensor, names: list[str] | None = None
) -> str:
    """The one line saying the classes were drawn by their train-split frequencies, with π and
    how many samples each class got; each class by its ``names`` (a table's, as its rows write
    them: review16 R14), else as the run names it."""
    import torch

    from torchlvm import run as _run

    total = sum(counts)
    got = torch.bincount(classes, minlength=len(counts)).tolist()
    names = names or [_run.label_name(run_, j) for j in range(len(counts))]
    parts = [f"{names[j]} {count / total:.3f} ({got[j]} drawn)" for j, count in enumerate(counts)]
    return (
        f"  classes drawn by their frequency in the train split, c ~ π: {', '.join(parts)}; "
        "--condition LABEL draws chosen classes"
    )


def class_source(run_: Any, seed: int, label: int) -> Any:
    """The random source of class ``label``'s samples under ``--seed`` ``seed``: its own, on the
    run's device, seeded by (seed, label), so that a class's seed-S samples are the same
    whichever other classes one call asks for (one source drew every class in turn, and the
    Sandals of '--condition Sandal', of 'all' and of 'Sneaker Sandal' differed by up to 0.88:
    userU #10). The one rule of images and rows."""
    import numpy as np

    return run_.generator(int(np.random.SeedSequence([seed, label]).generate_state(1)[0]))
