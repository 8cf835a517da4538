"""A ``fit`` that raises leaves its estimator as it was: :func:`unchanged_if_fit_fails`.

scikit-learn's ``validate_data(reset=True)`` writes ``n_features_in_`` and ``feature_names_in_``
of the new X before the fit can fail, and an estimator that was fitted before still holds the
earlier fit's model, which then answers under the new X's facts: a PPCA whose refit was refused
(a NaN in a frame with its columns reordered) transformed the reordered columns with the old W
without a word, and a VAEEstimator whose refit was interrupted refused both X's, each with a
message that contradicted the other (userT #2). Here the whole fitted state, attributes and an
``nn.Module``'s buffers, parameters and submodules, is put back when ``fit`` raises anything
(KeyboardInterrupt too), so the earlier fit keeps working, or an unfitted estimator stays
unfitted.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

Fit = TypeVar("Fit", bound=Callable[..., Any])

_MODULE_DICTS = ("_parameters", "_buffers", "_modules")  # an nn.Module's registered members


def unchanged_if_fit_fails(fit: Fit) -> Fit:
    """Decorate a ``fit(self, ...)``: if it raises, ``self`` is restored to its state before
    the call (its ``__dict__``, and for an ``nn.Module`` the dicts of its registered members,
    each copied one level deep: the objects they hold are the ones a failed fit did not change),
    and the exception propagates."""

    @functools.wraps(fit)
    def fit_or_nothing(self: Any, *args: Any, **kwargs: Any) -> Any:
        state = dict(vars(self))
        members = {name: dict(state[name]) for name in _MODULE_DICTS if name in state}
        try:
            return fit(self, *args, **kwargs)
        except BaseException:
            vars(self).clear()
            vars(self).update(state)
            for name, saved in members.items():
                state[name].clear()
                state[name].update(saved)
            raise

    return fit_or_nothing  # type: ignore[return-value]
