"""What `torchlvm train`'s options settle to, and how a resumed run's options are compared with
the recorded run: as the config fields they set, not as command-line strings."""

from __future__ import annotations

import pytest

from torchlvm.cli.train_options import changed_setting, settle, train_fields
from torchlvm.errors import ConfigError
from torchlvm.models.conditions import Condition

RECORD = {
    "model_type": "ae",
    "model": {"input_dim": 64, "latent_dim": 4, "hidden": [8], "reconstruction": "bernoulli"},
    "training": {"objective": "reconstruction", "seed": 0, "lr": 0.001, "max_epochs": 2},
    "data": {"name": "digits", "binarize": "dynamic", "condition": "none"},
}


def test_settle_fills_the_defaults_of_the_model_type_and_the_data():
    s = settle("cvae", {"data": "digits"})
    assert (s["likelihood"], s["binarize"], s["objective"], s["k"]) == (
        "bernoulli", "dynamic", "elbo", 1,
    )  # fmt: skip
    assert s["condition"] == Condition("label")
    assert settle("ae", {"data": "x.csv"})["objective"] == "reconstruction"
    assert settle("vae", {"data": "x.csv", "objective": "iwae"})["k"] == 5
    assert train_fields(settle("vae", {"data": "digits", "epochs": 3}))["max_epochs"] == 3


@pytest.mark.parametrize(
    "model, given, match",
    [
        ("ae", {"beta": 2.0}, "--beta does not apply to an autoencoder, which minimizes "
         "reconstruction error; train a cvae or vae for it"),
        ("vae", {"cvae_prior": "standard"}, "--cvae-prior does not apply to a VAE; train a cvae"),
        ("vae", {"condition": "mask:top"}, "--condition mask:top needs a conditional model; "
         "train a cvae for it"),
        ("cvae", {"condition": "mask:middle"}, "mask kind must be one of"),
        ("vae", {"likelihood": "bernoulli", "scale": 2.0}, "apply to --likelihood gaussian only"),
    ],
    ids=["ae-beta", "vae-cvae-prior", "vae-mask", "bad-mask", "bernoulli-scale"],
)  # fmt: skip
def test_settle_refuses_options_the_model_does_not_take(model, given, match):
    with pytest.raises(ConfigError, match=match):
        settle(model, {"data": "digits", **given})


def test_settle_needs_data():
    with pytest.raises(
        ConfigError, match="--data is required .* .tsv file; .csv.gz and .tsv.gz too"
    ):
        settle("vae", {})


@pytest.mark.parametrize(
    "given",
    [{"latent_dim": 4}, {"hidden": [8]}, {"likelihood": "bernoulli"}, {"lr": 1e-3},
     {"epochs": 9, "patience": 2, "quiet": True}, {"condition": "none"}, {"data": "digits"}],
    ids=["latent", "hidden-list", "likelihood", "lr-float", "may-change", "condition", "data"],
)  # fmt: skip
def test_options_that_give_the_recorded_settings_are_not_changes(given):
    assert changed_setting("ae", given, RECORD) is None


@pytest.mark.parametrize(
    "given, phrase",
    [
        ({"latent_dim": 8}, "--latent-dim 8 (the run has 4)"),
        ({"likelihood": "gaussian"}, "--likelihood 'gaussian' (reconstruction 'mse', the run has "
         "'bernoulli')"),
        ({"seed": 3}, "--seed 3 (the run has 0)"),
        ({"binarize": "none"}, "--binarize 'none' (the run has 'dynamic')"),
        ({"data": "shapes"}, "--data 'shapes' (name 'shapes', the run has 'digits')"),
    ],
    ids=["latent", "ae-likelihood", "seed", "binarize", "data"],
)  # fmt: skip
def test_a_passed_option_that_changes_a_recorded_field_is_named(given, phrase):
    assert changed_setting("ae", given, RECORD) == phrase


TABLE_RECORD = {
    **RECORD,
    "data": {
        "name": "/data/t.csv",
        "binarize": "none",
        "condition": "none",
        "options": {"drop_columns": ["id"], "standardize": True},
    },
}


