"""Argument checks shared by public entry points (STYLE.md habit 6).

Each raises :class:`torchlvm.errors.ConfigError` with a message that names the argument, the
value it got and what is allowed; :func:`check_finite` and :func:`check_rows` raise
:class:`torchlvm.errors.DataError` for data holding NaN or infinite values, or no rows.
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import torch
from torch.distributions import Distribution

from torchlvm._device import model_device
from torchlvm.errors import ConfigError, DataError


def check_positive_int(name: str, value: Any) -> int:
    """Return ``value`` as an int if it is an integer > 0 (a NumPy integer too), else raise
    ``ConfigError``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_non_negative_int(name: str, value: Any) -> int:
    """Return ``value`` as an int if it is an integer >= 0 (a NumPy integer too: a seed, a
    count of steps), else raise ``ConfigError``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ConfigError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def check_non_negative(name: str, value: Any) -> float:
    """Return ``value`` as float if it is a finite number >= 0, else raise ``ConfigError``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
        raise ConfigError(f"{name} must be a non-negative number, got {value!r}")
    if value == float("inf"):
        raise ConfigError(f"{name} must be finite, got {value!r}")
    return float(value)


def check_positive(name: str, value: Any) -> float:
    """Return ``value`` as float if it is a finite number > 0 (a step size, a learning rate),
    else raise ``ConfigError``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < math.inf:
        raise ConfigError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def check_int(name: str, value: Any) -> int:
    """Return ``value`` as an int if it is an integer (a seed), else raise ``ConfigError``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    return int(value)


