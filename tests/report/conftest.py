"""A fake run folder, built the way ``torchlvm train`` and ``evaluate`` lay one out."""

import copy
import json

import numpy as np
import pytest
from matplotlib.image import imsave

from torchlvm.plots._style import SOFTWARE

CONFIG = {
    "model_type": "vae",
    "model": {"latent_dim": 2, "hidden": [64]},
    "training": {"max_epochs": 3, "batch_size": 32, "lr": 0.001},
    "data": {
        "name": "digits",
        "binarize": "dynamic",
        "seed": 0,
        "condition": None,
        "shape": [1, 8, 8],
        "num_classes": 10,
        "class_names": [str(i) for i in range(10)],
    },
}
METRICS = {
    "split": "test",
    "likelihood": {
        "elbo": {"value": -25.123456, "unit": "nats per example", "kind": "bound"},
        "log_marginal": {
            "value": -23.4567,
            "unit": "nats per example",
            "kind": "estimate",
            "k": 5000,
            "stderr": 0.0391,
            "ess": 812.25,
        },
    },
    "reconstruction": {"mse": 0.012345678, "kl_per_dim": [0.5, 2.25]},
}
METRICS_CSV = """\
epoch,step,train/elbo,train/kl,train/log_lik,val/elbo,val/kl,val/log_lik
0,9,-40.0,5.0,-35.0,,,
0,9,,,,-41.0,5.5,-35.5
1,19,-30.0,6.0,-24.0,,,
1,19,,,,-31.0,6.5,-24.5
"""
#: runs/demo/vae/metrics.json as `torchlvm evaluate runs/demo/vae --k 1000` wrote it, trimmed
#: (fewer IWAE k, AUPRCs and bookkeeping; numbers rounded to 6 digits); runs/ is not in git
DEMO_VAE_METRICS = {
    "protocol": {
        "data": "digits",
        "split": "test",
        "binarize": "dynamic",
        "shape": [1, 8, 8],
        "n": 359,
        "seed": 0,
        "condition": "none",
        "k": 1000,
        "refine_steps": 0,
    },
    "model": {"type": "vae", "latent_dim": 8, "deterministic_encoder": False},
    "likelihood": {
        "quantity": "log p(x)",
        "elbo": {
            "nats": {
                "value": -24.1547,
                "unit": "nats/example",
                "kind": "bound",
                "k": 1,
                "data_stderr": 0.218532,
                "note": "ELBO, a lower bound on log p(x); E_q[log p(x|z)] "
                "from one z per example (closed form where the "
                "model has one)",
            },
            "bits_per_dim": {
                "value": 0.544499,
                "unit": "bits/dim",
                "kind": "bound",
                "k": 1,
                "data_stderr": 0.00492618,
                "note": "ELBO, a lower bound on log p(x); E_q[log "
                "p(x|z)] from one z per example (closed "
                "form where the model has one)",
            },
        },
        "iwae": {
            "100": {
                "nats": {
                    "value": -23.6413,
                    "unit": "nats/example",
                    "kind": "bound",
                    "k": 100,
                    "note": "IWAE bound L_k on log p(x) (one draw of k samples per example)",
                },
                "bits_per_dim": {
                    "value": 0.532925,
                    "unit": "bits/dim",
                    "kind": "bound",
                    "k": 100,
                    "note": "IWAE bound L_k on log p(x) (one draw of k samples per example)",
                },
            }
        },
        "log_marginal": {
            "nats": {
                "value": -23.6512,
                "unit": "nats/example",
                "kind": "estimate",
                "k": 1000,
                "stderr": 0.00201076,
                "data_stderr": 0.188401,
                "ess": 482.038,
                "note": "importance-sampled log p(x) with q as "
                "proposal; stderr is the Monte Carlo error "
                "of the mean, data_stderr the spread over "
                "examples / sqrt(n)",
            },
            "bits_per_dim": {
                "value": 0.533149,
                "unit": "bits/dim",
                "kind": "estimate",
                "k": 1000,
                "stderr": 4.53267e-05,
                "data_stderr": 0.00424695,
                "ess": 482.038,
                "note": "importance-sampled log p(x) with q "
                "as proposal; stderr is the Monte "
                "Carlo error of the mean, "
                "data_stderr the spread over "
                "examples / sqrt(n)",
            },
        },
    },
    "reconstruction": {
        "mse_per_pixel": {
            "value": 0.0879409,
            "unit": "squared error/pixel",
            "kind": "measured",
            "note": "x̂ = mean of p(x | z) at z = E_q[z | x]",
        },
        "bce": {
            "value": 18.0174,
            "unit": "nats/example",
            "kind": "measured",
            "note": "binary cross-entropy −log p(x | z = E_q[z | x]) of the Bernoulli decoder",
        },
    },
    "latent": {
        "latent_dim": 8,
        "active_units": {
            "value": 8,
            "unit": "units",
            "kind": "measured",
            "threshold": 0.01,
            "note": "Burda et al. 2016: Cov_x(E_q[z_i]) > 0.01",
        },
        "kl_per_dim": {
            "value": [
                0.481892,
                0.800797,
                0.0779681,
                0.739874,
                0.307969,
                0.142635,
                0.632395,
                0.493625,
            ],
            "unit": "nats/example",
            "kind": "exact",
            "note": "sums to the total KL",
        },
        "kl_total": {
            "value": 3.67715,
            "unit": "nats/example",
            "kind": "exact",
            "note": "KL(q(z|x) ‖ p(z)), analytic",
        },
        "rate": {
            "value": 3.67715,
            "unit": "nats/example",
            "kind": "exact",
            "note": "R = E_x KL(q ‖ p)",
        },
        "distortion": {
            "value": 20.4776,
            "unit": "nats/example",
            "kind": "estimate",
            "k": 1,
            "note": "D = −E_x E_q[log p(x|z)], one draw of z per example; ELBO = −D − R",
        },
    },
    "separability": {
        "latent": {
            "logistic": {
                "value": 0.707629,
                "unit": "accuracy",
                "kind": "estimate",
                "stderr": 0.0165884,
                "folds": 5,
                "n": 359,
                "note": "logistic-regression probe (standardized "
                "inputs, C=1), 5-fold stratified "
                "cross-validation",
            },
            "knn": {
                "value": 0.704851,
                "unit": "accuracy",
                "kind": "estimate",
                "stderr": 0.0143092,
                "folds": 5,
                "n": 359,
                "note": "5-nearest neighbours (standardized inputs), "
                "5-fold stratified cross-validation",
            },
        },
        "note": "probes on posterior means E_q[z|x]; 'pixels' is the raw-input reference",
        "pixels": {
            "logistic": {
                "value": 0.713106,
                "unit": "accuracy",
                "kind": "estimate",
                "stderr": 0.0208161,
                "folds": 5,
                "n": 359,
                "note": "logistic-regression probe (standardized "
                "inputs, C=1), 5-fold stratified "
                "cross-validation",
            },
            "knn": {
                "value": 0.710211,
                "unit": "accuracy",
                "kind": "estimate",
                "stderr": 0.0211342,
                "folds": 5,
                "n": 359,
                "note": "5-nearest neighbours (standardized inputs), "
                "5-fold stratified cross-validation",
            },
        },
    },
    "sample_quality": {
        "classifier": {
            "dataset": "digits",
            "architecture": "MLP 64-256-64-10, ReLU",
            "feature_dim": 64,
            "test_accuracy": {"value": 0.977716, "unit": "accuracy", "kind": "measured"},
        },
        "generated": "decoder means E[x|z], z ~ p(z) (or p(z|c)), as many as evaluated",
        "frechet_real_reference": {
            "value": 4.82198,
            "unit": "Fréchet distance",
            "kind": "estimate",
            "n": 359,
            "note": "Fréchet distance in the 64-d "
            "penultimate features of torchlvm's "
            "digits classifier (test accuracy "
            "0.978): real test vs as many real "
            "training images — the floor at this "
            "n",
        },
        "frechet": {
            "value": 24.462,
            "unit": "Fréchet distance",
            "kind": "estimate",
            "n": 359,
            "note": "Fréchet distance in the 64-d penultimate features of "
            "torchlvm's digits classifier (test accuracy 0.978); "
            "generated = prior samples",
        },
    },
    "outliers": {
        "score_description": "−log p(x), importance-sampled, k=100 (higher = more "
        "anomalous; positives = OOD)",
        "sets": {
            "noise": {
                "description": "uniform noise in [0, 1] per pixel",
                "score": {
                    "auroc": {"value": 1.0, "unit": "AUROC", "kind": "measured", "chance": 0.5}
                },
                "typicality": {
                    "auroc": {"value": 1.0, "unit": "AUROC", "kind": "measured", "chance": 0.5}
                },
            },
            "flip": {
                "description": "digits test images flipped vertically",
                "score": {
                    "auroc": {"value": 0.71916, "unit": "AUROC", "kind": "measured", "chance": 0.5}
                },
                "typicality": {
                    "auroc": {"value": 0.653013, "unit": "AUROC", "kind": "measured", "chance": 0.5}
                },
            },
            "other": {
                "description": "fashion-mnist test split, resized from (1, "
                "28, 28) to (1, 8, 8) (bilinear)",
                "score": {
                    "auroc": {"value": 0.902173, "unit": "AUROC", "kind": "measured", "chance": 0.5}
                },
                "typicality": {
                    "auroc": {"value": 0.876817, "unit": "AUROC", "kind": "measured", "chance": 0.5}
                },
            },
        },
        "skipped": {"mnist": "not available: mnist not found"},
    },
    "figures": {
        "folder": "figures",
        "written": [
            "samples.png",
            "reconstructions.png",
            "traversals.png",
            "interpolation.png",
            "latent_scatter.png",
            "kl_per_dimension.png",
            "training_curves.png",
        ],
        "skipped": {
            "manifold": "does not apply to this model",
            "conditional": "does not apply to this model",
            "imputation": "does not apply to this model",
        },
    },
}

