"""Which of scikit-learn's estimator checks cannot apply to a torchlvm estimator, and why.

scikit-learn 1.6 moved this declaration out of the estimator's tags (the old ``_xfail_checks``)
into the ``expected_failed_checks`` argument of ``check_estimator`` and
``parametrize_with_checks``. Each torchlvm estimator still states its own exceptions, for its
current parameters, in a ``_expected_failed_checks()`` method; this function reads them::

    check_estimator(est, expected_failed_checks=expected_failed_checks(est))
    @parametrize_with_checks(estimators, expected_failed_checks=expected_failed_checks)
"""

from __future__ import annotations

from typing import Any


def expected_failed_checks(estimator: Any) -> dict[str, str]:
    """``{check name: reason}`` for the checks that cannot apply to ``estimator``'s settings;
    empty for an estimator that declares none."""
    declare = getattr(estimator, "_expected_failed_checks", None)
    return dict(declare()) if callable(declare) else {}