@pytest.mark.parametrize(
    "given, phrase",
    [
        ({"standardize": True}, None),  # a .csv's default, recorded
        ({"drop_columns": "id", "allow_missing": False}, None),
        ({"standardize": False}, "--no-standardize (the run has --standardize)"),
        ({"allow_missing": True}, "--allow-missing (the run has no --allow-missing)"),
        ({"drop_columns": ["id", "c"]}, "--drop-columns id c (the run has --drop-columns id)"),
        ({"drop_columns": ["id,c"]}, "--drop-columns id,c (the run has --drop-columns id)"),
        ({"drop_columns": ["T, USD"]}, '--drop-columns "T, USD" (the run has --drop-columns id)'),
        ({"label_column": "c"}, "--label-column c (the run has no --label-column)"),
    ],
    ids=[
        *("same-standardize", "same-drop", "standardize", "allow-missing", "drop"),
        *("drop-one-word", "drop-a-name-with-a-comma", "label"),
    ],
)
def test_table_options_are_compared_with_the_runs_data_options_by_the_one_comparer(given, phrase):
    assert changed_setting("ae", given, TABLE_RECORD) == phrase


@pytest.mark.parametrize(
    "model, given, match",
    [
        ("vae", {"objective": "elbo"}, "--allow-missing trains by the MIWAE bound, and "
         "--objective elbo needs complete rows; drop --objective"),
        ("vae", {"objective": "iwae"}, "--objective iwae needs complete rows"),
        ("ae", {}, "--allow-missing trains by the MIWAE bound .* trains a vae only"),
        ("cvae", {}, "trains a vae only; train a vae for it, or fill the empty cells first"),
    ],
    ids=["vae-elbo", "vae-iwae", "ae", "cvae"],
)  # fmt: skip
def test_allow_missing_is_refused_where_the_miwae_bound_does_not_train(model, given, match):
    with pytest.raises(ConfigError, match=match):
        settle(model, {"data": "x.csv", "allow_missing": True, **given})
    assert settle("vae", {"data": "x.csv", "allow_missing": True})["objective"] == "miwae"


def test_an_unknown_objective_names_the_flag_and_the_model_s_objectives_only():
    with pytest.raises(ConfigError) as err:
        settle("vae", {"data": "digits", "objective": "foo"})
    assert str(err.value) == "--objective must be elbo or iwae or miwae for a vae, got 'foo'"


def test_help_states_the_defaults_a_table_gets():
    """``train --help`` said "--epochs (default: 20)", "--patience (default: never)", hidden 400
    relu, --variance fixed, --batch-size 128, while a .csv trains 300 epochs with patience 30, a
    batch of 64, two tanh layers of 128 and a σ per feature: a user passing --batch-size 100000 to
    a table got 300 one-step epochs. Each default the table changes is now shown beside it, and
    is the one :func:`settle` gives."""
    from torchlvm.cli import build_parser

    text = " ".join(build_parser().commands["train"].format_help().split())
    table = settle("vae", {"data": "x.csv"})
    for flag, plain, for_table in [
        ("--epochs", "20", table["epochs"]),
        ("--batch-size", "128", table["batch_size"]),
        ("--patience", "never", table["patience"]),
        ("--hidden", "400", " ".join(map(str, table["hidden"]))),
        ("--activation", "relu", table["activation"]),
        ("--variance", "scalar", table["variance"]),
        ("--scale", "the data's own scale, the root mean square of its columns' standard "
         "deviations", table["scale"]),
    ]:  # fmt: skip
        shown = f"(default: {plain}; {for_table} for a table)"
        assert shown in text, f"{flag}: {shown}"
    assert "(default: never)" not in text
    assert ",;" not in text  # '--scale ... standard deviations,; 1.0 for a table' (userI #4)


def test_every_option_of_train_is_taken_by_some_model():
    """An option in the parser that neither every model nor any recipe takes is refused for
    every model, as 'does not apply to a VAE; train a  for it' (--encoding was so, once);
    --out, --overwrite and --resume say where the run goes, and are no setting of it."""
    import argparse

    from torchlvm.cli import train_options
    from torchlvm.models.registry import RECIPES

    parser = argparse.ArgumentParser()
    train_options.configure(parser)
    taken = set(train_options.EVERY_MODEL).union(*(r.options for r in RECIPES.values()))
    dests = {a.dest for a in parser._actions if a.option_strings} - {"help"}
    assert dests - taken == {"out", "overwrite", "resume"}
