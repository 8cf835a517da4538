"""scikit-learn's input validation for torchlvm's estimators, raising torchlvm's errors.

scikit-learn's ``validate_data`` does what its estimator contract expects of an entry point
(2-D, numeric, real, dense, non-empty, NaN and inf policy, the number of features seen by
``fit``) and records ``n_features_in_`` (and ``feature_names_in_`` for a DataFrame). This module
calls it once per entry point and turns its ``ValueError`` / ``TypeError`` into a
:class:`~torchlvm.errors.DataError` / :class:`~torchlvm.errors.DataTypeError` with the same
message, so scikit-learn's own checks and torchlvm's error policy both hold. Tensors are
accepted anywhere an array is (copied to the CPU for the checks); results are tensors on
``device`` in ``dtype``.
"""

from __future__ import annotations

import numbers
import re
import sys
import warnings
from typing import Any

import numpy as np
import torch
from scipy import sparse
from sklearn import config_context
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, validate_data
from torch import Tensor

from torchlvm._callers import callers_level
from torchlvm.errors import ConfigError, DataError, DataTypeError


def _host(X: Any) -> Any:
    """A tensor as a CPU NumPy array (detached); anything else unchanged."""
    return X.detach().cpu().numpy() if isinstance(X, Tensor) else X


def _check_2d(X: Any, name: str) -> None:
    """One line for 1-D or 3-D input instead of scikit-learn's message with the whole array."""
    if sparse.issparse(X):
        return
    try:
        shape = tuple(X.shape) if hasattr(X, "shape") else np.shape(np.asarray(X))
    except (ValueError, TypeError):
        return  # ragged or not array-like at all: validate_data says what is wrong
    if len(shape) != 2:
        how = (
            f"{name}.to_frame() for one feature, {name}.to_frame().T for one sample"
            if hasattr(X, "to_frame")  # a pandas Series, which has no reshape
            else f"{name}.reshape(1, -1) for one sample, {name}.reshape(-1, 1) for one feature"
        )
        if len(shape) > 2:  # images (N, H, W) or (N, H, W, C): one row of features per image
            how = f"{name}.reshape(len({name}), -1) for one row of features per sample"
        raise DataError(
            f"{name} must be 2-D (n_samples, n_features), got shape {shape}; Reshape your data: "
            f"{how}"
        )


# scikit-learn's messages that name the problem but no fix, each with the fix (``{name}`` is
# the input's name); its own wording is kept, which its estimator checks match
_FIXES = (
    (
        ("could not convert string to float", "argument must be a string or a real number"),
        "{name} must hold numbers only: drop its text columns, or make a category the classes "
        "of a CVAEEstimator (its y)",
    ),
    (
        ("contains infinity",),
        "drop those rows or replace those values (or scale {name} down, for values too large)",
    ),
    (
        ("features as input",),
        "pass {name} with the columns fit saw (estimator.n_features_in_ of them), in its order",
    ),
    (
        ("The feature names should match those that were passed during fit",),
        "pass the columns fit saw, in its order: {name}[estimator.feature_names_in_]",
    ),
)


