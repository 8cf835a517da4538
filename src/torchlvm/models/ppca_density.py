"""PPCA's distributions face (PRML §12.2): tensors in, ``torch.distributions`` out — the prior
p(z) = N(0, I), the exact posterior p(z | x) (``encode``, PRML eqs. 12.41–12.42; a row with NaN
conditions on its observed entries), the decoder p(x | z) = N(W z + μ, σ² I), the marginal
p(x) = N(μ, W Wᵀ + σ² I) as a ``LowRankMultivariateNormal`` (Woodbury and the determinant
lemma: O(N·D·K), C⁻¹ never formed) and its exact log p(x), and E_q[log p(x | z)] in closed form
for the analytic ELBO.

:class:`PPCADensityFace` is a mixin of :class:`~torchlvm.models.ppca.PPCA`, not a model of its
own: it reads the buffers ``W``, ``mu``, ``sigma2`` and ``_k``, ``torch_dtype``,
``_check_fitted`` and ``n_features_in_`` that the class defines.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.distributions import (
    Distribution,
    Independent,
    LowRankMultivariateNormal,
    MultivariateNormal,
    Normal,
)

from torchlvm.errors import ConfigError, DataError
from torchlvm.models import ppca_em
from torchlvm.models.ppca_fit import has_nan


class PPCADensityFace:
    """The :class:`~torchlvm.protocol.LatentVariableModel` methods of
    :class:`~torchlvm.models.ppca.PPCA` (see the module docstring)."""

    W: Tensor
    mu: Tensor
    sigma2: Tensor

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
        if has_nan(x):
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
        if has_nan(x):
            return ppca_em.observed_posterior(x, self.W, self.mu, self.sigma2)
        L = torch.linalg.cholesky(self._M())
        mean = torch.cholesky_solve(((x - self.mu) @ self.W).T, L).T  # (B, K)
        return mean, self.sigma2 * torch.cholesky_inverse(L)


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
