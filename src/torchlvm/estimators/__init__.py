"""scikit-learn faces of torchlvm's models.

:class:`~torchlvm.PPCA` is itself a scikit-learn estimator. :class:`VAEEstimator` and
:class:`CVAEEstimator` are thin estimators over a :class:`~torchlvm.VAE` / :class:`~torchlvm.CVAE`
trained as ``torchlvm train`` trains them. :func:`expected_failed_checks` names the
scikit-learn checks that cannot apply to an estimator's settings, with the reason;
:class:`DataScaleWarning` says X is far from the unit scale a Gaussian VAE is made for;
:class:`InactiveLatentWarning` that a fitted VAE's posterior collapsed (no active latent unit).
"""

from torchlvm.estimators.checks import expected_failed_checks
from torchlvm.estimators.cvae import CVAEEstimator
from torchlvm.estimators.scale import DataScaleWarning, InactiveLatentWarning
from torchlvm.estimators.vae import VAEEstimator

__all__ = [
    "CVAEEstimator",
    "DataScaleWarning",
    "InactiveLatentWarning",
    "VAEEstimator",
    "expected_failed_checks",
]
