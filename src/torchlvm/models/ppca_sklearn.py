"""PPCA's scikit-learn face over its fitted parameters: arrays or tensors in, NumPy out
(``transform``, ``inverse_transform``, ``score_samples``, ``score``, ``sample``, ``impute``,
``get_covariance``, ``get_precision``), each computed by the distributions face of
:class:`~torchlvm.models.ppca.PPCA` (its exact posterior, marginal, prior and decoder).

:class:`PPCAEstimatorFace` is a mixin of that one class, not a model of its own: it reads the
buffers ``W``, ``mu``, ``sigma2`` and the methods ``_posterior``, ``_log_density``,
``marginal``, ``prior`` and ``decode`` that :class:`~torchlvm.models.ppca.PPCA` defines.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from sklearn.base import TransformerMixin
from torch import Tensor

from torchlvm import _device
from torchlvm._checks import check_non_negative_int, check_positive_int
from torchlvm._kept_state import seeded
from torchlvm._sklearn import check_X, check_Z, random_seed, sample_arguments
from torchlvm._threads import on_threads
from torchlvm.models.file_units import warn_if_in_file_units
from torchlvm.models.output_container import as_configured

NO_NAMES = "X does not have valid feature names"
"""scikit-learn's warning of X without the column names a model was fitted with: a tensor
given to a PPCA fitted on a DataFrame (loaded with its names) has none, and the command line's
``impute`` of a file whose header names them rightly warned it (readH H5)."""


class PPCAEstimatorFace(TransformerMixin):
    """The scikit-learn methods of :class:`~torchlvm.models.ppca.PPCA` (see the module
    docstring); NaN entries are missing data throughout, conditioned on or marginalized out
    exactly. A ``TransformerMixin`` itself: scikit-learn wraps ``transform`` for
    ``set_output`` only in the class that defines it."""

    W: Tensor
    mu: Tensor
    sigma2: Tensor
    threads: int | None  # torch's intra-op threads in each method here (:func:`on_threads`)

    def _get_fitted_attr_html(self, doc_link: str = "") -> Any:
        """scikit-learn's table of fitted attributes in a notebook's repr, read from the
        attributes ``fit`` set (the instance's own, named with a trailing "_"). scikit-learn reads
        every public member so named: the methods of ``nn.Module`` (``requires_grad_``) were
        listed as fitted attributes (userT #4), and reading every property ran ``config``'s
        checks, so a PPCA given a bad parameter by ``set_params`` after ``fit`` could not be
        displayed (ConfigError; userT #12): parameters are checked by ``fit``."""
        from sklearn.utils._repr_html.fitted_attributes import AttrsDict

        fitted = {}
        for name, value in sorted(vars(self).items()):
            if name.startswith("_") or not name.endswith("_") or callable(value):
                continue
            fitted[name] = {"type_name": type(value).__name__, "value": value}
            if hasattr(value, "shape") and hasattr(value, "dtype"):
                fitted[name].update(shape=value.shape, dtype=value.dtype)
        return AttrsDict(fitted_attrs=fitted, estimator_class=type(self), doc_link=doc_link)

    def _check_X(self, X: Any) -> Tensor:
        """``X`` after fitting, for the scikit-learn face: NaN passes, inf does not; rows in a
        table file's units given to a model of a standardized table run are warned of
        (:mod:`torchlvm.models.file_units`); an array given to one is read by place, as it
        was fitted, without scikit-learn's warning that it has no column names."""
        self._check_fitted()
        with warnings.catch_warnings():
            if self.__dict__.get("_names_of_table"):  # (models.base._table_columns)
                warnings.filterwarnings("ignore", NO_NAMES, UserWarning)
            x = check_X(
                self, X, reset=False, allow_nan=True, dtype=self.torch_dtype, device=self.W.device
            )
        units = self.__dict__.get("_file_units")  # (a model loaded from a table run: file_units)
        if units is not None:
            warn_if_in_file_units(x, *units)
        return x

    @on_threads
    def transform(self, X: Any) -> np.ndarray:
        """Posterior means E[z | x] (N, K); rows with NaN use their observed entries."""
        return _numpy(self._posterior(self._check_X(X))[0])

    @on_threads
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

    @on_threads
    def get_covariance(self) -> np.ndarray:
        """The model's covariance of x, C = W Wᵀ + σ² I (D, D), as scikit-learn's
        ``PCA.get_covariance``, whose W and σ² divide by N − 1 where these divide by N. With
        N <= D its σ² also averages only min(N, D) − K eigenvalues where the ML σ² (Tipping &
        Bishop 1999, eq. 8) averages D − K, so its ``score`` is not the PPCA maximum there."""
        return _numpy(self.marginal().covariance_matrix)

    @on_threads
    def get_precision(self) -> np.ndarray:
        """C⁻¹ (D, D), by the Woodbury identity through the K × K capacitance (torch's
        ``LowRankMultivariateNormal.precision_matrix``), as ``PCA.get_precision``."""
        return _numpy(self.marginal().precision_matrix)

    @on_threads
    def score_samples(self, X: Any) -> np.ndarray:
        """Exact log p(x) per sample (N,), in nats; NaN entries are marginalized out."""
        return _numpy(self._log_density(self._check_X(X)))

    def score(self, X: Any, y: Any = None) -> float:
        """Mean of :meth:`score_samples`: the average log-likelihood per sample, in nats."""
        return float(self.score_samples(X).mean())

    @on_threads
    def sample(self, n_samples: int = 1, *, random_state: Any = None, **renamed: Any) -> np.ndarray:
        """``n_samples`` draws x ~ p(x), shape (n_samples, D), as scikit-learn's
        ``KernelDensity.sample`` (and ``VAEEstimator.sample``) are called.

        ``random_state`` (int or ``RandomState``) makes them repeatable without touching the
        global RNG; None draws from torch's global one (new draws on each call), as
        ``KernelDensity.sample`` draws from NumPy's: PPCA's ``seed`` is EM's start, not this.
        The spellings before, ``sample(n, seed=s)``, are still taken (``n=`` and ``seed=`` with
        a FutureWarning).
        """
        n, state = sample_arguments(type(self).__name__, n_samples, random_state, renamed)
        check_positive_int("n_samples", n)
        self._check_fitted()
        with _seeded(None if state is None else random_seed(state)):
            z = self.prior(batch_shape=(n,)).sample()  # (n, K)
            return _numpy(self.decode(z).sample())

    @on_threads
    def impute(self, X: Any, *, draws: int = 0, random_state: Any = None, **renamed: Any) -> Any:
        """``X`` (N, D) with each NaN replaced by E[x_missing | x_observed], the exact
        conditional mean W_missing E[z | x_observed] + μ_missing: an array, or under
        ``set_output(transform="pandas")`` a DataFrame with X's columns and index.

        With ``draws`` = M ≥ 1, M multiple imputations ``(M, N, D)`` instead (an array), each
        drawn from the exact p(x_missing | x_observed), observed cells kept, as
        ``VAEEstimator.impute(X, draws=M)`` and the command line's ``impute --draws M`` give
        (userT #10: the estimator had no ``draws``); ``random_state`` (int or ``RandomState``)
        makes them repeatable without touching the global RNG, as :meth:`sample`'s; ``seed=``,
        its spelling before, is still taken, with a FutureWarning.

        Raises:
            ConfigError: for draws < 0.
        """
        _, state = sample_arguments(type(self).__name__, 1, random_state, renamed, "impute")
        x = self._check_X(X)
        if check_non_negative_int("draws", draws) == 0:
            return as_configured(self, _numpy(self._filled(x)), X)
        with _seeded(None if state is None else random_seed(state)):
            return _numpy(self._drawn(x, draws))

    def _drawn(self, X: Tensor, draws: int, generator: Any = None) -> Tensor:
        """``(draws, N, D)``: checked ``X`` with each NaN cell drawn from the exact
        p(x_m | x_o), with ``generator``: :meth:`impute`'s draws, and
        :func:`~torchlvm.inference.impute_rows`'s for a PPCA (the one rule): z from the exact
        posterior, then x | z with the noise σ²."""
        mean, cov = self._posterior(X.to(self.W.dtype))  # (N, K), (N, K, K) or (K, K)
        L = torch.linalg.cholesky(cov)
        eps = _device.randn((draws, *mean.shape, 1), generator=generator, like=mean)
        z = mean + (L @ eps)[..., 0]  # (S, N, K)
        noise = _device.randn((draws, *X.shape), generator=generator, like=mean)
        full = (z @ self.W.T + self.mu + self.sigma2.sqrt() * noise).to(X.dtype)
        return torch.where(torch.isnan(X), full, X)

    def _filled(self, X: Tensor) -> Tensor:
        """``X`` ``(N, D)``, checked (:meth:`_check_X`), with each NaN replaced by its exact
        conditional mean: :meth:`impute`'s tensor, whatever container ``set_output`` asks
        ``impute`` for, for :func:`~torchlvm.inference.impute_rows`."""
        mean, _ = self._posterior(X)
        return torch.where(torch.isnan(X), mean @ self.W.T + self.mu, X)


def _numpy(t: Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


@contextlib.contextmanager
def _seeded(seed: int | None) -> Iterator[None]:
    """Seed torch's global random state inside the block and restore it after (the CPU's and
    the CUDA devices': :func:`~torchlvm._kept_state.seeded`); ``None`` does nothing."""
    if seed is None:
        yield
        return
    with seeded(seed):
        yield
