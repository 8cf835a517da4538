"""The commands a message offers read the data as the run read it: the recorded table options,
spelled back by the parser that reads them (cli/_tables over cli/_train_again.option_words).

A CVAE's run on a table that was read as stored (--no-standardize) was offered 'torchlvm fit
ppca --data t.csv ...' without --no-standardize, which standardizes the table: another reading
of the data than the run's."""

from __future__ import annotations

import shlex
from types import SimpleNamespace

import pytest

from torchlvm.cli import build_parser
from torchlvm.cli._tables import _flag_text, fit_ppca_command, options_from


def _run(name: str, options: dict, latent_dim: int = 3, dim: int = 10) -> SimpleNamespace:
    return SimpleNamespace(
        data={"name": name, "options": options},  # (no "table": K is the run's)
        model=SimpleNamespace(latent_dim=latent_dim),
        input_dim=dim,
    )


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("t.csv", {}),  # read as stored: --no-standardize
        ("t.csv", {"standardize": True}),
        # (a run given --label-column records "stratify": its split is by class, fd98b54)
        (
            "my data/t v.csv",
            {"drop_columns": [0, "id"], "label_column": "y", "standardize": True, "stratify": True},
        ),
        ("t.csv", {"encoding": "cp1251", "label_column": 2, "stratify": True}),
        ("t.tsv.gz", {"allow_missing": True, "standardize": True}),  # (fit: no --allow-missing)
        ("x.npy", {}),
        ("x.npy", {"standardize": True}),
        ("wine", {}),
    ],
    ids=[
        "no-standardize",
        "standardize",
        "spaces-drop-label",
        "encoding",
        "gz",
        "npy",
        "npy-standardized",
        "dataset",
    ],  # fmt: skip
)
def test_the_offered_fit_reads_the_data_as_the_run_did(name, options):
    command = fit_ppca_command(_run(name, options))
    words = shlex.split(command)
    assert words[:3] == ["torchlvm", "fit", "ppca"]
    args = build_parser().parse_args(words[1:])
    assert args.data == name and args.latent_dim == 3
    expected = {k: v for k, v in options.items() if k != "allow_missing"}
    assert options_from(vars(args)) == expected


def test_a_table_runs_offered_fit_takes_trains_default_latent_size_and_no_redundant_flag():
    """userA #32: a table CVAE's score/impute offered 'fit ppca ... --standardize --latent-dim
    5' on a 6-column table: D - 1, almost a full covariance, where train's table default is
    3, and --standardize, which a table file gets by default. The offer takes the default K and
    names the flags that change the reading only; a VAE is offered beside it."""
    from torchlvm.cli._tables import train_vae_command

    run = _run("t.csv", {"standardize": True, "allow_missing": True}, latent_dim=5, dim=6)
    run.data["table"] = {}
    words = shlex.split(fit_ppca_command(run))
    assert "--standardize" not in words and "--allow-missing" not in words
    assert build_parser().parse_args(words[1:]).latent_dim == 3
    words = shlex.split(train_vae_command(run))
    assert words[:5] == ["torchlvm", "train", "vae", "--data", "t.csv"]
    args = build_parser().parse_args(words[1:])
    assert options_from(vars(args)) == {"standardize": True, "allow_missing": True}
    run = _run("t.csv", {}, latent_dim=5, dim=40)  # read as stored, 40 columns: K 20
    run.data["table"] = {}
    words = shlex.split(fit_ppca_command(run))
    assert "--no-standardize" in words and build_parser().parse_args(words[1:]).latent_dim == 20


def test_the_offered_fit_takes_a_latent_size_ppca_takes():
    """An autoencoder of latent size 20 (the default) on a table of 3 columns was offered
    'fit ppca ... --latent-dim 20', which fit refuses (1 to 2): PPCA's K is below D."""
    words = shlex.split(fit_ppca_command(_run("t.csv", {}, latent_dim=20, dim=3)))
    assert build_parser().parse_args(words[1:]).latent_dim == 2
    words = shlex.split(fit_ppca_command(_run("t.csv", {}, latent_dim=2, dim=3)))
    assert build_parser().parse_args(words[1:]).latent_dim == 2


@pytest.mark.parametrize(
    ("name", "value", "text"),
    [
        ("standardize", None, "--no-standardize"),
        ("standardize", True, "--standardize"),
        ("allow_missing", None, "no --allow-missing"),
        ("drop_columns", [], "no --drop-columns"),
        ("drop_columns", [0, "id"], "--drop-columns 0 id"),
        ("drop_columns", ["Total, USD", 'a "b"'], '--drop-columns "Total, USD" "a \\"b\\""'),
        ("encoding", "cp1251", "--encoding cp1251"),
    ],
    ids=lambda v: str(v),
)
def test_a_changed_option_is_named_as_typed(name, value, text):
    assert _flag_text(name, value) == text
