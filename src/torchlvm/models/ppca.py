"""Probabilistic PCA (Tipping & Bishop 1999, JRSS-B 61(3)), fitted exactly, with two faces.

The model: z ~ N(0, I_K), x | z ~ N(W z + μ, σ² I_D), hence x ~ N(μ, C) with C = W Wᵀ + σ² I
(PRML §12.2). The maximum-likelihood fit is in closed form (T&B 1999; PRML eqs. 12.45–12.46):
with λ_1 ≥ … ≥ λ_D the eigenvalues of the ML sample covariance S = Σ (x − x̄)(x − x̄)ᵀ / N and
U_K the leading eigenvectors,

    μ = x̄,   σ² = mean(λ_{K+1}, …, λ_D),   W = U_K (Λ_K − σ² I)^{1/2}   (rotation R = I).

``method="em"`` reaches the same maximum iteratively and also handles missing values (NaN); the
algorithm lives in :mod:`torchlvm.models.ppca_em`, and both fits (with the refusals of data that
leave no variance for σ²) in :mod:`torchlvm.models.ppca_fit`.

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

This file holds the class, its config, its fit and what makes it an ``nn.Module`` and an
estimator; each face's methods are a mixin of their own file (:mod:`.ppca_sklearn`,
:mod:`.ppca_density`), over the same buffers.

Densities come from ``torch.distributions``; log p(x) uses ``LowRankMultivariateNormal``, which
applies Woodbury and the matrix determinant lemma, so it costs O(N·D·K) and never forms C⁻¹.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils.validation import check_is_fitted
from torch import Tensor

from torchlvm._checks import (
    check_choice,
    check_non_negative,
    check_non_negative_int,
    check_positive_int,
    trains,
)
from torchlvm._sklearn import check_X
from torchlvm._threads import TABLE_THREADS, on_threads
from torchlvm.errors import ConfigError, DataError, NotFittedError
from torchlvm.models.base import SavableModel
from torchlvm.models.fit_failure import unchanged_if_fit_fails
from torchlvm.models.ppca_density import PPCADensityFace
from torchlvm.models.ppca_fit import fit_parameters, flip_signs
from torchlvm.models.ppca_float32 import (
    lost_in_cast,
    warn_if_cast_rounded,
    warn_if_ill_conditioned,
    warn_if_noise_is_rounding,
)
from torchlvm.models.ppca_sklearn import PPCAEstimatorFace
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
    # EM stops when the mean log-likelihood per sample changes by at most this (nats).
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
    PPCADensityFace,
    PPCAEstimatorFace,
    ClassNamePrefixFeaturesOutMixin,
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
            changes by at most ``tol`` nats. seed: EM's deterministic random start.
        dtype: ``"float64"`` (default) or ``"float32"`` (or the torch or NumPy type), for
            parameters and arithmetic.
        threads: torch intra-op threads while ``fit`` and the scikit-learn methods run
            (``transform``, ``score_samples``, ``impute``, ...); None keeps the caller's
            ``torch.set_num_threads``. One by default, whatever the data: on shared cores EM
            on a table took 17-58 s on two threads against 3.4-3.8 s on one, and on 20,000
            Fashion-MNIST images the exact fit 7.5 s against 3.6 s (:mod:`torchlvm._threads`).
            The density methods (``encode``, ``log_marginal``) run on the caller's count.

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
        threads: int | None = TABLE_THREADS,
    ) -> None:
        torch.nn.Module.__init__(self)
        self.latent_dim = latent_dim
        self.method = method
        self.max_iter = max_iter
        self.tol = tol
        self.dtype = dtype
        self.seed = seed
        self.threads = threads
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

    @unchanged_if_fit_fails
    @trains
    @on_threads
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
                A refused fit in float32 is tried once more in float64 to tell whether the
                cast is the cause (:func:`~torchlvm.models.ppca_float32.lost_in_cast`).
            DataTypeError: for sparse or non-numeric data.
        """
        cfg = self.config
        device = X.device if isinstance(X, Tensor) else torch.device("cpu")
        given = X  # (before the cast to cfg.dtype, which can round its variation away)
        X = check_X(
            self,
            given,
            reset=True,
            allow_nan=True,
            dtype=_DTYPES[cfg.dtype],  # (the parameter, not a previous fit's)
            device=device,
            min_samples=2,
        )
        try:
            names = getattr(self, "feature_names_in_", None)  # (check_X's, of this X)
            self.W, self.mu, self.sigma2, history = fit_parameters(X, cfg, names)
        except DataError as refusal:
            cast = lost_in_cast(given, X, refit=lambda wide: fit_parameters(wide, cfg, names))
            if cast is None:
                raise
            raise cast from refusal
        warn_if_cast_rounded(given, X)
        warn_if_noise_is_rounding(X, self.sigma2)
        warn_if_ill_conditioned(self.W, self.sigma2)
        self._set_fitted_attributes()
        self.n_iter_ = max(len(history) - 1, 0)
        self.log_likelihood_history_ = history
        return self

    def _set_fitted_attributes(self) -> None:
        """Derive the scikit-learn attributes from the buffers W, mu, sigma2, and keep the
        settings they were fitted (or loaded) with for :attr:`fitted_config`."""
        self._fit_settings = self.config
        U, s, _ = torch.linalg.svd(self.W, full_matrices=False)
        sigma2 = self.sigma2.item()
        self.W_ = self.W.detach().cpu().numpy().copy()
        self.mean_ = self.mu.detach().cpu().numpy().copy()
        self.noise_variance_ = sigma2
        self.components_ = flip_signs(U).T.cpu().numpy().copy()
        self.explained_variance_ = (s**2 + sigma2).cpu().numpy()
        self.n_features_in_ = int(self.W.shape[0])
        self._n_features_out = self._k  # names transform's columns ppca0, ppca1, ...

    # ------------------------------------------------------------------- input checks

    def _check_fitted(self) -> None:
        try:
            check_is_fitted(self, "W_")
        except SklearnNotFittedError:
            raise NotFittedError("PPCA is not fitted yet; call fit(X) first") from None