def check_choice(name: str, value: Any, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise ``ConfigError``."""
    options = tuple(choices)
    if value not in options:
        allowed = ", ".join(repr(c) for c in options)
        raise ConfigError(f"{name} must be one of {allowed}, got {value!r}")
    return value


def check_finite(name: str, x: torch.Tensor, fix: str) -> torch.Tensor:
    """Return ``x`` ``(..., D)`` if every entry is finite, else raise ``DataError`` naming how
    many rows hold NaN or infinite values and ``fix``.

    It runs where torch's distribution argument validation is on (its default): it is the check
    that validation would make on the distributions built from ``x``, made first, with a message
    that names the problem instead of torch's ``ValueError``. The training step builds its
    distributions without validation (:func:`~torchlvm.training.losses.no_argument_validation`),
    so it skips this host read too; its data were checked when they were loaded.
    """
    if not Distribution._validate_args:
        return x
    finite = torch.isfinite(x)
    if bool(finite.all()):
        return x
    rows = ~finite.all(-1) if x.ndim else ~finite
    what = [
        kind
        for kind, hit in (("NaN", torch.isnan(x)), ("infinite values", torch.isinf(x)))
        if bool(hit.any())
    ]
    raise DataError(
        f"{name} holds {' and '.join(what)} in {int(rows.sum())} of {rows.numel()} rows; {fix}"
    )


def check_tensor(name: str, x: Any) -> torch.Tensor:
    """Refuse anything but a tensor for ``name`` (a NumPy array or a list reached torch's or
    Python's ``AttributeError`` deep inside); returns ``x``."""
    if not isinstance(x, torch.Tensor):
        raise DataError(
            f"{name} must be a torch.Tensor, got {type(x).__module__}.{type(x).__qualname__}; "
            "convert it with torch.as_tensor(x, dtype=torch.float32)"
        )
    return x


def check_rows(name: str, x: Any, model: Any = None, *, c: Any = None, **built: Any) -> None:
    """Refuse anything but a tensor ``(..., B, D)`` (:func:`check_tensor`), one without its
    batch axis, and one with no rows: torch's ``Independent`` cannot sum an empty batch (it
    raises from deep inside ``log_prob`` and ``kl_divergence``). A NumPy array or a list, which
    PPCA's ``encode`` takes, reached torch's ``ValueError`` in ``log_prob`` or an
    ``AttributeError``. One example ``(D,)``, which a VAE's encoder reads as unbatched, met
    per-row state sized from ``x.shape[0]``: D per-point q, the chains' axis returned as rows.
    Integers or booleans (:func:`check_floating`). With ``model``: x, the condition ``c``, or a
    distribution of the caller's named by keyword (``q=``, ``proposal=``, ``init=``; None passes)
    on another device than the model's tensors, which reached torch's "Expected all tensors to
    be on the same device" from inside a layer (the rule is :mod:`torchlvm._device`'s). The
    model's device is looked up once (microseconds: the training step and every step of a
    per-point fit pass here). Such a distribution must also hold one q per row of x over the
    model's z (:func:`_check_shape`)."""
    check_tensor(name, x)
    if x.ndim < 2:
        raise DataError(
            f"{name} must be (B, D), got shape {tuple(x.shape)}; pass one example as "
            f"{name}.reshape(1, -1)"
        )
    if math.prod(x.shape[:-1]) == 0:
        raise DataError(f"{name} has no rows (shape {tuple(x.shape)}); pass at least one row")
    check_floating(name, x)
    where = _device_of(model)
    if where is not None:
        for what, value in ((name, x), ("c", c), *built.items()):
            _check_device(what, value, where)
    for what, value in built.items():
        _check_shape(what, value, tuple(x.shape[:-1]), model)


def _check_shape(name: str, q: Any, rows: tuple[int, ...], model: Any) -> None:
    """Refuse a distribution ``q`` of the caller's (``q=``, ``proposal=``, ``init=``) that is not
    one distribution over z per row of x (batch shape ``rows``, event ``(K,)``): another batch
    reached torch's "The size of tensor a (2) must match the size of tensor b (4)" in elbo,
    iwae_bound and log_marginal_is, and a scalar ``Normal(0., 1.)`` the decoder's refusal of a
    z the caller never passed (userL #14). Anything else passes (the entry point names it)."""
    if not isinstance(q, Distribution) or model is None:
        return
    from torchlvm.protocol import latent_size

    batch, event, K = tuple(q.batch_shape), tuple(q.event_shape), latent_size(model)
    if batch == (*rows, K) and event == ():  # a Normal over z without Independent(..., 1)
        raise DataError(
            f"{name} has batch shape {batch} and no event dimension, so its log_prob is one "
            f"number per entry of z; make its last dimension z's: "
            f"torch.distributions.Independent({name}, 1)"
        )
    if batch != rows:
        raise DataError(
            f"{name} has batch shape {batch} but x has {rows} rows; pass one q per row of x "
            "(e.g. model.encode(x))"
        )
    if event != (K,):
        raise DataError(
            f"{name} is a distribution over {event}, but the model's z has shape ({K},); pass "
            f"one over z for each row of x (e.g. model.encode(x))"
        )


def _check_device(name: str, value: Any, where: torch.device) -> None:
    """Refuse a tensor, or a distribution built from tensors (a q, a proposal, an init), on
    another device than ``where``, the model's: it reached torch's "Expected all tensors to be
    on the same device" from inside a layer or a density. Anything else passes (the entry
    point's other checks name it)."""
    held = _tensor_in(value)
    if held is None or held.device == where:
        return
    fix = (
        f"move {name} there with {name}.to('{where}') (or the model with "
        if isinstance(value, torch.Tensor)
        else f"build {name} from tensors there (or move the model with "
    )
    raise DataError(
        f"{name} is on {held.device} and the model on {where}; {fix}model.to('{held.device}'))"
    )


def _tensor_in(value: Any, depth: int = 0) -> torch.Tensor | None:
    """``value`` if a tensor; for a distribution, the first tensor among its attributes (its
    parameters, or those of the distributions it wraps: ``Independent``'s base, a mixture's
    parts), a few levels deep; else None."""
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, Distribution) and depth < 4:
        for attribute in vars(value).values():
            found = _tensor_in(attribute, depth + 1)
            if found is not None:
                return found
    return None


def check_floating(name: str, x: torch.Tensor) -> None:
    """Refuse a tensor ``x`` of integers or booleans (``x > 0.5``, a uint8 image): a model's
    layers and densities take floating point, and an entry point that reads x itself (PPCA's
    ``log_prob`` of x beside its own cast) met torch's error for a boolean."""
    if not x.is_floating_point():
        raise DataError(
            f"{name} must be a floating-point tensor, got {x.dtype}; convert it with .float() "
            "(images scaled to [0, 1])"
        )


def _device_of(model: Any) -> torch.device | None:
    """:func:`torchlvm._device.model_device`, None for no module or one without tensors."""
    return model_device(model, default=None) if isinstance(model, torch.nn.Module) else None


def check_model(model: Any) -> None:
    """Refuse, where a model goes, the two objects a researcher passes by mistake: a
    scikit-learn estimator (a fitted ``VAEEstimator``: its trained model is ``est.model_``) and a
    state dict. Both reached ``AttributeError: 'VAEEstimator' object has no attribute
    'encode'``. Any other object is taken as a model, duck-typed (the protocol)."""
    if hasattr(model, "decode"):  # a model (PPCA is also a scikit-learn estimator)
        return
    if hasattr(model, "get_params"):
        fix = "pass the estimator's trained model, est.model_"
    elif isinstance(model, Mapping):
        fix = "load the model with torchlvm.load(folder), or build it and load_state_dict"
    else:
        return
    kind = type(model).__name__
    raise ConfigError(f"model must be a torchlvm model (prior, encode, decode), got {kind}; {fix}")


def check_autograd(name: str, why: str) -> None:
    """Refuse to run ``name``, which takes gradients (``why``), under ``torch.inference_mode``:
    there nothing records a graph, and torch's own error says only that a tensor has no
    ``grad_fn``."""
    if torch.is_inference_mode_enabled():
        raise ConfigError(
            f"{name} takes gradients ({why}), which torch.inference_mode() turns off; call it "
            "outside inference_mode (under torch.no_grad() it works)"
        )


Fit = TypeVar("Fit", bound=Callable[..., Any])


def trains(fit: Fit) -> Fit:
    """Run a model's or estimator's ``fit`` with torch's inference mode off: under
    ``torch.inference_mode()`` every tensor it made from X would be an inference tensor, which
    autograd cannot record, so the deep estimators could not train and a PPCA's W, μ and σ²
    could not enter any later computation that takes gradients (a gradient of log p(x), AIS,
    per-point q). ``torch.no_grad()`` needs nothing (Lightning turns gradients on)."""

    @functools.wraps(fit)
    def fit_with_autograd(*args: Any, **kwargs: Any) -> Any:
        with torch.inference_mode(False):
            return fit(*args, **kwargs)

    return fit_with_autograd  # type: ignore[return-value]
