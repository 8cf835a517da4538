"""TrainConfig: every field is checked on construction with a message naming it."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from torchlvm.errors import ConfigError
from torchlvm.training import TrainConfig
from torchlvm.training.losses import kl_weight


def test_defaults_are_json_ready() -> None:
    record = asdict(TrainConfig())
    assert record["objective"] == "elbo" and record["k"] == 1 and record["patience"] is None
    assert all(isinstance(v, (str, int, float, bool, type(None))) for v in record.values())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"objective": "iwae", "k": 0}, "k must be a positive integer, got 0"),
        ({"beta": -1.0}, "beta must be a non-negative number, got -1.0"),
        ({"objective": "elbo", "k": 5}, "only apply to objective='iwae'"),
        ({"objective": "wake-sleep"}, "objective must be one of"),
        ({"warmup_epochs": -1}, "warmup_epochs must be a non-negative integer"),
        ({"free_bits": float("nan")}, "free_bits must be a non-negative number"),
        ({"lr": 0.0}, "lr must be a positive finite number"),
        ({"batch_size": 0}, "batch_size must be a positive integer"),
        ({"max_epochs": 0}, "max_epochs must be a positive integer"),
        ({"patience": 0}, "patience must be a positive integer"),
        ({"gradient_clip": -1.0}, "gradient_clip must be a positive finite number"),
        ({"seed": -3}, "seed must be a non-negative integer"),
        ({"seed": 2**32}, r"seed must be at most 4294967295 \(2\*\*32 - 1.*got 4294967296"),
        ({"on_nonfinite": "ignore"}, "on_nonfinite must be one of"),
        ({"objective": "reconstruction", "beta": 2.0}, "objective='reconstruction' has none"),
    ],
    ids=lambda v: str(v) if isinstance(v, dict) else "",
)
def test_bad_values_are_refused(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        TrainConfig(**kwargs)


def test_kl_warmup_ramps_linearly_to_beta() -> None:
    config = TrainConfig(beta=2.0, warmup_epochs=4)
    assert [kl_weight(config, e) for e in (0, 1, 2, 4, 10)] == [0.0, 0.5, 1.0, 2.0, 2.0]
    assert kl_weight(TrainConfig(beta=0.5), 0) == 0.5


@pytest.mark.parametrize(
    ("kwargs", "python", "command_line"),
    [
        (
            {"objective": "iwae", "k": 3, "warmup_epochs": 4},
            "warmup_epochs=4 shapes the ELBO's KL term, which objective='iwae' has none of: "
            "drop warmup_epochs or use objective='elbo'",
            "--warmup-epochs 4 shapes the ELBO's KL term, which --objective iwae has none of: "
            "drop --warmup-epochs or use --objective elbo",
        ),
        (
            {"objective": "iwae", "beta": 2.0, "free_bits": 0.1234567},
            "beta=2.0 and free_bits=0.1234567 shape the ELBO's KL term, which objective='iwae' "
            "has none of: drop beta and free_bits or use objective='elbo'",
            "--beta 2 and --free-bits 0.1234567 shape the ELBO's KL term, which --objective "
            "iwae has none of: drop --beta and --free-bits or use --objective elbo",
        ),
        (
            {"objective": "elbo", "k": 3},
            "k=3 importance samples only apply to objective='iwae' or objective='miwae', got "
            "objective='elbo' (the default)",
            "--k 3 importance samples only apply to --objective iwae or --objective miwae, got "
            "--objective elbo (the default)",
        ),
    ],
    ids=["warmup", "beta-free-bits", "k"],
)
def test_a_setting_the_objective_ignores_is_named_as_given(kwargs, python, command_line):
    """userN #3: `train vae --objective iwae --warmup-epochs 4` was told "beta, warmup_epochs
    and free_bits shape the KL term ... use objective 'elbo'": three Python names, two not given."""
    with pytest.raises(ConfigError) as refused:
        TrainConfig(**kwargs)
    assert str(refused.value) == python
    assert refused.value.on_command_line == command_line
