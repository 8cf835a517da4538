"""Evaluation: how good a model is, in the numbers the field uses, each labelled with its unit,
its kind (exact, bound, estimate) and how it was obtained.

>>> from torchlvm.data import load_dataset
>>> from torchlvm.evaluation import EvalConfig, evaluate
>>> from torchlvm.models import PPCA
>>> model = PPCA(latent_dim=10).fit(load_dataset("digits", "train").x)  # or torchlvm.load(run)
>>> config = EvalConfig(k=100, ood=(), sample_quality=False)
>>> result = evaluate(model, load_dataset("digits", "test"), config)
>>> round(result.likelihood.exact.nats.value, 1)  # PPCA's exact log p(x), nats per image
16.6
>>> round(result.likelihood.iwae[10].nats.value, 1)  # L_10: q is the exact posterior here
16.6
>>> result.likelihood.log_marginal is None  # no estimate of an exact log p(x) (a VAE has one)
True
>>> record = result.to_json()  # what metrics.json holds

(A VAE run, ``torchlvm.load("runs/vae")``, is evaluated on its own protocol's data, e.g.
``load_dataset("digits", "test", binarize="dynamic")``; it has no exact log p(x).)

- :func:`evaluate`: every metric of a model on a split (``torchlvm evaluate``), settings in one
  :class:`EvalConfig`, results as typed records (:class:`Evaluation`, :mod:`.records`: the one
  schema of ``metrics.json``);
- likelihood: :func:`per_example_likelihood`; of an imputation model's missing part,
  :func:`missing_part_likelihood`;
- latent space: :func:`active_units`, :func:`kl_per_dimension`;
- separability: :func:`probe_accuracies`; disentanglement: :func:`mutual_information_gap`;
- sample quality: :func:`frechet_distance` in the features of :func:`dataset_classifier`;
- outliers: :func:`make_ood_set`, :func:`detection_metrics`, :func:`outlier_report`.
"""

from torchlvm.evaluation.config import EvalConfig
from torchlvm.evaluation.disentanglement import mutual_information_gap
from torchlvm.evaluation.evaluate import evaluate
from torchlvm.evaluation.features import DatasetClassifier, dataset_classifier
from torchlvm.evaluation.frechet import frechet_distance, gaussian_frechet
from torchlvm.evaluation.latent import active_units, kl_per_dimension, posterior_means
from torchlvm.evaluation.likelihood import per_example_likelihood
from torchlvm.evaluation.missing_part import missing_part_likelihood
from torchlvm.evaluation.outliers import detection_metrics, make_ood_set, outlier_report
from torchlvm.evaluation.probes import probe_accuracies
from torchlvm.evaluation.reconstruction import per_example_reconstruction
from torchlvm.evaluation.records import Evaluation, Quantity

__all__ = [
    "DatasetClassifier",
    "EvalConfig",
    "Evaluation",
    "Quantity",
    "active_units",
    "dataset_classifier",
    "detection_metrics",
    "evaluate",
    "frechet_distance",
    "gaussian_frechet",
    "kl_per_dimension",
    "make_ood_set",
    "missing_part_likelihood",
    "mutual_information_gap",
    "outlier_report",
    "per_example_likelihood",
    "per_example_reconstruction",
    "posterior_means",
    "probe_accuracies",
]
