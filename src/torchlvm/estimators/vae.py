"""``VAEEstimator``: a variational autoencoder (:class:`~torchlvm.VAE`) as a scikit-learn
transformer and density estimator. The design is in :mod:`torchlvm.estimators.base`."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor

from torchlvm._checks import check_non_negative_int, check_positive_int, trains
from torchlvm._sklearn import random_seed, sample_arguments
from torchlvm._threads import on_threads
from torchlvm.estimators._training import ArrayDataModule, train
from torchlvm.estimators.base import _ELEMENTS, LVMEstimator, _numpy
from torchlvm.estimators.scale import callers_level, warn_inactive
from torchlvm.models.fit_failure import unchanged_if_fit_fails
from torchlvm.models.output_container import as_configured


@dataclass(eq=False, repr=False, kw_only=True)
class VAEEstimator(LVMEstimator):
    """A VAE trained by the ELBO (or the IWAE bound) on X, with scikit-learn's interface.

    Args:
        latent_dim: K, the size of z.
        hidden: hidden widths of the encoder (the decoder uses them reversed).
        activation: ``"relu"``, ``"tanh"``, ... between layers.
        likelihood: p(x | z): ``"gaussian"`` (default, any real X) or ``"bernoulli"`` (X of 0/1).
        variance: Gaussian only: ``"fixed"`` σ = ``scale``, one learned ``"scalar"`` (default),
            or ``"diagonal"`` (one per feature). scale: σ when fixed, else its initial value;
            ``"auto"`` (default): X's own scale, the root mean square of its features'
            standard deviations.
        objective: ``"elbo"``, ``"iwae"`` (with ``train_k`` > 1 samples) or ``"miwae"``
            (Mattei & Frellsen 2019; ``train_k`` samples): NaN cells of X are then missing
            data in ``fit`` and every method, which read them as the MIWAE bound does (encoder
            input zero-filled, observed cells scored). beta: KL weight (``"elbo"``).
        epochs, batch_size, lr: Adam training settings.
        k: importance samples per row for ``score_samples`` / ``score`` and ``impute``.
        random_state: int, ``RandomState`` or None; seeds initialization, batches, the draws of
            ``score_samples`` and ``sample``.
        accelerator: Lightning's accelerator for training (``"cpu"``, ``"gpu"``, ``"auto"``;
            ``"cuda"``, torch's name, reads as ``"gpu"``).
        threads: torch intra-op threads on the CPU while ``fit`` and every method run, the
            caller's count put back after; default 1, the fastest for a table's small matrices
            (several times faster than two where other jobs share the cores:
            :mod:`torchlvm._threads`); None keeps the count the caller set with
            ``torch.set_num_threads``.

    Attributes:
        model_: the trained :class:`~torchlvm.VAE` (float64, eval mode); ``save_pretrained``
            exports it for ``torchlvm.load`` and the commands that read rows given with
            ``--data FILE`` (score, encode, reconstruct, impute); sample, evaluate and gaps
            need the training data named with the seed of its splits (and, for a Bernoulli
            likelihood, its binarization): ``save_pretrained(FOLDER, data={'name': 'digits',
            'seed': 0})`` for digits' train split of ``load_dataset("digits", "train")``.
            n_features_in_: D. n_iter_: epochs run.
    """

    objective: Literal["elbo", "iwae", "miwae"] = "elbo"

    _model_type = "vae"

    _nan_fix = (
        "pass objective='miwae', which trains and scores around missing cells (and its impute "
        "fills them), or fill them first (e.g. PPCA(method='em').impute)"
    )

    def _missing_ok(self) -> bool:
        return self.objective == "miwae"

    @unchanged_if_fit_fails
    @trains
    @on_threads
    def fit(self, X: Any, y: Any = None) -> VAEEstimator:
        """Train on X (N, D); ``y`` is ignored.

        Raises:
            ConfigError: for a parameter out of range. DataError: for data that is not 2-D
                numbers, holds inf (or NaN, but with ``objective="miwae"``), has one row, or
                is not 0/1 with ``"bernoulli"``.
        """
        config, accelerator = self._train_settings()
        x = self._check_fit_data(X)
        dm = ArrayDataModule(
            x, seed=config.seed, batch_size=config.batch_size, missing=self._missing_ok()
        )
        model, epochs = train(self._build, dm, config, accelerator=accelerator)
        self._finish(model, epochs)
        with torch.no_grad():
            warn_inactive(self, x)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Posterior means E_q[z | x] (N, K)."""
        return _numpy(self._posterior_mean(self._data(X), None))

    def inverse_transform(self, Z: Any) -> np.ndarray:
        """Decoder means E[x | z] (N, D) (for ``"bernoulli"``, the probabilities)."""
        return _numpy(self._decoder_mean(self._latents(Z), None))

    def score_samples(self, X: Any) -> np.ndarray:
        """Importance-sampled log p(x) per row (N,), nats, with ``k`` draws from q(z | x) (for a
        row with missing cells, log p(x_o) from the defensive mixture built on q(z | x̃),
        :func:`~torchlvm.inference.miwae.defensive_proposal`)."""
        return _numpy(self._log_px(self._data(X), None))

    def score(self, X: Any, y: Any = None) -> float:
        """Mean of :meth:`score_samples`, nats per row. Its Monte Carlo error is about one
        row's, whatever the number of rows (the draws are shared, see
        :mod:`torchlvm.estimators.base`): raise ``k`` to shrink it."""
        return float(self.score_samples(X).mean())

    @on_threads
    def impute(self, X: Any, *, draws: int = 0, random_state: Any = None) -> Any:
        """``X`` (N, D) with each NaN cell replaced by its importance-weighted conditional mean
        E[x_m | x_o] ≈ Σ_i w̄_i E[x_m | z_i], z_i drawn from the defensive mixture built on
        q(z | x̃), x̃ with its missing cells set to 0 (Mattei & Frellsen 2019, eq. 11; ``k``
        draws per row, seeded as ``score_samples``); observed cells kept, as ``PPCA.impute``
        does. With ``draws`` = M ≥ 1, M multiple
        imputations ``(M, N, D)`` instead, drawn from p(x_m | x_o) by sampling-importance-
        resampling (their section 3.3), as the command line's ``impute --draws M``. Any fitted
        VAEEstimator imputes; one fitted with ``objective="miwae"`` has learned from rows with
        such holes. A row with every cell missing gets p(x)'s mean (or draws). Under
        ``set_output(transform="pandas")`` the means come as a DataFrame with X's columns and
        index (draws stay an array). ``random_state`` (int or ``RandomState``) seeds these draws
        alone, as ``PPCA.impute``'s and :meth:`sample`'s; None: as ``score_samples``.

        Raises:
            DataError: for X of other columns than fit's, or inf. ConfigError: for draws < 0.
        """
        from torchlvm._sklearn import check_X
        from torchlvm.inference.imputation import ImputationWarning, few_draws, impute_rows

        draws = check_non_negative_int("draws", draws)
        self._check_fitted()
        x = check_X(self, X, reset=False, allow_nan=True, dtype=torch.float64)
        self._check_support(x, self.model_.config.likelihood)
        k = check_positive_int("k", self.k)  # set_params may change it after fit
        seed = self._noise_seed() if random_state is None else random_seed(random_state)
        gen = torch.Generator().manual_seed(seed)
        holes = torch.isnan(x).any(1).nonzero()[:, 0]  # rows with a missing cell
        rows = max(1, _ELEMENTS // (k * x.shape[1]))  # (k, rows, D) decoded at once
        out = x.expand(draws, *x.shape).clone() if draws else x.clone()  # (M, N, D) or (N, D)
        ess: list[Tensor] = []
        for start in range(0, len(holes), rows):
            at = holes[start : start + rows]
            out[..., at, :] = impute_rows(
                self.model_, x[at], draws=draws, num_samples=k, generator=gen, on_ess=ess.append
            )
        if ess and (few := few_draws(torch.cat(ess), k)) is not None:  # (userL #5)
            miwae = ", or train with objective='miwae', which learns from rows with such holes"
            fix = f"; raise k{'' if self.objective == 'miwae' else miwae}"
            warnings.warn(few + fix, ImputationWarning, stacklevel=callers_level())
        return as_configured(self, _numpy(out), X)

    def sample(self, n_samples: int = 1, *, random_state: Any = None, **renamed: Any) -> np.ndarray:
        """``n_samples`` draws x ~ p(x | z), z ~ p(z), shape (n_samples, D), as scikit-learn's
        ``GaussianMixture.sample`` and ``KernelDensity.sample`` (and :meth:`PPCA.sample
        <torchlvm.PPCA.sample>`) are called.

        ``random_state`` (int, ``RandomState`` or None) seeds these draws alone; None reads the
        estimator's ``random_state``, as ``GaussianMixture.sample`` does, so with an int there
        every call gives the same draws, and ``sample(n, random_state=s)`` another set. The
        spellings before, ``n=`` and ``seed=``, are still taken, with a FutureWarning.
        """
        n, state = sample_arguments(type(self).__name__, n_samples, random_state, renamed)
        check_positive_int("n_samples", n)
        self._check_fitted()
        return self._prior_draws(n, None, self._sample_seed(state))
