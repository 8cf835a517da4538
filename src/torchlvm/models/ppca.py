"""Probabilistic PCA (Tipping & Bishop 1999, JRSS-B 61(3)), fitted exactly, with two faces.

The model: z ~ N(0, I_K), x | z ~ N(W z + μ, σ² I_D), hence x ~ N(μ, C) with C = W Wᵀ + σ² I
(PRML §12.2). The maximum-likelihood fit is in closed form (T&B 1999; PRML eqs. 12.45–12.46):
with λ_1 ≥ … ≥ λ_D the eigenvalues of the ML sample covariance S = Σ (x − x̄)(x − x̄)ᵀ / N and
U_K the leading eigenvectors,

    μ = x̄,   σ² = mean(λ_{K+1}, …, λ_D),   W = U_K (Λ_K − σ² I)^{1/2}   (rotation R = I).

``method="em"`` reaches the same maximum iteratively and also handles missing values (NaN); the
algorithm lives in :mod:`torchlvm.models.ppca_em`.

One class, two faces over the same parameters (no estimator wrapped around a module: the object
that ``torchlvm.load`` returns is the one ``GridSearchCV`` clones):

* a scikit-learn estimator (arrays or tensors in, NumPy out): ``fit``, ``transform``,
  ``inverse_transform``, ``score_samples``, ``score``, ``sample``, ``impute``, ``get_params`` /
  ``set_params``; ``__init__`` only stores its parameters, which are checked by ``fit``; learned
  attributes end in ``_``. It passes ``sklearn.utils.estimator_checks.check_estimator`` but for
  the checks that cannot apply to its settings, which
  :func:`torchlvm.estimators.expected_failed_checks` names with the reason.
* an ``nn.Module`` and :class:`~torchlvm.protocol.LatentVariableModel` (tensors in,
  ``torch.distributions`` out): ``prior``, ``encode`` (the exact posterior), ``decode``, plus
  ``marginal`` / ``log_marginal``; ``state_dict``, ``save_pretrained`` and ``torchlvm.load``.

Densities come from ``torch.distributions``; log p(x) uses ``LowRankMultivariateNormal``, which
applies Woodbury and the matrix determinant lemma, so it costs O(N·D·K) and never forms C⁻¹.
"""

from __future__ import annotations

import contextlib
import dataclasses
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils.validation import check_is_fitted
from torch import Tensor
from torch.distributions import (
    Distribution,
    Independent,
    LowRankMultivariateNormal,
    MultivariateNormal,
    Normal,
)

from torchlvm._checks import (
    check_choice,
    check_non_negative,
    check_non_negative_int,
    check_positive_int,
    trains,
)
from torchlvm._sklearn import check_X, check_Z
from torchlvm.errors import ConfigError, DataError, NotFittedError, on_command_line, spelled
from torchlvm.models import ppca_em
from torchlvm.models.base import SavableModel
from torchlvm.models.registry import register_model

_DTYPES = {"float64": torch.float64, "float32": torch.float32}

# scikit-learn checks (1.9) whose data has 2 features, more than a latent_dim >= 2 allows.
_TWO_FEATURE_CHECKS = (
    "check_estimators_overwrite_params",
    "check_estimators_fit_returns_self",
    "check_readonly_memmap_input",
    "check_fit_idempotent",
    "check_fit_check_is_fitted",
    "check_n_features_in",
)


@dataclass(frozen=True)
class PPCAConfig:
    """Everything needed to rebuild an unfitted :class:`PPCA`. Checked on construction.

    Raises:
        ConfigError: for a value out of range; the message names the field and the value.
    """

    # K, the size of z; must also be smaller than the number of features (checked by fit).
    latent_dim: int
    # "closed_form": eigendecomposition of the ML covariance; "em": EM, which allows NaN.
    method: Literal["closed_form", "em"] = "closed_form"
    # Most EM iterations (method="em" only).
    max_iter: int = 1000
    # EM stops when the mean log-likelihood per sample changes by less than this (nats).
    tol: float = 1e-8
    # Floating-point type of the parameters and of every computation.
    dtype: Literal["float64", "float32"] = "float64"
    # Seeds EM's random start through a private generator; the global RNG is untouched.
    seed: int = 0

    def __post_init__(self) -> None:
        # the checks return Python ints, also for GridSearchCV's np.arange(...) NumPy integers
        set_ = object.__setattr__
        set_(self, "latent_dim", check_positive_int("latent_dim", self.latent_dim))
        check_choice("method", self.method, ("closed_form", "em"))
        set_(self, "max_iter", check_positive_int("max_iter", self.max_iter))
        check_non_negative("tol", self.tol)
        check_choice("dtype", self.dtype, tuple(_DTYPES))
        set_(self, "seed", check_non_negative_int("seed", self.seed))


