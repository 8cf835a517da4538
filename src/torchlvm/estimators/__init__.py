"""scikit-learn faces of torchlvm's models.

:class:`~torchlvm.PPCA` is itself a scikit-learn estimator. :func:`expected_failed_checks` names
the scikit-learn checks that cannot apply to an estimator's settings, with the reason.
"""

from torchlvm.estimators.checks import expected_failed_checks

__all__ = ["expected_failed_checks"]
