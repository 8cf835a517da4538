"""``CVAEEstimator``: a conditional VAE (:class:`~torchlvm.CVAE`) with ``y``, the class label,
as its condition c (one-hot). The design is in :mod:`torchlvm.estimators.base`.

Every method takes ``y``. Without it (a ``Pipeline`` calls ``transform(X)`` alone) the answer
is the model's own, averaged over the class mixture p(x) = Σ_c π_c p(x | c) with π the class
frequencies of the training labels: ``score_samples`` gives log p(x), ``transform`` the
posterior-weighted mean Σ_c p(c | x) E_q[z | x, c], ``inverse_transform`` Σ_c p(c | z) E[x | z, c]
with p(c | z) ∝ π_c p(z | c), and ``sample`` draws c ~ π first and returns (X, y), as
``GaussianMixture.sample`` does. ``fit_transform(X, y)`` is scikit-learn's ``fit(X, y)``
then ``transform(X)``: the mixture's codes, not ``transform(X, y)``'s codes under each row's own
class, so that a ``Pipeline`` gives its next step at fit the codes it gives at predict, where
no y is passed (userL #13).

It is also a generative classifier, as ``LinearDiscriminantAnalysis`` and ``GaussianNB`` are:
``predict_proba`` gives p(c | x) ∝ π_c p(x | c) by Bayes' rule, ``predict`` its most probable
class. So scikit-learn treats it as a classifier (``is_classifier``): ``cross_val_score`` and
``GridSearchCV`` split it with ``StratifiedKFold``, so every training fold holds every class, as
for any classifier. ``score`` stays the log-likelihood (pass ``scoring="accuracy"`` to score the
classification); a held-out row whose class is too rare to reach its training fold is scored as a
row without y (:meth:`CVAEEstimator.score_samples`).
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils import ClassifierTags
from sklearn.utils.validation import check_consistent_length, column_or_1d
from torch import Tensor

from torchlvm._checks import check_positive_int, trains
from torchlvm._sklearn import sample_arguments, without_period
from torchlvm._threads import on_threads
from torchlvm.errors import DataError
from torchlvm.estimators._training import ArrayDataModule, train
from torchlvm.estimators.base import LVMEstimator, _numpy
from torchlvm.estimators.scale import callers_level, warn_inactive
from torchlvm.inference.class_mixture import class_log_joint, class_log_prior, log_mixture
from torchlvm.models.conditions import plain_label
from torchlvm.models.fit_failure import unchanged_if_fit_fails
from torchlvm.training.collapse import ROWS

# scikit-learn's classifier checks (1.9) that fit real-valued X, as base._REAL_VALUED_CHECKS
_REAL_VALUED_CLASSIFIER_CHECKS = (
    "check_classifier_data_not_an_array",
    "check_classifiers_one_label",
    "check_classifiers_classes",
    "check_classifiers_train",
    "check_classifiers_regression_target",
    "check_supervised_y_2d",
)


@dataclass(eq=False, repr=False, kw_only=True)
class CVAEEstimator(LVMEstimator):
    """A CVAE on X conditioned on class labels y, with scikit-learn's interface.

    Args:
        prior: p(z | c): ``"learned"`` (an MLP of c), ``"standard"`` N(0, I), ``"vamp"`` (the
            conditional VampPrior) or ``"mog"`` (a learned mixture shared by every c); see
            :class:`~torchlvm.CVAE`.
        The other parameters are :class:`~torchlvm.estimators.VAEEstimator`'s.

    Attributes:
        model_: the trained :class:`~torchlvm.CVAE` (float64, eval mode).
        classes_: the labels of y, in the order of c's one-hot columns.
        class_prior_: π, the training frequency of each class. n_features_in_, n_iter_.
    """

    prior: Literal["learned", "standard", "vamp", "mog"] = "learned"

    _model_type = "cvae"
    _model_fields = (*LVMEstimator._model_fields, "prior")

    @unchanged_if_fit_fails
    @trains
    @on_threads
    def fit(self, X: Any, y: Any = None) -> CVAEEstimator:
        """Train on X (N, D) with class labels y (N,).

        Raises:
            ConfigError: for a parameter out of range. DataError: as
                :meth:`VAEEstimator.fit`, and for a missing y or one of another length.
        """
        config, accelerator = self._train_settings()
        if y is None:
            raise DataError(
                "CVAEEstimator requires y to be passed, but the target y is None; pass the "
                "class label of each row"
            )
        x = self._check_fit_data(X)
        labels = _labels(y, len(x), warn=True)
        _refuse_continuous(labels)
        try:
            self.classes_, index, counts = np.unique(
                labels, return_inverse=True, return_counts=True
            )
        except TypeError:  # labels of types that do not compare, such as 1 and "a"
            kinds = sorted({type(label).__name__ for label in labels})
            raise DataError(
                f"y mixes labels of types {', '.join(kinds)}, which cannot be sorted into "
                "classes; pass labels of one type (e.g. y.astype(str))"
            ) from None
        if len(self.classes_) == 1:  # scikit-learn's classifiers refuse one class too
            raise DataError(
                f"y holds only one class ({plain_label(self.classes_[0])!r}), and CVAEEstimator "
                "conditions on which class a row is; pass rows of at least 2 classes, or fit "
                "VAEEstimator, which takes no y"
            )
        self.class_prior_ = class_log_prior(counts.tolist(), len(counts)).exp().numpy()
        dm = ArrayDataModule(
            x,
            torch.from_numpy(index.astype(np.int64)),
            class_names=tuple(map(str, self.classes_)),
            seed=config.seed,
            batch_size=config.batch_size,
            condition="label",
        )
        model, epochs = train(self._build, dm, config, accelerator=accelerator)
        self._finish(model, epochs)
        with torch.no_grad():
            c = F.one_hot(torch.from_numpy(index[:ROWS]), len(self.classes_)).double()
            warn_inactive(self, x, c)
        return self

    # ------------------------------------------------------------------ conditions

    def _index(self, y: Any, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``n`` labels (one label is repeated n times), each one's column in ``classes_``, and
        which of them fit did not see (their column is meaningless), all (n,)."""
        labels = _labels([y] * n if np.ndim(y) == 0 else y, n)
        try:
            index = np.searchsorted(self.classes_, labels).clip(0, len(self.classes_) - 1)
            unseen = self.classes_[index] != labels
        except TypeError:  # labels that do not compare with the classes at all
            index, unseen = np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool)
        return labels, index, np.asarray(unseen, dtype=bool)

    def _one_hot(self, y: Any, n: int, *, drawing: bool = False) -> Tensor:
        """c (n, C) for labels ``y``, refusing a label fit did not see (the model has no
        p(z | c) for it); ``drawing``: for :meth:`sample`, whose fix is another label."""
        labels, index, unseen = self._index(y, n)
        if unseen.any():
            label = plain_label(labels[unseen][0])
            fix = (
                "sample draws the classes fit saw: pass one of them, or fit on rows of this "
                "class too"
                if drawing
                else "(to cross-validate, split so that every training fold holds every class, "
                "e.g. cv=StratifiedKFold(5))"
            )
            raise DataError(
                f"y holds the label {label!r}, which fit did not see; the labels are "
                f"{self.classes_.tolist()}{':' if drawing else ''} {fix}"
            )
        return self._columns(index)

    def _columns(self, index: np.ndarray) -> Tensor:
        """c (n, C), the one-hot rows of the class columns ``index`` (n,)."""
        return torch.eye(len(self.classes_), dtype=torch.float64)[torch.from_numpy(index)]

    def _each_class(self, n: int) -> list[Tensor]:
        eye = torch.eye(len(self.classes_), dtype=torch.float64)
        return [eye[i].expand(n, -1) for i in range(len(self.classes_))]

    def _log_prior(self) -> Tensor:
        """log π (C,), the log training frequency of each class."""
        return torch.from_numpy(np.log(self.class_prior_))

    def _log_px_each_class(self, x: Tensor) -> Tensor:
        """log p(x | c) for every class, (C, N)."""
        return torch.stack([self._log_px(x, c) for c in self._each_class(len(x))])

    def _class_log_joint(self, x: Tensor) -> Tensor:
        """log π_c + log p(x | c) for every class, (C, N)."""
        return class_log_joint(self._log_px_each_class(x), self._log_prior())

    # ------------------------------------------------------------------ methods

    def transform(self, X: Any, y: Any = None) -> np.ndarray:
        """Posterior means E_q[z | x, c] (N, K); without y, averaged with weights p(c | x)."""
        x = self._data(X)
        if y is not None:
            return _numpy(self._posterior_mean(x, self._one_hot(y, len(x))))
        weights = torch.softmax(self._class_log_joint(x), 0)  # (C, N)
        means = torch.stack([self._posterior_mean(x, c) for c in self._each_class(len(x))])
        return _numpy((weights[:, :, None] * means).sum(0))

    def inverse_transform(self, Z: Any, y: Any = None) -> np.ndarray:
        """Decoder means E[x | z, c] (N, D); without y, averaged with weights p(c | z)."""
        z = self._latents(Z)
        if y is not None:
            return _numpy(self._decoder_mean(z, self._one_hot(y, len(z))))
        classes = self._each_class(len(z))
        with torch.no_grad():
            log_pz_c = torch.stack([self.model_.prior(c).log_prob(z) for c in classes])
        weights = torch.softmax(class_log_joint(log_pz_c, self._log_prior()), 0)  # (C, N)
        means = torch.stack([self._decoder_mean(z, c) for c in classes])
        return _numpy((weights[:, :, None] * means).sum(0))

    def score_samples(self, X: Any, y: Any = None) -> np.ndarray:
        """Importance-sampled log p(x | c) (N,), nats; without y, log Σ_c π_c p(x | c).

        A row whose label fit did not see (a class too rare to reach every training fold of a
        cross-validation) is scored as a row without y, by log Σ_c π_c p(x | c) over the
        classes fit saw, with a warning: the model has no p(x | c) for that label, and its
        density of x is the mixture (as ``TargetEncoder`` encodes an unseen category by the
        overall mean), so every row of a held-out fold gets a finite score, as every row gets a
        prediction from ``LinearDiscriminantAnalysis``, and a grid search still compares its
        candidates on every fold.
        """
        x = self._data(X)
        if y is None:
            return _numpy(self._log_mixture(x))
        labels, index, unseen = self._index(y, len(x))
        scores = torch.zeros(len(x), dtype=torch.float64)
        seen = torch.from_numpy(~unseen)
        if seen.any():  # c of the seen rows only
            scores[seen] = self._log_px(x[seen], self._columns(index[~unseen]))
        if unseen.any():
            self._warn_unseen(labels[unseen], len(x))
            scores[~seen] = self._log_mixture(x[~seen])
        return _numpy(scores)

    def _log_mixture(self, x: Tensor) -> Tensor:
        """log p(x) = log Σ_c π_c p(x | c) over the classes fit saw, (N,)."""
        return log_mixture(self._log_px_each_class(x), self._log_prior())

    def _warn_unseen(self, unseen: np.ndarray, n: int) -> None:
        """Warn that the labels ``unseen`` (of ``n`` rows) are scored as rows without y."""
        names = sorted({plain_label(label) for label in unseen}, key=str)
        warnings.warn(
            f"y holds labels fit did not see ({', '.join(map(repr, names))}) in "
            f"{len(unseen)} of {n} rows; they are scored as rows without y, "
            f"by log p(x) over the classes fit saw ({self.classes_.tolist()}); to condition "
            "on every class, fit on rows of each",
            UserWarning,
            stacklevel=callers_level(),  # the caller of score_samples (or of score)
        )

    def predict_proba(self, X: Any) -> np.ndarray:
        """p(c | x) = π_c p(x | c) / Σ_c' π_c' p(x | c') (N, C), columns in ``classes_``'s
        order, from the importance-sampled log p(x | c) of :meth:`score_samples`."""
        return _numpy(torch.softmax(self._class_log_joint(self._data(X)), 0).T)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row, argmax_c p(c | x) (N,), of ``classes_``'s type."""
        proba = self.predict_proba(X)  # first: it refuses an unfitted estimator
        return self.classes_[proba.argmax(1)]

    def score(self, X: Any, y: Any = None) -> float:
        """Mean of :meth:`score_samples`, nats per row. Its Monte Carlo error is about one
        row's, whatever the number of rows (the draws are shared, see
        :mod:`torchlvm.estimators.base`): raise ``k`` to shrink it."""
        return float(self.score_samples(X, y).mean())

    def sample(
        self, n_samples: int = 1, y: Any = None, *, random_state: Any = None, **renamed: Any
    ) -> tuple[np.ndarray, np.ndarray]:
        """``n_samples`` draws x ~ p(x | z, c), z ~ p(z | c), and their labels, as
        scikit-learn's ``GaussianMixture.sample`` returns ``(X, y)``: X (n_samples, D) and y
        (n_samples,), of ``classes_``'s type. With ``y`` (one label, or n_samples of them) the
        draws are of those classes; without it, each row's class is drawn from π first.

        ``random_state`` (int, ``RandomState`` or None) seeds these draws alone; None reads the
        estimator's ``random_state``, as ``GaussianMixture.sample`` does. The spellings before,
        ``n=`` and ``seed=``, are still taken, with a FutureWarning.
        """
        n, state = sample_arguments(type(self).__name__, n_samples, random_state, renamed)
        check_positive_int("n_samples", n)
        self._check_fitted()
        seed = self._sample_seed(state)
        if y is None:
            rng = np.random.default_rng(seed)
            y = self.classes_[rng.choice(len(self.classes_), size=n, p=self.class_prior_)]
        c = self._one_hot(y, n, drawing=True)
        return self._prior_draws(n, c, seed), self.classes_[c.argmax(-1).numpy()]

    def _expected_failed_checks(self) -> dict[str, str]:
        failed = super()._expected_failed_checks()
        if failed:  # likelihood='bernoulli': the classifier checks fit real-valued X too
            reason = next(iter(failed.values()))
            failed.update(dict.fromkeys(_REAL_VALUED_CLASSIFIER_CHECKS, reason))
        return failed

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier"  # is_classifier: stratified folds (module docstring)
        tags.classifier_tags = ClassifierTags(multi_label=False)
        tags.target_tags.required = True
        return tags


