"""``evaluate``'s sample-quality section: decoder means of the model's samples (or, for an
autoencoder, of standard-normal and fitted-Gaussian codes) against real images, by the Fréchet
distance in a dataset classifier's features (:mod:`.features`, :mod:`.frechet`), beside the
floor of real against real at the same n; and for a label CVAE, how many samples generated for
class c the classifier calls c.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from torchlvm.data.dataset import Dataset
from torchlvm.evaluation._records import metric
from torchlvm.evaluation.config import EvalConfig
from torchlvm.evaluation.eval_data import EvalData, too_few
from torchlvm.evaluation.features import dataset_classifier, sample_quality_note
from torchlvm.evaluation.frechet import frechet_distance
from torchlvm.evaluation.records import Classifier, Quantity, SampleQuality, Undefined
from torchlvm.models.conditions import Condition


def generate(model: Any, data: EvalData, condition: Condition, source: str | None) -> Tensor:
    """Decoder means E[x | z] for z ~ p(z [| c]): as many as the evaluation set."""
    n = len(data.x)
    if source is not None:
        return model.sample(n, source=source).cpu()
    if not condition.conditional:
        z = model.prior(batch_shape=(n,)).sample()  # (n, K)
        return model.decode(z).mean.cpu()
    assert data.c is not None
    z = model.prior(data.c).sample()  # (n, K)
    mean = model.decode(z, data.c).mean
    if data.missing is None:
        return mean.cpu()
    return torch.where(data.missing, mean, data.x).cpu()  # observed part kept, the rest imputed


#: generation source (None: the model's prior) → (field, what the generated images are)
_SOURCES: dict[str | None, tuple[str, str]] = {
    None: ("frechet", "prior samples"),
    "standard": ("frechet", "decoder fed N(0, I) codes (the autoencoder has no prior)"),
    "fitted": (
        "frechet_fitted_codes",
        "decoder fed codes from a Gaussian fitted to the training codes",
    ),
}


def _accuracy(value: float) -> dict[str, Any]:
    return metric(value, "accuracy", "measured")


def _too_few_for_features(n: int, features: int) -> str | None:
    """Why the Fréchet distance of ``n`` examples in ``features`` dimensions is not given: it
    exists, but its covariances have rank at most n − 1, and below n = features + 1 the number
    is of degenerate Gaussians, dominated by that shortfall (at n = 3 in 64-d the real-vs-real
    floor came out above the model's value); None when there are enough. Its bias, of order
    features / n, is still large just above the line: the real-vs-real floor printed beside it
    is what tells a user how far to trust it."""
    if n > features:
        return None
    return (
        f"not given: the Fréchet distance compares covariances of {features} classifier "
        f"features, which {n} examples cannot fill (rank {n - 1}), so it would measure that "
        f"shortfall; evaluate at least {features + 1} (--n, or a larger split)"
    )


def sample_quality_undefined(dataset: Dataset) -> Undefined | None:
    """Why ``dataset`` has no sample-quality section whatever is evaluated of it (a table; no
    class labels to train the feature classifier on), or None where it has one: the one rule,
    which evaluate's expected time reads too (:func:`~torchlvm.evaluation.timing.left_out`)."""
    if dataset.is_table:  # (first: labels would not give a table one)
        return Undefined(
            "the data are a table, and the Fréchet distance compares a picture classifier's "
            "features"
        )
    if dataset.y is None:
        return Undefined("the data has no class labels to train the feature classifier on")
    return None


def sample_quality_section(
    model: Any, dataset: Dataset, data: EvalData, deterministic: bool, o: EvalConfig
) -> SampleQuality | Undefined:
    """The sample-quality section of ``data``, or why it is undefined (no class labels to
    train the feature classifier on; a table)."""
    if (undefined := sample_quality_undefined(dataset)) is not None:
        return undefined
    if (few := too_few("the Fréchet distance (a covariance)", len(data.x))) is not None:
        return Undefined(few)
    classifier = dataset_classifier(dataset.name, data_dir=o.data_dir, seed=0, progress=o.progress)
    note = sample_quality_note(classifier)
    real = classifier.features(data.grey)
    if (few := _too_few_for_features(len(data.x), real.shape[-1])) is not None:
        return Undefined(few)
    from torchlvm.data import load_dataset

    other = "test" if dataset.split == "train" else "train"  # real images not evaluated
    reference = load_dataset(dataset.name, other, data_dir=o.data_dir, seed=0)
    rows = torch.randperm(len(reference), generator=torch.Generator().manual_seed(o.seed))
    other_real = classifier.features(reference.x[rows[: len(data.x)]])
    n = len(data.x)
    out: dict[str, Any] = {
        "classifier": Classifier.from_json(
            {**classifier.info, "test_accuracy": _accuracy(classifier.test_accuracy)}
        ),
        "generated": "decoder means E[x|z], z ~ p(z) (or p(z|c)), as many as evaluated",
        "frechet_real_reference": Quantity(
            frechet_distance(real, other_real), "Fréchet distance", "estimate",
            note=f"{note}: real {dataset.split} vs as many real {other} images — the reference at "
            "this n (not a floor: a model's samples can score below it)",
            extra={"n": n, "splits": [dataset.split, other]},
        ),
    }  # fmt: skip
    with torch.no_grad():
        for source in ["standard", "fitted"] if deterministic else [None]:
            key, what = _SOURCES[source]
            if source == "fitted" and not getattr(model, "is_code_distribution_fitted", False):
                out[key] = Quantity(
                    None,
                    kind="undefined",
                    note="the autoencoder's code distribution was not fitted",
                )
                continue
            generated = generate(model, data, o.condition, source).float()
            if data.missing is not None:
                what = "imputations: observed part kept, missing part = decoder mean, z ~ p(z|c)"
            out[key] = Quantity(
                frechet_distance(real, classifier.features(generated)), "Fréchet distance",
                "estimate", note=f"{note}; generated = {what}", extra={"n": n},
            )  # fmt: skip
            if o.condition.kind == "label" and data.y is not None:
                hits = (classifier.predict(generated) == data.y).double().mean()
                out["conditional_accuracy"] = Quantity(
                    float(hits), "accuracy", "estimate",
                    note="samples generated for class c that the classifier calls c",
                    extra={"n": len(data.y)},
                )  # fmt: skip
    return SampleQuality(**out)


def below_reference(quality: SampleQuality) -> str:
    """The sentence to say under a sample-quality record whose generated distance lies below
    the real-vs-real reference (:meth:`SampleQuality.lies_below_reference`, the rule the report
    card says it by); "" otherwise."""
    if not quality.lies_below_reference():
        return ""
    n = quality.frechet_real_reference.extra.get("n")
    at = f"at n = {n}" if n else "at this n"
    return (
        f"the generated distance lies below the real-vs-real reference: {at} the distance is "
        "mostly its small-sample bias, and decoder means, less varied than images, can score "
        "low; evaluate more examples (--n) or compare runs at one n"
    )
