"""A fake run folder, built the way ``torchlvm train`` and ``evaluate`` lay one out."""

import copy
import json

import numpy as np
import pytest
from matplotlib.image import imsave

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
RED = (1.0, 0.0, 0.0)
BLUE = (0.1, 0.2, 0.9)


def solid_png(path, colour, height=120, width=300):
    path.parent.mkdir(parents=True, exist_ok=True)
    imsave(path, np.broadcast_to(np.array(colour, dtype=float), (height, width, 3)).copy())


@pytest.fixture
def config():
    """A copy of the fake run's config.json content."""
    return copy.deepcopy(CONFIG)


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
