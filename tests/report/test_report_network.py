"""The report's "network" fact: the model settings that tell runs of one model type apart."""

import copy
import re

import pytest

from torchlvm.report import build_report
from torchlvm.report.network import network_text

BASE = {"input_dim": 64, "latent_dim": 8, "hidden": [400], "activation": "relu", "arch": "mlp"}


@pytest.mark.parametrize(
    "model_type, settings, said",
    [
        ("vae", {}, "MLP 400, relu · Bernoulli likelihood · diagonal q · prior N(0, I)"),
        (
            "vae",
            {"posterior": "flow", "flow_steps": 3, "prior": "vamp", "prior_components": 20},
            "MLP 400, relu · Bernoulli likelihood · flow q (3 steps) · VampPrior (20 "
            "pseudo-inputs)",
        ),
        (
            "vae",
            {"likelihood": "gaussian", "variance": "fixed", "scale": 0.1, "posterior": "full"},
            "MLP 400, relu · Gaussian likelihood, σ = 0.1 · full-covariance q · prior N(0, I)",
        ),
        (
            "cvae",
            {"prior": "learned", "condition_dim": 10},
            "MLP 400, relu · Bernoulli likelihood · diagonal q · learned prior p(z | c)",
        ),
        (
            "cvae",
            {
                "prior": "standard",
                "condition_dim": 10,
                "hidden": [128, 128],
                "arch": "conv",
                "image_shape": [1, 8, 8],
            },
            "conv + MLP 128-128, relu · Bernoulli likelihood · diagonal q · "
            "prior p(z | c) = N(0, I)",
        ),
        ("ae", {"reconstruction": "bernoulli"}, "MLP 400, relu · binary cross-entropy loss"),
        ("ae", {"linear": True}, "linear maps D → K → D · squared-error loss"),
        ("ppca", {"latent_dim": 5}, None),
        ("vae", {"posterior": "made-up"}, None),  # (a record torchlvm.load refuses)
    ],
    ids=[
        "vae",
        "flow-vamp",
        "gaussian-full",
        "cvae-learned",
        "cvae-standard-conv",
        "ae",
        "linear",
        "ppca",
        "refused",
    ],
)
def test_the_network_fact_names_each_setting(model_type, settings, said):
    """Settings config.json leaves out (fields added later, written only where set) are at
    their defaults: a flow q's steps, a VAE's prior."""
    assert network_text(model_type, {**BASE, **settings}) == said


def test_runs_told_apart_by_their_prior_and_posterior_say_so(make_run, config, tmp_path):
    """userU #2: four digits CVAEs differing in one setting each: the report's Setup said
    'cvae', '8', 'digits', 'elbo' for each, and the prior and posterior appeared only in the raw
    config.json at the bottom."""
    runs = []
    for name, settings in [
        ("dl", {}),
        ("ds", {"prior": "standard"}),
        ("dflow", {"posterior": "flow"}),
    ]:
        c = copy.deepcopy(config)
        c["model_type"] = "cvae"
        c["model"] = {**BASE, "condition_dim": 10, "prior": "learned", **settings}
        runs.append(make_run(name, config=c))
    text = build_report(runs, tmp_path / "three.html").read_text(encoding="utf-8")
    table = text[text.index("<h2>Headline numbers side by side</h2>") :]
    row = dict(re.findall(r'<tr><td class="label">([^<]+)</td>(.*?)</tr>', table))["network"]
    cells = re.findall(r"<td[^>]*><div>(.*?)</div></td>", row)
    assert [cell.split(" · ", 2)[2] for cell in cells] == [
        "diagonal q · learned prior p(z | c)",
        "diagonal q · prior p(z | c) = N(0, I)",
        "flow q (2 steps) · learned prior p(z | c)",
    ]