def _labels(y: Any, n: int, *, warn: bool = False) -> np.ndarray:
    """``y`` as a 1-D array of ``n`` labels; ``warn``: a column vector (n, 1) warns, as
    scikit-learn's classifiers' ``fit`` does."""
    try:
        labels = column_or_1d(y, warn=warn)
        check_consistent_length(np.empty(n), labels)
    except ValueError as error:  # scikit-learn names the shapes, not what to pass
        message = without_period(" ".join(str(error).split()))
        one_hot = np.ndim(y) == 2 and _is_one_hot(np.asarray(y))
        how = "e.g. y.argmax(axis=1) for one-hot rows" if one_hot else "as a 1-D array"
        raise DataError(f"y: {message}; pass {n} labels, one per row, {how}") from None
    na = getattr(sys.modules.get("pandas"), "NA", None)  # ("string" and Int64 columns' NA)
    # None, pandas' NA (whose != is NA, ambiguous as a truth value: userL #20), or NaN
    missing = [label is None or label is na or label != label for label in labels]
    if any(missing):
        raise DataError(
            f"y has no label in row {missing.index(True)} (None, NA or NaN); every row needs its "
            "class: drop the unlabeled rows or give them a label of their own"
        )
    return labels


def _is_one_hot(y: np.ndarray) -> bool:
    """Whether every row of a 2-D ``y`` is one 1 among 0s (a class's one-hot encoding)."""
    if y.dtype.kind not in "biuf" or y.shape[1] < 2:
        return False
    return bool(((y == 0) | (y == 1)).all() and (y.sum(1) == 1).all())


def _refuse_continuous(labels: np.ndarray) -> None:
    """Refuse floating-point labels that are not whole numbers (scikit-learn's classifiers
    refuse the ``type_of_target`` ``"continuous"``): a regression target would give a class
    per distinct value."""
    if labels.dtype.kind != "f":
        return
    fractional = labels != np.round(labels)
    if fractional.any():
        raise DataError(
            f"y holds continuous values (such as {labels[fractional][0]:.6g}), not class labels; "
            "CVAEEstimator conditions on a class: bin y first (e.g. np.digitize(y, bins)), or "
            "fit VAEEstimator, which takes no y"
        )