RED = (1.0, 0.0, 0.0)
BLUE = (0.1, 0.2, 0.9)


def solid_png(path, colour, height=120, width=300, software=SOFTWARE):
    """A PNG of one colour, marked as torchlvm marks the figures it draws (``software=None``:
    unmarked, a figure of the user's own)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.broadcast_to(np.array(colour, dtype=float), (height, width, 3)).copy()
    imsave(path, pixels, metadata=None if software is None else {"Software": software})


@pytest.fixture
def config():
    """A copy of the fake run's config.json content."""
    return copy.deepcopy(CONFIG)


@pytest.fixture
def demo_metrics():
    """A copy of the demo VAE's metrics.json content (trimmed)."""
    return copy.deepcopy(DEMO_VAE_METRICS)


@pytest.fixture
def make_run(tmp_path):
    """make_run(name, config=..., metrics=..., csv=..., figures={stem: colour}) → folder."""

    def make(
        name="vae-run",
        *,
        config=CONFIG,
        metrics=METRICS,
        csv=METRICS_CSV,
        figures=(("samples", RED), ("latent_scatter", BLUE)),
    ):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "config.json").write_text(json.dumps(config))
        if metrics is not None:
            (folder / "metrics.json").write_text(
                metrics if isinstance(metrics, str) else json.dumps(metrics)
            )
        if csv is not None:
            (folder / "metrics.csv").write_text(csv)
        for stem, colour in dict(figures).items():
            solid_png(folder / "figures" / f"{stem}.png", colour)
        return folder

    return make