def _dtype_name(dtype: Any) -> Any:
    """``torch.float64`` or ``np.float64`` → ``"float64"``; strings and anything else pass
    through to the check."""
    for name, value in _DTYPES.items():
        if dtype is value:
            return name
    if isinstance(dtype, str):
        return dtype
    try:
        return np.dtype(dtype).name  # NumPy's types, as scikit-learn users write them
    except TypeError:
        return str(dtype)


def _flip_signs(U: Tensor) -> Tensor:
    """Make the largest-magnitude entry of each column of ``U`` (D, K) positive (sklearn's
    ``svd_flip`` convention for ``components_``), so the axes are deterministic."""
    rows = U.abs().argmax(0)
    signs = torch.sign(U[rows, torch.arange(U.shape[1])])
    return U * torch.where(signs == 0, 1.0, signs)


def _closed_form(X: Tensor, K: int) -> tuple[Tensor, Tensor, Tensor, float]:
    """ML parameters ``(W (D, K), μ (D,), σ² 0-d)`` from the eigendecomposition of S (D, D),
    and the mean variance per feature tr(S) / D. With fewer rows than features (N < D) the
    eigenpairs come from the thin SVD of the centred data (N, D) instead: S's other D − N
    eigenvalues are 0, and a (D, D) eigendecomposition of a wide table took minutes."""
    N, D = X.shape
    mu = X.mean(0)
    Xc = X - mu  # (N, D)
    if N < D:
        _, s, Vh = torch.linalg.svd(Xc, full_matrices=False)  # descending; (N,), (N, D)
        evals, evecs = torch.cat([s.square() / N, s.new_zeros(D - N)]), Vh.T  # (D,), (D, N)
    else:
        S = Xc.T @ Xc / N  # (D, D), divide by N: the ML estimate
        if not torch.isfinite(S).all():
            raise DataError(
                f"X's covariance overflows {X.dtype} (values up to {Xc.abs().max().item():.3g} "
                "from the mean); rescale X"
            )
        evals, evecs = torch.linalg.eigh(S)  # ascending
        evals, evecs = evals.flip(0), evecs.flip(1)
    sigma2 = evals[K:].mean()
    W = _flip_signs(evecs[:, :K]) * (evals[:K] - sigma2).clamp_min(0).sqrt()
    return W, mu, sigma2, float(evals.sum()) / D


def _no_noise_left(K: int, X: Tensor) -> DataError:
    """The refusal of σ² = 0 (relative to X's variance). Where X's columns differ in scale by
    more than its float type resolves beside each other (a column ~1e30 beside columns ~1), the
    small columns' variance is below the eigensolver's rounding, not absent: then the fix is
    standardizing, which no latent_dim replaces."""
    variances = (X - X.nanmean(0)).square().nanmean(0)  # (D,), per column
    positive = variances[variances > 0]
    resolution = 10 * torch.finfo(X.dtype).eps * X.shape[1] * float(variances.mean())
    if len(positive) and float(positive.min()) < resolution:
        low, high = float(positive.min()), float(variances.max())
        return spelled(DataError, lambda spell: (
            f"X has no variance outside {K} directions that {X.dtype} can resolve: its column "
            f"variances from {low:.3g} to {high:.3g}: standardize X first ("
            + ("pass --standardize, the default for tables" if spell is on_command_line
               else "e.g. sklearn.preprocessing.StandardScaler in a Pipeline")
            + ")"
        ))  # fmt: skip
    fix = (
        "choose a smaller latent_dim (--latent-dim)"
        if K > 1
        else "the rows lie on one line, which PCA(n_components=1) describes exactly"
    )
    return DataError(
        f"X has no variance outside {K} directions, so the noise variance is 0 and the "
        f"density is degenerate; {fix}"
    )