def _check_frame_columns(X: Any) -> None:
    """Name a DataFrame's columns of text or dates, which scikit-learn's check refuses by the
    first value it cannot convert ("could not convert string to float: 'x'"), and the fixes the
    command line gives a table's text column (README): drop them, or make a category the
    classes of a CVAE. Not one-hot encoding, which a Gaussian likelihood per feature would model
    as continuous values. A column of numbers with some cells that are not ('?', 'n/a') is
    named first, with its cells (:func:`_stray_cells`), as the command line names such a cell.

    Raises:
        DataTypeError: (a ``ValueError`` too, as scikit-learn raises for text) naming every
            such column.
    """
    pd = sys.modules.get("pandas")  # pandas is no dependency: a DataFrame means it is imported
    if pd is None or not isinstance(X, pd.DataFrame):
        return
    from torchlvm._dates import all_dates

    found: dict[str, list[Any]] = {"text": [], "dates": [], "durations": []}
    categories = []  # text columns of fewer distinct values than half their rows: classes
    stray: list[tuple[Any, str]] = []  # columns of numbers with cells that are not
    for column, values in X.items():
        kind = values.dtype.kind
        if kind == "m":  # (a Timedelta has no .dt.year: userT #8)
            found["durations"].append(column)
        elif kind == "M" or isinstance(values.dtype, pd.DatetimeTZDtype):
            found["dates"].append(column)
        elif not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)):
            present = values.dropna()
            numbers = pd.to_numeric(present.astype(object), errors="coerce")
            if not numbers.isna().any():  # (an object column of numbers converts: not text)
                continue
            if numbers.notna().sum() > numbers.isna().sum():  # numbers, and a few cells that
                stray.append((column, _stray_cells(column, present[numbers.isna()])))  # are not
                continue  # (a text column with a stray number is text: review16 R9)
            if all_dates(present.astype(str).tolist()):  # (read from a CSV: the
                found["dates"].append(column)  # CLI's date test, userP #6)
                continue
            found["text"].append(column)
            if present.nunique() <= len(present) / 2:  # (not a name or id per row)
                categories.append(column)
    if stray:
        raise _stray_refusal(stray)
    columns = found["text"] + found["dates"] + found["durations"]
    if not columns:
        return
    kinds = " and ".join(
        f"{kind} ({', '.join(map(repr, cols))})" for kind, cols in found.items() if cols
    )
    fixes = [f"drop {'it' if len(columns) == 1 else 'them'} (X.drop(columns={columns!r}))"]
    if found["dates"]:
        first = found["dates"][0]
        year = f"X[{first!r}].dt.year" if X[first].dtype.kind == "M" else (
            f"pd.to_datetime(X[{first!r}]{_day_first(X[first])}).dt.year")  # fmt: skip
        fixes.append(f"turn dates into numbers (e.g. {year})")
    if found["durations"]:
        seconds = f"X[{found['durations'][0]!r}].dt.total_seconds()"
        fixes.append(f"turn durations into numbers (e.g. {seconds})")
    if categories:
        fixes.append(
            f"make a category the classes of a CVAEEstimator: CVAEEstimator(...).fit("
            f"X.drop(columns={columns!r}), X[{categories[0]!r}]) (a category is not one-hot "
            "encoded: a Gaussian likelihood would model its 0/1 columns as continuous values)"
        )
    said = fixes[-1] if len(fixes) == 1 else (
        ", ".join(fixes[:-1]) + (", or " if len(fixes) > 2 else " or ") + fixes[-1])  # fmt: skip
    raise DataTypeError(f"X holds {kinds}, and the models take numbers only; {said}")


def _stray_cells(column: Any, cells: Any) -> str:
    """A column of numbers' cells that are not numbers (``cells``, a Series by row label), named
    with their rows and the conversion that makes them missing: a file's '?' or 'n/a' among
    numbers was called text, with the fixes of a text column (drop it, or make it a CVAE's
    classes: 160 classes of bmi values), where the command line names the cell (userT #9)."""
    values = list(dict.fromkeys(map(str, cells.tolist())))  # distinct, in row order
    shown = ", ".join(map(repr, values[:3]))
    shown += f" and {len(values) - 3} other values" if len(values) > 3 else ""
    rows = ", ".join(map(str, cells.index[:3].tolist()))
    rows += f" and {len(cells) - 3} more" if len(cells) > 3 else ""
    return (
        f"X[{column!r}] holds numbers but also {shown} "
        f"(row{'s' if len(cells) > 1 else ''} labelled {rows})"
    )


def _stray_refusal(stray: list[tuple[Any, str]]) -> DataTypeError:
    """The refusal of columns of numbers holding cells that are not (``(column, said)``, said by
    :func:`_stray_cells`), with the conversion that makes those cells missing values."""
    first, each = stray[0][0], ", and so for each" if len(stray) > 1 else ""
    said = "; ".join(said for _, said in stray)
    return DataTypeError(
        f"{said}: make those cells missing values, which PPCA(method='em') and "
        f"VAEEstimator(objective='miwae') fit around (X[{first!r}] = pd.to_numeric("
        f"X[{first!r}], errors='coerce'){each}), or correct them"
    )


_DAY_MONTH = re.compile(r"\s*(\d{1,2})([./-])(\d{1,2})[./-]\d{2,4}\b")


def _day_first(values: Any) -> str:
    """``", dayfirst=True"`` for date strings written day first ('13.01.2020'; a '.' between
    the parts, or a first part above 12 and no second one above 12), which ``pd.to_datetime``
    would read month first from an ambiguous first value (review14 R23); else ``""``."""
    parts = [m.groups() for v in values.dropna() if (m := _DAY_MONTH.match(str(v)))]
    if not parts:
        return ""
    day_first = any(sep == "." or int(a) > 12 for a, sep, _ in parts)
    month_first = any(int(b) > 12 for _, _, b in parts)
    return ", dayfirst=True" if day_first and not month_first else ""


def _all_sparse_frame(X: Any) -> bool:
    """Whether ``X`` is a DataFrame whose columns are all sparse (``pd.SparseDtype``), the one
    kind scikit-learn refuses as sparse (a mix it converts, with a warning)."""
    pd = sys.modules.get("pandas")
    return (
        pd is not None
        and isinstance(X, pd.DataFrame)
        and X.shape[1] > 0
        and all(isinstance(dtype, pd.SparseDtype) for dtype in X.dtypes)
    )


def without_period(message: str) -> str:
    """``message`` without its final period, where it ends in one: scikit-learn's list of
    missing feature names ends "- ...", which ``rstrip('.')`` ate, so a cut list read as whole
    (userL #10)."""
    return message[:-1] if message.endswith(".") and not message.endswith("..") else message


def _rethrow(error: Exception, name: str, X: Any = None) -> Exception:
    """scikit-learn's message on one line, naming the input if it does not already, and the
    fix where scikit-learn names none (or names one that ``X``, the input, lacks)."""
    message = " ".join(str(error).split())
    if "Complex data not supported" in message:  # (the array's repr follows: userL #18;
        # scikit-learn's check_complex_data looks for its own words, which lead the line)
        return DataError(
            f"Complex data not supported: {name} holds complex numbers, and the models take "
            f"real ones; pass {name}.real if its imaginary parts are 0"
        )
    if "Sparse data was passed" in message and _all_sparse_frame(X):  # (a DataFrame has no
        # .toarray(), which scikit-learn offers: userT #8)
        return DataTypeError(
            f"Sparse data was passed for {name}, but dense data is required: {name} is a "
            f"DataFrame of sparse columns; pass {name}.sparse.to_dense()"
        )
    if not re.search(rf"\b{name}\b", message):
        message = f"{name}: {message}"
    for patterns, fix in _FIXES:
        if any(pattern in message for pattern in patterns):
            message = f"{without_period(message)}; {fix.format(name=name)}"
    return DataTypeError(message) if isinstance(error, TypeError) else DataError(message)


def check_X(
    estimator: Any,
    X: Any,
    *,
    reset: bool,
    allow_nan: bool,
    dtype: torch.dtype,
    device: torch.device | str = "cpu",
    min_samples: int = 1,
) -> Tensor:
    """``X`` checked by ``validate_data`` against ``estimator``, as a tensor.

    Args:
        estimator: the estimator whose ``n_features_in_`` is set (``reset=True``, in ``fit``)
            or compared with (``reset=False``).
        X: array-like or tensor ``(N, D)``.
        allow_nan: let NaN through (inf is always refused).
        dtype, device: of the returned tensor.
        min_samples: fewest rows accepted.

    Returns:
        Tensor ``(N, D)``.

    Raises:
        DataError: for 1-D, empty, complex or non-finite data, or the wrong number of features.
        DataTypeError: for sparse or non-numeric data.
    """
    X = _host(X)
    _check_2d(X, "X")
    _check_frame_columns(X)
    np_dtype = torch.empty(0, dtype=dtype).numpy().dtype
    try:  # finite whatever sklearn.set_config(assume_finite=True) says: the models need it
        with config_context(assume_finite=False):  # (userT #14: an inf got three wrong reasons)
            X = validate_data(
                estimator,
                X,
                reset=reset,
                dtype=np_dtype,
                ensure_all_finite="allow-nan" if allow_nan else True,
                ensure_min_samples=min_samples,
            )
    except (ValueError, TypeError) as error:
        raise _rethrow(error, "X", X) from None
    return _tensor(X, device)


def check_Z(Z: Any, latent_dim: int, *, dtype: torch.dtype, device: torch.device | str) -> Tensor:
    """Latents ``Z`` ``(N, latent_dim)``, finite, as a tensor (for ``inverse_transform``).

    Raises:
        DataError: for another shape or non-finite values. DataTypeError: for non-numbers.
    """
    Z = _host(Z)
    _check_2d(Z, "Z")
    try:
        with config_context(assume_finite=False):  # (finite whatever the caller's config)
            Z = check_array(Z, dtype=torch.empty(0, dtype=dtype).numpy().dtype, input_name="Z")
    except (ValueError, TypeError) as error:
        raise _rethrow(error, "Z") from None
    if Z.shape[1] != latent_dim:
        raise DataError(f"Z must have shape (n_samples, {latent_dim}), got {Z.shape}")
    return _tensor(Z, device)


def _tensor(array: np.ndarray, device: torch.device | str) -> Tensor:
    """``array`` as a tensor on ``device``, sharing memory where it can; a read-only array
    (a memory map) is shared too, as nothing here writes to its input."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return torch.from_numpy(np.ascontiguousarray(array)).to(device)


def random_seed(random_state: Any, name: str = "random_state") -> int:
    """``random_state`` as one seed of torch's draws, by scikit-learn's rule
    (``check_random_state``): an int in [0, 2**32 - 1] as given (the same draws on every call),
    else one drawn from it, a ``RandomState`` or, for None, NumPy's global one (new draws on each
    call, and a ``RandomState`` passed to each call moves on, as in scikit-learn).

    Raises:
        ConfigError: for anything but None, a ``RandomState`` or an int NumPy can seed.
    """
    integer = isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool)
    if integer and 0 <= random_state < 2**32:
        return int(random_state)
    if random_state is None or isinstance(random_state, np.random.RandomState):
        return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
    raise ConfigError(
        f"{name} must be None, a numpy.random.RandomState or an integer in [0, 2**32 - 1], "
        f"got {random_state!r}"
    )


# torchlvm's spellings of ``sample``'s arguments before scikit-learn's (userT #6)
_RENAMED = {"n": "n_samples", "seed": "random_state"}


def sample_arguments(
    owner: str,
    n_samples: Any,
    random_state: Any,
    renamed: dict[str, Any],
    method: str = "sample",
) -> tuple[Any, Any]:
    """``(n_samples, random_state)`` of an estimator's ``sample(n_samples=1, *,
    random_state=None)``, scikit-learn's spelling (``GaussianMixture.sample``,
    ``KernelDensity.sample``), with ``renamed`` its other keywords: the spellings torchlvm had
    before, ``n=`` and PPCA's ``seed=``, are still taken, with a FutureWarning naming the new
    one (userT #6: ``PPCA.sample`` needed ``n``, took ``seed=``; ``VAEEstimator.sample`` took
    neither ``seed`` nor ``random_state``). ``method="impute"``: ``PPCA.impute``'s
    ``random_state``, whose ``seed=`` alone is taken so (review17 R5; ``n_samples`` unused).

    Raises:
        TypeError: for a keyword ``method`` does not take, or one given in both spellings
            (an old ``n=`` beside a positional count other than 1 counts as both).
    """
    given = {"n_samples": n_samples, "random_state": random_state}
    for old, value in renamed.items():
        new = _RENAMED.get(old) if method == "sample" or old == "seed" else None
        if new is None:
            raise TypeError(f"{owner}.{method}() got an unexpected keyword argument {old!r}")
        if given[new] != {"n_samples": 1, "random_state": None}[new]:
            raise TypeError(f"{owner}.{method}() got both {new}= and {old}=; pass {new}= alone")
        warnings.warn(
            f"{owner}.{method}({old}=...) is spelt {new}= now, as in scikit-learn's "
            f"GaussianMixture.sample and KernelDensity.sample: {method}({new}={value!r})",
            FutureWarning,
            stacklevel=callers_level(),
        )
        given[new] = value
    return given["n_samples"], given["random_state"]


def check_observed(X: Tensor, names: Any, model: str) -> None:
    """Refuse columns of X with no observed value (all NaN), by name where X had names
    (``names``: a DataFrame's ``feature_names_in_``), with a drop that applies to X: PPCA said
    "feature 10 of X ... drop or fill that column" of a DataFrame's column 'z' (0-based, by no
    name; nothing to fill it from), and its closed form offered method='em', which refused it
    next (userT #8); ``VAEEstimator(objective='miwae')`` fitted such a column without a word and
    imputed it from an untrained decoder (review17 R8). ``model`` names the model in the text.

    Raises:
        DataError: naming every such column. (A file the command line trains on is refused
            before, by :mod:`torchlvm.data.standardize`'s check of its train split.)
    """
    empty = torch.isnan(X).all(0).nonzero().flatten().tolist()
    if not empty:
        return
    one = len(empty) == 1
    at = empty[0] if one else empty
    said = f"feature{'' if one else 's'} {', '.join(map(str, empty))} of X (counting from 0)"
    drop = f"np.delete(X, {at}, axis=1)"
    if names is not None:
        listed = [str(names[j]) for j in empty]
        said = f"column{'' if one else 's'} {', '.join(map(repr, listed))} of X"
        drop = f"X.drop(columns={listed!r})"

    it = "it" if one else "them"
    raise DataError(
        f"{said} {'has' if one else 'have'} no observed values (all NaN), so {model} has "
        f"nothing to learn of {it}; drop {it} ({drop})"
    )
