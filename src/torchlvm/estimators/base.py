"""What the deep estimators share: scikit-learn parameters, fitting through the CLI's training
path, and the methods that read the trained model.

Design: an estimator is a thin scikit-learn object over a torchlvm model. ``fit`` builds the
model (:class:`~torchlvm.VAE`, :class:`~torchlvm.CVAE`) and trains it with
:func:`torchlvm.training.fit`, as ``torchlvm train`` does; the trained ``nn.Module`` is
``model_``, in float64 so that every method gives the same value for a row whatever other rows
come with it. ``score_samples`` importance-samples log p(x) (Burda et al. 2016, eq. 8's
estimator with the encoder as proposal; for a row with missing cells, the defensive mixture of
:func:`~torchlvm.inference.miwae.defensive_proposal`) with ``k`` draws; the noise behind the draws
is one seeded set shared by every row (common random numbers), so a row's estimate does not
depend on the batch either. The price: the rows' Monte Carlo errors are correlated, so the
error of ``score`` (their mean) does not shrink with more rows, only with ``k``. Measured on
6-D linear-Gaussian data (1,000 test rows, a VAE with K = 2), the standard deviation of ``score``
over 8 ``random_state`` values was 0.12, 0.053, 0.021 and 0.0045 nats at k = 1, 10, 100, 1000,
about the Monte Carlo error of one row; comparing models (``GridSearchCV``) under the same
``random_state`` shares that noise.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils.validation import check_is_fitted
from torch import Tensor

from torchlvm._checks import check_choice, check_non_negative, check_positive_int
from torchlvm._device import ACCELERATORS, accelerator_name
from torchlvm._kept_state import seeded
from torchlvm._sklearn import check_observed, check_X, check_Z, random_seed
from torchlvm._threads import TABLE_THREADS, on_threads
from torchlvm.errors import ConfigError, DataError, NotFittedError
from torchlvm.estimators._training import ArrayDataModule
from torchlvm.estimators.scale import sigma_for, warn_scale
from torchlvm.inference.miwae import defensive_proposal, encode_observed, log_marginal_observed
from torchlvm.models.registry import model_class, recipe_for
from torchlvm.training import TrainConfig

_ELEMENTS = 1 << 22  # k × rows × D held at once by score_samples
# scikit-learn checks (1.9) that fit real-valued data, outside a Bernoulli likelihood's support.
_REAL_VALUED_CHECKS = (
    "check_fit_score_takes_y",
    "check_estimators_overwrite_params",
    "check_dont_overwrite_parameters",
    "check_estimators_fit_returns_self",
    "check_readonly_memmap_input",
    "check_n_features_in_after_fitting",
    "check_estimators_dtypes",
    "check_dtype_object",
    "check_pipeline_consistency",
    "check_estimators_nan_inf",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_transformer_data_not_an_array",
    "check_transformer_general",
    "check_transformer_preserve_dtypes",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_fit2d_1feature",
    "check_dict_unchanged",
    "check_fit_idempotent",
    "check_fit_check_is_fitted",
    "check_n_features_in",
    "check_fit2d_predict1d",
)


def _numpy(t: Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


@dataclass(eq=False, repr=False, kw_only=True)
class LVMEstimator(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Parameters and methods common to :class:`VAEEstimator` and :class:`CVAEEstimator`.

    The parameters are dataclass fields, declared once here and extended by a subclass (its
    own fields, or a narrower type for one of these). The generated ``__init__`` has the
    explicit keyword-only signature that scikit-learn's ``get_params`` reads and only stores
    each argument, unchecked: ``fit`` checks them (scikit-learn's estimator contract). A
    subclass defines ``fit`` and the public methods, which call the helpers here, and names its
    model type and the parameters that are fields of that model's config.
    """

    latent_dim: int = 2  # K, the size of z
    hidden: tuple[int, ...] = (64,)  # encoder hidden widths; the decoder uses them reversed
    activation: str = "relu"  # nonlinearity between layers
    likelihood: Literal["gaussian", "bernoulli"] = "gaussian"  # p(x | z)
    variance: Literal["fixed", "scalar", "diagonal"] = "scalar"  # Gaussian only: σ's kind
    scale: float | Literal["auto"] = "auto"  # Gaussian only: σ when fixed, else its start;
    # "auto": X's own scale (estimators/scale.py data_scale)
    objective: Literal["elbo", "iwae"] = "elbo"  # the training bound
    train_k: int = 1  # importance samples per row in training ("iwae")
    beta: float = 1.0  # KL weight ("elbo")
    epochs: int = 20  # Adam training settings: epochs, batch size, learning rate
    batch_size: int = 64
    lr: float = 1e-3
    k: int = 100  # importance samples per row for score_samples / score
    random_state: Any = None  # int, RandomState or None
    accelerator: str = "cpu"  # Lightning's accelerator for training ("cuda" reads as "gpu")
    threads: int | None = TABLE_THREADS  # torch's intra-op threads in fit and every method;
    # None: the count the caller set (torch.set_num_threads). torchlvm/_threads.py says why one

    _model_type: ClassVar[str]
    """The registered model type the estimator trains (its recipe builds the config)."""
    _model_fields: ClassVar[tuple[str, ...]] = (
        "latent_dim",
        "hidden",
        "activation",
        "likelihood",
        "variance",
        "scale",
    )
    """The parameters that are fields, of the same name, of the model's config."""

    # ------------------------------------------------------------------ fitting

    def _build(self, datamodule: ArrayDataModule) -> torch.nn.Module:
        """The untrained model for ``datamodule``'s data: this estimator's model fields and
        what the data decide, through the model type's recipe (as ``torchlvm train`` builds
        it), checked by the config."""
        cls = model_class(self._model_type)
        fields = {name: self._param(name) for name in self._model_fields}
        fields["scale"] = self._sigma  # (a number: "auto" read from X at fit)
        config = recipe_for(self._model_type).config_from_fields(cls, fields, datamodule.facts())
        return cls.from_config(config)

    def _accelerator(self) -> str:
        """``accelerator`` as ``--accelerator`` reads it, checked: ``"cuda"`` (torch's name) as
        ``"gpu"``, in any case (:func:`~torchlvm._device.accelerator_name`)."""
        given = self.accelerator
        name = accelerator_name(given) if isinstance(given, str) else given
        if name not in ACCELERATORS:
            check_choice("accelerator", given, ACCELERATORS)  # raises, naming what was given
        return name

    def _train_settings(self) -> tuple[TrainConfig, str]:
        """The training config and the accelerator, checked before any data is read."""
        accelerator = self._accelerator()
        # named here as the estimator spells them (TrainConfig's are max_epochs and k, and k is
        # also this estimator's samples for score_samples)
        epochs = check_positive_int("epochs", self.epochs)
        train_k = check_positive_int("train_k", self.train_k)
        check_positive_int("latent_dim", self._param("latent_dim"))  # (not after X's warnings)
        if self.objective == "iwae" and train_k == 1:
            raise ConfigError("objective='iwae' needs train_k > 1 importance samples, got 1")
        beta = self._param("beta")
        _check_objective_uses(self._model_type, self.objective, train_k, beta)
        config = TrainConfig(
            objective=self.objective,
            k=train_k,
            beta=beta,
            lr=self._param("lr"),
            batch_size=self._param("batch_size"),
            max_epochs=epochs,
            seed=self._seed(),
        )
        return config, accelerator

    def _param(self, name: str) -> Any:
        """Parameter ``name`` as a Python value: a NumPy scalar (``GridSearchCV`` over
        ``np.arange(...)`` gives ``np.int64``) becomes the int or float it holds."""
        value = getattr(self, name)
        return value.item() if isinstance(value, np.generic) else value

    def _seed(self) -> int:
        """``random_state`` as TrainConfig's seed: an int as given, else one drawn from it
        (:func:`~torchlvm._sklearn.random_seed`).

        Raises:
            ConfigError: for anything but None, a ``RandomState`` or an int NumPy can seed.
        """
        return random_seed(self.random_state)

    def _noise_seed(self) -> int:
        """The seed of ``score_samples``' shared noise: ``random_state``'s where it is an int
        (``set_params`` may change it after fit), else one drawn at fit, so that a fitted
        estimator with ``random_state=None`` scores a row the same on every call, and its
        pickled copy too (it drew new noise on each call: ``score`` moved by ~0.02 nats
        between two calls on the same rows, and GridSearchCV's folds each drew their own)."""
        state = self.random_state
        if isinstance(state, numbers.Integral) and not isinstance(state, bool):
            return self._seed()
        drawn = getattr(self, "_score_seed", None)  # (None: fitted before it was kept)
        return self._seed() if drawn is None else drawn

    def _missing_ok(self) -> bool:
        """Whether NaN cells are missing data (the model trains and scores around them)."""
        return False

    _nan_fix = "fill them first (e.g. PPCA(method='em').impute)"

    def _refuse_nan(self, X: Tensor) -> None:
        if torch.isnan(X).any():
            raise DataError(
                f"X contains NaN, and {type(self).__name__} takes complete rows with these "
                f"settings; {self._nan_fix}"
            )

    def _check_fit_data(self, X: Any) -> Tensor:
        check_positive_int("k", self.k)
        X = check_X(self, X, reset=True, allow_nan=True, dtype=torch.float32, min_samples=2)
        check_observed(X, getattr(self, "feature_names_in_", None), type(self).__name__)
        if not self._missing_ok():  # (after: an empty column's fill would be refused next)
            self._refuse_nan(X)
        self._check_support(X, self.likelihood)
        self._check_scale(X)
        self._sigma = sigma_for(self.scale, X, self.likelihood)
        warn_scale(self, X, self._sigma)
        return X

    def _check_scale(self, X: Tensor) -> None:
        """Refuse X whose rows' sums of squares overflow float32, in which the model trains: the
        first step's loss would be inf (a Gaussian log-density sums squares), before any update."""
        if bool(torch.isfinite(torch.nansum(X.square(), dim=1)).all()):
            return
        largest = float(torch.nan_to_num(X, nan=0.0).abs().max())
        raise DataError(
            f"X holds values up to {largest:.3g} in magnitude, too large to train on in float32 "
            "(the sum of a row's squares overflows); standardize X first, e.g. with "
            "sklearn.preprocessing.StandardScaler in a Pipeline"
        )

    def _check_support(self, X: Tensor, likelihood: str) -> None:
        """Refuse X outside the support of p(x | z) (``likelihood``: the parameter in ``fit``,
        the fitted model's after): a Bernoulli's is {0, 1} (the opening words are
        scikit-learn's for data that its ``positive_only`` tag refuses)."""
        if likelihood != "bernoulli" or bool(((X == 0) | (X == 1) | torch.isnan(X)).all()):
            return
        found = "Negative values" if bool((X < 0).any()) else "Values other than 0 and 1"
        raise DataError(
            f"{found} in data passed to {type(self).__name__}: likelihood='bernoulli' needs X "
            "of 0s and 1s; binarize X (e.g. X > 0.5) or use likelihood='gaussian'"
        )

    def _finish(self, model: torch.nn.Module, epochs: int) -> None:
        """Keep the trained model. The methods read its settings (K, p(x | z)) from it and
        ``_n_features_out``, not from the parameters, which ``set_params`` may have changed
        for the next ``fit``."""
        self.model_ = model.double().eval()
        self.n_iter_ = epochs
        self._n_features_out = model.config.latent_dim
        self._score_seed = self._seed()  # (random_state None: drawn once, for every score)

    # ------------------------------------------------------------------ reading the model

    def _check_fitted(self) -> None:
        try:
            check_is_fitted(self, "model_")
        except SklearnNotFittedError:
            raise NotFittedError(
                f"{type(self).__name__} is not fitted yet; call fit(X) first"
            ) from None

    def _data(self, X: Any) -> Tensor:
        self._check_fitted()
        X = check_X(self, X, reset=False, allow_nan=True, dtype=torch.float64)
        if not self._missing_ok():
            self._refuse_nan(X)
        self._check_support(X, self.model_.config.likelihood)
        return X

    @on_threads
    @torch.no_grad()
    def _posterior_mean(self, x: Tensor, c: Tensor | None) -> Tensor:
        return encode_observed(self.model_, x, c).mean  # (N, K)

    @on_threads
    @torch.no_grad()
    def _decoder_mean(self, z: Tensor, c: Tensor | None) -> Tensor:
        return self.model_.decode(z, c).mean  # (N, D)

    @on_threads
    @torch.no_grad()
    def _log_px(self, x: Tensor, c: Tensor | None) -> Tensor:
        """Importance-sampled log p(x [| c]) (N,), k draws per row from
        :func:`~torchlvm.inference.miwae.defensive_proposal` with shared noise (for a Gaussian
        q; a flow q draws its own)."""
        k = check_positive_int("k", self.k)  # set_params may change it after fit
        gen = torch.Generator().manual_seed(self._noise_seed())
        eps = torch.randn(k, 1, self._n_features_out, generator=gen, dtype=torch.float64)
        noise = eps, torch.rand(k, 1, generator=gen, dtype=torch.float64)  # (S, 1, K), (S, 1)
        rows = max(1, _ELEMENTS // (k * x.shape[1]))
        out = []
        for start in range(0, len(x), rows):
            xb = x[start : start + rows]
            cb = None if c is None else c[start : start + rows]
            proposal = defensive_proposal(self.model_, xb, cb, noise=noise)
            estimate = log_marginal_observed(
                self.model_, xb, cb, num_samples=k, chunk=k, proposal=proposal
            )
            out.append(estimate.mean)
        # a row with no observed cell: log p(x_o) of no cells is log 1 = 0 exactly, where the
        # k draws' estimate of it is 0 only in expectation
        return torch.cat(out).masked_fill(torch.isnan(x).all(-1), 0.0)

    def _sample_seed(self, random_state: Any) -> int:
        """The seed of ``sample``'s draws: its ``random_state``, or for None the estimator's,
        as ``GaussianMixture.sample`` reads (:func:`~torchlvm._sklearn.random_seed`)."""
        if random_state is None:
            return self._seed()
        return random_seed(random_state)

    @on_threads
    def _prior_draws(self, n: int, c: Tensor | None, seed: int) -> np.ndarray:
        """x ~ p(x | z [, c]), z ~ p(z [| c]) for ``n`` rows, drawn under ``seed``."""
        with seeded(seed), torch.no_grad():
            z = self.model_.prior(c, batch_shape=(n,)).sample()  # (n, K)
            return _numpy(self.model_.decode(z, c).sample())

    def _latents(self, Z: Any) -> Tensor:
        self._check_fitted()
        return check_Z(Z, self._n_features_out, dtype=torch.float64, device="cpu")

    def _expected_failed_checks(self) -> dict[str, str]:
        """scikit-learn checks that cannot apply to these settings, each with the reason."""
        if self.likelihood != "bernoulli":
            return {}
        reason = (
            "the check fits real-valued data, and likelihood='bernoulli' takes X of 0s and 1s "
            "only; it passes with likelihood='gaussian'"
        )
        return dict.fromkeys(_REAL_VALUED_CHECKS, reason)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = self._missing_ok()
        tags.input_tags.positive_only = self.likelihood == "bernoulli"
        return tags


def _check_objective_uses(model_type: str, objective: Any, train_k: int, beta: Any) -> None:
    """Refuse an objective the estimator's model does not train, and ``train_k`` > 1 or
    ``beta`` != 1 for one that does not use them, in the estimator's words: TrainConfig's
    refusals named ``k`` (the estimator's samples of score_samples, not train_k), warmup_epochs
    and free_bits, which it has not, and objectives its model does not train (userL #17).

    Raises:
        ConfigError: naming the setting, the objective and what to do.
    """
    from torchlvm.training.objectives import OBJECTIVES

    def named(**uses: bool) -> str:
        trains = [n for n, o in sorted(OBJECTIVES.items()) if model_type in o.models]
        return " or ".join(repr(n) for n in trains if all(getattr(OBJECTIVES[n], k) for k in uses))

    check_choice(
        "objective", objective, [n for n, o in OBJECTIVES.items() if model_type in o.models]
    )
    if train_k > 1 and not OBJECTIVES[objective].importance_samples:
        raise ConfigError(
            f"train_k={train_k} importance samples apply to objective "
            f"{named(importance_samples=True)}; leave train_k=1 for objective {objective!r}"
        )
    check_non_negative("beta", beta)
    if not OBJECTIVES[objective].kl_term and beta != 1:
        raise ConfigError(
            f"beta weights the KL term of the ELBO, and objective {objective!r} has none; leave "
            f"beta=1.0 or use objective {named(kl_term=True)}"
        )