def _check_rows(N: int, K: int) -> None:
    """Refuse N rows for K latent dimensions when K >= N − 1: the centred rows span at most
    N − 1 directions, so no variance is left for σ² (and the thin SVD has only N axes)."""
    if K < N - 1:
        return
    fix = f"fit at least {K + 2} rows"
    if N > 2:
        fix = f"choose a smaller latent_dim (--latent-dim), at most {N - 2}, or {fix}"
    raise DataError(
        f"X has {N} rows, which span at most {N - 1} directions around their mean, so "
        f"latent_dim={K} leaves no variance for the noise (σ² = 0); {fix}"
    )


def _check_variance(variance: float) -> None:
    if not variance > 0:
        raise DataError("X has zero variance in every feature; PPCA needs data that vary")


def _has_nan(x: Tensor) -> bool:
    """Whether ``x`` (already free of inf) holds NaN; one reduction when it does not."""
    return not bool(torch.isfinite(x.sum())) and bool(torch.isnan(x).any())


def _resize_for_load(module: PPCA, state_dict: dict[str, Any], prefix: str, *_: Any) -> None:
    """Load-state-dict pre-hook: give the (possibly unset) buffers the incoming shapes."""
    for name in ("W", "mu", "sigma2"):
        value = state_dict.get(prefix + name)
        if isinstance(value, Tensor):
            setattr(module, name, torch.empty(value.shape, dtype=_DTYPES[module.config.dtype]))


def _after_load(module: PPCA, incompatible_keys: Any) -> None:
    """Load-state-dict post-hook: check the shapes and derive the ``_`` attributes."""
    if module.W is None:
        return
    if module.W.ndim != 2 or module.W.shape[1] != module.latent_dim:
        raise ConfigError(
            f"state_dict W has shape {tuple(module.W.shape)}, but this PPCA has "
            f"latent_dim={module.latent_dim}; build it with latent_dim={module.W.shape[-1]}"
        )
    if module.mu is None or module.sigma2 is None or module.mu.shape != module.W.shape[:1]:
        raise DataError("state_dict holds W but no matching mu and sigma2; the file is damaged")
    if not bool((module.sigma2 > 0).all()):
        raise DataError(
            f"state_dict noise variance sigma2 = {module.sigma2.tolist()} must be positive; "
            "the file is damaged or was not written by PPCA.fit"
        )
    module._set_fitted_attributes()


@register_model("ppca")
class PPCA(
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    BaseEstimator,
    SavableModel,
    torch.nn.Module,
):
    """Probabilistic PCA with an exact maximum-likelihood fit; a scikit-learn estimator and a
    :class:`~torchlvm.protocol.LatentVariableModel` in one object (see the module docstring).

    ``score`` is the mean exact log-likelihood, so ``GridSearchCV(PPCA(), {"latent_dim": ...})``
    chooses K by cross-validated log-likelihood.

    Args:
        latent_dim: K, the number of latent dimensions (0 < K < number of features).
        method: ``"closed_form"`` (eigendecomposition, default) or ``"em"`` (also fits data
            with NaN entries, treated as missing at random).
        max_iter: most EM iterations. tol: EM stops when the mean log-likelihood per sample
            changes by less than ``tol`` nats. seed: EM's deterministic random start.
        dtype: ``"float64"`` (default) or ``"float32"`` (or the torch or NumPy type), for
            parameters and arithmetic.

    Attributes (after ``fit``, NumPy unless noted):
        W_: loadings (D, K), in the canonical rotation: column k = ``components_[k]`` ×
            sqrt(``explained_variance_[k]`` − σ²), for both methods.
        mean_: μ (D,). noise_variance_: σ² (float).
        components_: orthonormal principal axes (K, D), sorted by decreasing variance.
        explained_variance_: variance of the model along each axis (K,), the ML estimate
            (sample covariance divided by N; scikit-learn divides by N − 1).
        n_features_in_: D. n_iter_: EM iterations run (0 for the closed form).
        log_likelihood_history_: mean log-likelihood per sample (nats) at each EM iterate
            (observed entries only when X has NaN); empty for the closed form.
        W, mu, sigma2: the same parameters as tensor buffers, so ``state_dict()`` holds them.

    Raises:
        ConfigError: from ``fit`` (or ``config``), for an argument out of range
            (``latent_dim must be a positive integer``).
    """

    Config = PPCAConfig

    def __init__(
        self,
        *,
        latent_dim: int = 2,
        method: Literal["closed_form", "em"] = "closed_form",
        max_iter: int = 1000,
        tol: float = 1e-8,
        dtype: torch.dtype | Literal["float64", "float32"] = "float64",
        seed: int = 0,
    ) -> None:
        torch.nn.Module.__init__(self)
        self.latent_dim = latent_dim
        self.method = method
        self.max_iter = max_iter
        self.tol = tol
        self.dtype = dtype
        self.seed = seed
        self.register_buffer("W", None)
        self.register_buffer("mu", None)
        self.register_buffer("sigma2", None)
        self.register_load_state_dict_pre_hook(_resize_for_load)
        self.register_load_state_dict_post_hook(_after_load)

    @classmethod
    def from_config(cls, config: PPCAConfig) -> PPCA:
        """An unfitted model with the settings of ``config``."""
        if not isinstance(config, PPCAConfig):
            raise ConfigError(f"config must be a PPCAConfig, got {type(config).__name__}")
        return cls(**dataclasses.asdict(config))

    @property
    def config(self) -> PPCAConfig:
        """The parameters as a checked :class:`PPCAConfig` (what ``config.json`` records).

        Raises:
            ConfigError: for a parameter out of range.
        """
        return PPCAConfig(
            latent_dim=self.latent_dim,
            method=self.method,
            max_iter=self.max_iter,
            tol=self.tol,
            dtype=_dtype_name(self.dtype),
            seed=self.seed,
        )

    @property
    def fitted_config(self) -> PPCAConfig:
        """The config of the fitted model, which ``save_pretrained`` records: ``set_params``
        after ``fit`` changes the parameters (``config``) for the next ``fit`` only, so K and the
        dtype are the fitted W's and the other settings those it was fitted with; before
        ``fit``, ``config``."""
        fitted = self.__dict__.get("_fit_settings")
        if self.W is None or fitted is None:
            return self.config
        return dataclasses.replace(fitted, latent_dim=self._k, dtype=_dtype_name(self.W.dtype))

    @property
    def _k(self) -> int:
        """K of the fitted W (D, K), which every method of a fitted model reads: ``set_params``
        changes ``latent_dim`` for the next ``fit`` (scikit-learn's contract); before ``fit``,
        ``latent_dim``."""
        return self.latent_dim if self.W is None else int(self.W.shape[1])

    @property
    def torch_dtype(self) -> torch.dtype:
        """The floating-point type of the parameters and results: the fitted W's (``set_params``
        changes ``dtype`` for the next ``fit``, as ``latent_dim``), before ``fit`` ``dtype``'s."""
        return _DTYPES[self.config.dtype] if self.W is None else self.W.dtype

    # nn.Module keeps its public ``training`` flag in the instance; scikit-learn's contract is
    # that __init__ stores its parameters and nothing else, so the flag lives under a private
    # name. PPCA behaves the same in both modes.
    @property
    def training(self) -> bool:  # type: ignore[override]
        return self.__dict__.get("_training", True)

    @training.setter
    def training(self, mode: bool) -> None:
        self.__dict__["_training"] = mode

    def _apply(self, fn: Any, recurse: bool = True) -> PPCA:
        """``nn.Module``'s casts and moves (``.float()``, ``.to(torch.float64)``): a cast of the
        fitted parameters is a change of ``dtype``, which every method computes in."""
        if self.W is None:
            return super()._apply(fn, recurse)
        name = _dtype_name(fn(self.W[:0]).dtype)  # what the cast makes of W (no copy: empty)
        if name not in _DTYPES:
            raise ConfigError(
                f"PPCA computes in float64 or float32, not {name}; cast with .double() or .float()"
            )
        super()._apply(fn, recurse)
        self.dtype = name
        return self

    def _expected_failed_checks(self) -> dict[str, str]:
        """scikit-learn checks that cannot apply to these settings, each with the reason."""
        checks = {}
        if self.method == "closed_form":
            checks["check_estimators_nan_inf"] = (
                "NaN in transform is a missing entry, not an error: a fitted PPCA conditions on "
                "the observed entries (exact for a Gaussian); the closed form's fit refuses NaN "
                "and inf, and every method refuses inf, as the check wants"
            )
            checks["check_transformer_n_iter"] = (
                "the closed form runs no iterations (n_iter_ = 0); max_iter bounds "
                "method='em', whose n_iter_ is at least 1"
            )
        if isinstance(self.latent_dim, int) and self.latent_dim >= 2:
            reason = (
                "the check fits data with 2 features, and PPCA needs latent_dim < n_features "
                "(no direction is left to estimate the noise variance); it passes with "
                "latent_dim=1"
            )
            checks.update(dict.fromkeys(_TWO_FEATURE_CHECKS, reason))
        return checks

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = self.method == "em"  # EM fits around missing entries
        dtype = _dtype_name(self.dtype)
        tags.transformer_tags.preserves_dtype = [dtype] if dtype in _DTYPES else []
        return tags

    # ----------------------------------------------------------------------- fitting

    @trains
    def fit(self, X: Any, y: Any = None) -> PPCA:
        """Fit μ, W and σ² by maximum likelihood.

        Args:
            X: data (N, D), array-like or tensor (the fit runs on the tensor's device); NaN
                marks a missing entry (``"em"`` only).
            y: ignored (scikit-learn compatibility).

        Returns:
            ``self``.

        Raises:
            ConfigError: for a parameter out of range, or ``latent_dim`` not smaller than the
                number of features.
            DataError: for data that is not 2-D, has fewer than 2 samples, holds inf, holds NaN
                with the closed form, has an all-NaN feature, or has no variance left for σ².
            DataTypeError: for sparse or non-numeric data.
        """
        cfg = self.config
        device = X.device if isinstance(X, Tensor) else torch.device("cpu")
        X = check_X(
            self,
            X,
            reset=True,
            allow_nan=True,
            dtype=_DTYPES[cfg.dtype],  # (the parameter, not a previous fit's)
            device=device,
            min_samples=2,
        )
        D, K = X.shape[1], cfg.latent_dim
        if D == 1:
            raise DataError(
                "X has n_features=1, and PPCA needs at least 2 (latent_dim >= 1 must be smaller, "
                "to leave a direction for the noise variance); fit it to data with 2 or more "
                "features (one feature's Gaussian is just its mean and variance)"
            )
        if K >= D:
            raise ConfigError(
                f"latent_dim must be smaller than the number of features, got latent_dim={K} "
                f"for X with n_features={D}; choose latent_dim (--latent-dim) from 1 to {D - 1}"
            )
        _check_rows(X.shape[0], K)
        has_nan = _has_nan(X)
        if has_nan and cfg.method == "closed_form":
            raise DataError(
                'X contains NaN; the closed form needs complete data — use method="em" for '
                "missing values"
            )
        history: list[float] = []
        if cfg.method == "closed_form":
            W, mu, sigma2, variance = _closed_form(X, K)
            _check_variance(variance)
        else:
            W, mu, sigma2, variance, history = self._fit_em(X, has_nan)
        if not sigma2 > 10 * torch.finfo(X.dtype).eps * variance:
            raise _no_noise_left(K, X)
        self.mu, self.sigma2 = mu, sigma2.reshape(())
        U, s, _ = torch.linalg.svd(W, full_matrices=False)
        self.W = _flip_signs(U) * s  # the canonical rotation R = I; C = W Wᵀ + σ² I is unchanged
        self._set_fitted_attributes()
        self.n_iter_ = max(len(history) - 1, 0)
        self.log_likelihood_history_ = history
        return self

    def _fit_em(self, X: Tensor, has_nan: bool) -> tuple[Tensor, Tensor, Tensor, float, list]:
        """EM from the seeded start; returns ``(W, mu, sigma2, mean variance, history)``."""
        cfg = self.config
        if has_nan:
            all_missing = torch.isnan(X).all(0)
            if all_missing.any():
                first = int(all_missing.nonzero()[0])
                raise DataError(
                    f"feature {first} of X has no observed values (all NaN); drop or fill that "
                    "column"
                )
            variance = float(((X - X.nanmean(0)) ** 2).nanmean())
        else:
            variance = float(X.var(0, correction=0).mean())
        _check_variance(variance)
        D, K = X.shape[1], cfg.latent_dim
        W0, sigma2_0 = ppca_em.initial_loadings(D, K, variance, seed=cfg.seed, dtype=X.dtype)
        W0, sigma2_0 = W0.to(X.device), sigma2_0.to(X.device)  # (drawn on the CPU: the same start)
        run = ppca_em.em_missing if has_nan else ppca_em.em_complete
        try:
            W, mu, sigma2, history = run(X, W0, sigma2_0, max_iter=cfg.max_iter, tol=cfg.tol)
        except torch.linalg.LinAlgError:  # σ² went to 0: W Wᵀ + σ² I lost its full rank
            raise _no_noise_left(K, X) from None
        self._warn_if_not_converged(history)
        return W, mu, sigma2, variance, history

    def _warn_if_not_converged(self, history: list[float]) -> None:
        cfg = self.config
        change = abs(history[-1] - history[-2]) if len(history) > 1 else 0.0
        if len(history) - 1 >= cfg.max_iter and change >= cfg.tol:
            warnings.warn(
                f"PPCA EM did not converge in max_iter={cfg.max_iter} iterations (last change "
                f"{change:.3g} nats >= tol={cfg.tol}); raise max_iter or tol",
                RuntimeWarning,
                stacklevel=3,
            )

    def _set_fitted_attributes(self) -> None:
        """Derive the scikit-learn attributes from the buffers W, mu, sigma2, and keep the
        settings they were fitted (or loaded) with for :attr:`fitted_config`."""
        self._fit_settings = self.config
        U, s, _ = torch.linalg.svd(self.W, full_matrices=False)
        sigma2 = self.sigma2.item()
        self.W_ = self.W.detach().cpu().numpy().copy()
        self.mean_ = self.mu.detach().cpu().numpy().copy()
        self.noise_variance_ = sigma2
        self.components_ = _flip_signs(U).T.cpu().numpy().copy()
        self.explained_variance_ = (s**2 + sigma2).cpu().numpy()
        self.n_features_in_ = int(self.W.shape[0])
        self._n_features_out = self._k  # names transform's columns ppca0, ppca1, ...

    # ------------------------------------------------------------------- input checks

    def _check_fitted(self) -> None:
        try:
            check_is_fitted(self, "W_")
        except SklearnNotFittedError:
            raise NotFittedError("PPCA is not fitted yet; call fit(X) first") from None

    def _check_X(self, X: Any) -> Tensor:
        """``X`` after fitting, for the scikit-learn face: NaN passes, inf does not."""
        self._check_fitted()
        return check_X(
            self, X, reset=False, allow_nan=True, dtype=self.torch_dtype, device=self.W.device
        )

    def _as_data(self, X: Any, *, name: str) -> Tensor:
        """``X`` (tensor face) as a 2-D tensor in the model's dtype; NaN passes, inf does not."""
        self._check_fitted()
        t = _as_tensor(X, name, self.torch_dtype)
        if t.ndim != 2:
            raise DataError(
                f"{name} must be 2-D (n_samples, n_features), got shape {tuple(t.shape)}; "
                "reshape a single sample with .reshape(1, -1)"
            )
        if t.shape[0] == 0 or t.shape[1] == 0:
            raise DataError(f"{name} is empty (shape {tuple(t.shape)}); pass at least one sample")
        if not torch.isfinite(t.sum()) and torch.isinf(t).any():  # one pass when all finite
            raise DataError(f"{name} contains inf; replace infinite values (NaN marks missing)")
        if t.shape[1] != self.n_features_in_:
            raise DataError(
                f"{name} has {t.shape[1]} features, but PPCA is expecting "
                f"{self.n_features_in_} features as input; pass data with that many columns"
            )
        return t.to(self.W.device)

    # ------------------------------------------------------------ distributions face

    def prior(self, c: Tensor | None = None, batch_shape: tuple[int, ...] = ()) -> Independent:
        """p(z) = N(0, I_K), batch shape ``batch_shape``, event ``(K,)``.

        Raises:
            ConfigError: if ``c`` is given (PPCA is unconditional).
        """
        _check_unconditional(c)
        device = None if self.W is None else self.W.device
        loc = torch.zeros(*batch_shape, self._k, dtype=self.torch_dtype, device=device)
        return Independent(Normal(loc, torch.ones_like(loc)), 1)

    def encode(self, x: Tensor, c: Tensor | None = None) -> MultivariateNormal:
        """The exact posterior p(z | x) = N(M⁻¹ Wᵀ (x − μ), σ² M⁻¹), M = WᵀW + σ² I
        (PRML eqs. 12.41–12.42). Rows with NaN condition on their observed entries only.

        Args:
            x: data (B, D).

        Returns:
            ``MultivariateNormal`` with batch shape ``(B,)`` and event ``(K,)``.
        """
        _check_unconditional(c)
        mean, cov = self._posterior(self._as_data(x, name="x"))
        return MultivariateNormal(mean, covariance_matrix=cov)

    def decode(self, z: Tensor, c: Tensor | None = None) -> Independent:
        """p(x | z) = N(W z + μ, σ² I): ``Independent(Normal(z Wᵀ + μ, σ), 1)``.

        Args:
            z: latents (..., B, K).

        Returns:
            Batch shape ``(..., B)``, event ``(D,)``.
        """
        _check_unconditional(c)
        self._check_fitted()
        z = _as_tensor(z, "z", self.torch_dtype)
        if z.ndim == 0 or z.shape[-1] != self._k:
            raise DataError(f"z must end in latent_dim={self._k}, got shape {tuple(z.shape)}")
        loc = z @ self.W.T + self.mu  # (..., B, D)
        return Independent(Normal(loc, self.sigma2.sqrt().expand_as(loc)), 1)

    def expected_log_likelihood(
        self, x: Tensor, q: Distribution, c: Tensor | None = None
    ) -> Tensor:
        """E_q[log p(x | z)] in closed form for any Gaussian q(z) with mean m and covariance S:

            E_q[log N(x; W z + μ, σ² I)] = log N(x; W m + μ, σ² I) − tr(Wᵀ W S) / (2 σ²).

        Used by ``elbo(..., log_lik_method="analytic")`` so the ELBO, and the identity
        log p(x) = ELBO + KL(q ‖ p(z | x)), hold to machine precision.

        Args:
            x: data (B, D).
            q: a ``MultivariateNormal`` or diagonal ``Independent(Normal)`` with batch ``(B,)``
                and event ``(K,)``.

        Returns:
            Tensor (B,), nats.
        """
        _check_unconditional(c)
        x = self._as_data(x, name="x")
        if isinstance(q, MultivariateNormal):
            trace = torch.einsum("kl,...lk->...", self.W.T @ self.W, q.covariance_matrix)
        elif isinstance(q, Independent) and isinstance(q.base_dist, Normal):
            trace = (q.variance * (self.W * self.W).sum(0)).sum(-1)
        else:
            raise ConfigError(
                f"expected_log_likelihood needs a Gaussian q, got {type(q).__name__}; "
                "use log_lik_method='mc' for other families"
            )
        return self.decode(q.mean).log_prob(x) - trace / (2 * self.sigma2)

    def marginal(self) -> LowRankMultivariateNormal:
        """p(x) = N(μ, W Wᵀ + σ² I) as a ``LowRankMultivariateNormal`` (event ``(D,)``)."""
        self._check_fitted()
        diag = self.sigma2.expand_as(self.mu)
        return LowRankMultivariateNormal(self.mu, cov_factor=self.W, cov_diag=diag)

    def log_marginal(self, x: Tensor) -> Tensor:
        """Exact log p(x) per row, in nats; for a row with NaN, the density of its observed
        entries. Cost O(B·D·K).

        Args:
            x: data (B, D).

        Returns:
            Tensor (B,).
        """
        return self._log_density(self._as_data(x, name="x"))

    def _log_density(self, x: Tensor) -> Tensor:
        if _has_nan(x):
            return ppca_em.observed_log_prob(x, self.W, self.mu, self.sigma2)
        return self.marginal().log_prob(x)

    def posterior_covariance(self) -> Tensor:
        """σ² M⁻¹ (K, K), the posterior covariance of z for any complete x."""
        self._check_fitted()
        return self.sigma2 * torch.linalg.inv(self._M())

    def _M(self) -> Tensor:
        eye = torch.eye(self._k, dtype=self.W.dtype, device=self.W.device)
        return self.W.T @ self.W + self.sigma2 * eye  # (K, K)

    def _posterior(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Posterior means (B, K) and covariance (K, K), or (B, K, K) when x has NaN."""
        if _has_nan(x):
            return ppca_em.observed_posterior(x, self.W, self.mu, self.sigma2)
        L = torch.linalg.cholesky(self._M())
        mean = torch.cholesky_solve(((x - self.mu) @ self.W).T, L).T  # (B, K)
        return mean, self.sigma2 * torch.cholesky_inverse(L)

    # ------------------------------------------------------------- scikit-learn face

    def transform(self, X: Any) -> np.ndarray:
        """Posterior means E[z | x] (N, K); rows with NaN use their observed entries."""
        return _numpy(self._posterior(self._check_X(X))[0])

    def inverse_transform(self, Z: Any) -> np.ndarray:
        """Reconstructions Z Wᵀ + μ (N, D), the mean of p(x | z), from latents Z (N, K).

        ``inverse_transform(transform(X))`` is not PCA's projection of X: the posterior mean
        E[z | x] = M⁻¹Wᵀ(x − μ), M = WᵀW + σ²I, is shrunk toward 0 by the noise, so its
        squared error exceeds PCA's (1.96× on standardized wine at K = 10, 1.02× on digits).
        The projection is W (WᵀW)⁻¹ M E[z | x] + μ (Tipping & Bishop 1999, §3.2):
        ``inverse_transform(transform(X) @ M @ np.linalg.inv(W_.T @ W_))`` with
        ``M = W_.T @ W_ + noise_variance_ * np.eye(K)``."""
        self._check_fitted()
        Z = check_Z(Z, self._k, dtype=self.torch_dtype, device=self.W.device)
        return _numpy(Z @ self.W.T + self.mu)

    def get_covariance(self) -> np.ndarray:
        """The model's covariance of x, C = W Wᵀ + σ² I (D, D), as scikit-learn's
        ``PCA.get_covariance``, whose W and σ² divide by N − 1 where these divide by N. With
        N <= D its σ² also averages only min(N, D) − K eigenvalues where the ML σ² (Tipping &
        Bishop 1999, eq. 8) averages D − K, so its ``score`` is not the PPCA maximum there."""
        return _numpy(self.marginal().covariance_matrix)

    def get_precision(self) -> np.ndarray:
        """C⁻¹ (D, D), by the Woodbury identity through the K × K capacitance (torch's
        ``LowRankMultivariateNormal.precision_matrix``), as ``PCA.get_precision``."""
        return _numpy(self.marginal().precision_matrix)

    def score_samples(self, X: Any) -> np.ndarray:
        """Exact log p(x) per sample (N,), in nats; NaN entries are marginalized out."""
        return _numpy(self._log_density(self._check_X(X)))

    def score(self, X: Any, y: Any = None) -> float:
        """Mean of :meth:`score_samples`: the average log-likelihood per sample, in nats."""
        return float(self.score_samples(X).mean())

    def sample(self, n: int, *, seed: int | None = None) -> np.ndarray:
        """``n`` draws x ~ p(x), shape (n, D). ``seed`` makes them repeatable without touching
        the global RNG; ``None`` draws from it."""
        check_positive_int("n", n)
        self._check_fitted()
        with _seeded(seed):
            z = self.prior(batch_shape=(n,)).sample()  # (n, K)
            return _numpy(self.decode(z).sample())

    def impute(self, X: Any) -> np.ndarray:
        """``X`` (N, D) with each NaN replaced by E[x_missing | x_observed], the exact
        conditional mean W_missing E[z | x_observed] + μ_missing."""
        X = self._check_X(X)
        mean, _ = self._posterior(X)
        return _numpy(torch.where(torch.isnan(X), mean @ self.W.T + self.mu, X))


def _check_unconditional(c: Tensor | None) -> None:
    if c is not None:
        raise ConfigError("PPCA is unconditional; c must be None, got a tensor")


def _as_tensor(X: Any, name: str, dtype: torch.dtype) -> Tensor:
    """A NumPy array, tensor or nested list as a tensor of ``dtype``; non-numbers refused."""
    if isinstance(X, Tensor):
        if X.is_complex():
            raise DataError(f"{name} must be real, got dtype {X.dtype}")
        return X.to(dtype)  # keeps the graph: ELBO gradients flow through decode(z)
    arr = np.asarray(X)
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise DataError(f"{name} must be real, got dtype {arr.dtype}")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise DataError(f"{name} must hold numbers, got dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=torch.empty(0, dtype=dtype).numpy().dtype)
    with warnings.catch_warnings():  # a read-only array is shared, never written to
        warnings.simplefilter("ignore", UserWarning)
        return torch.from_numpy(arr)


def _numpy(t: Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


@contextlib.contextmanager
def _seeded(seed: int | None) -> Iterator[None]:
    """Seed torch's CPU RNG inside the block and restore it after; ``None`` does nothing."""
    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield
