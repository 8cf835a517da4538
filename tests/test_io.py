"""torchlvm.load gives back the model that was saved, bit for bit, in the floating-point type it
was saved in."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file, save_file

import torchlvm
from torchlvm import PPCA
from torchlvm.errors import DataError, RunDirectoryError
from torchlvm.models.autoencoder import Autoencoder, AutoencoderConfig
from torchlvm.models.cvae import CVAE, CVAEConfig
from torchlvm.models.vae import VAE, VAEConfig


@pytest.mark.parametrize(
    "build",
    [
        lambda: VAE(VAEConfig(6, latent_dim=2, hidden=(5,), posterior="flow", prior="mog")),
        lambda: CVAE(CVAEConfig(6, 3, latent_dim=2, hidden=(5,), num_classes=3)),
    ],
    ids=["vae-flow-mog", "cvae"],
)
def test_a_float64_model_loads_as_float64_with_the_same_outputs(build, tmp_path):
    torch.manual_seed(0)
    model = build().double().eval()  # as VAEEstimator.model_ is
    model.save_pretrained(tmp_path / "export")
    loaded = torchlvm.load(tmp_path / "export")
    floats = {t.dtype for t in loaded.state_dict().values() if t.is_floating_point()}
    assert floats == {torch.float64}
    for name, tensor in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name
    x = torch.rand(4, 6, dtype=torch.float64)
    c = torch.eye(3, dtype=torch.float64)[[0, 1, 2, 0]] if isinstance(model, CVAE) else None
    assert torch.equal(loaded.encode(x, c).mean, model.encode(x, c).mean)


def test_a_float32_model_still_loads_as_float32(tmp_path):
    VAE(VAEConfig(6, latent_dim=2, hidden=(5,))).save_pretrained(tmp_path / "export")
    assert next(torchlvm.load(tmp_path / "export").parameters()).dtype == torch.float32


@pytest.mark.parametrize(
    ("build", "retype"),
    [
        (lambda: VAE(VAEConfig(6, latent_dim=2, hidden=(5,))), torch.int64),
        (lambda: PPCA(latent_dim=2).fit(torch.randn(20, 4, dtype=torch.float64)), torch.int32),
        (lambda: Autoencoder(AutoencoderConfig(6, latent_dim=2, hidden=(5,))), torch.float32),
    ],
    ids=["vae-int64", "ppca-int32", "autoencoder-flag-as-float"],
)
def test_weights_of_another_kind_of_number_are_refused(build, retype, tmp_path):
    """A file whose tensors have the right names and shapes but hold integers (or, for a flag,
    floats) was loaded, its values cast into the model's parameters without a word."""
    folder = build().save_pretrained(tmp_path / "export")
    weights = folder / "model.safetensors"
    tensors = load_file(weights)
    name = next(n for n, t in tensors.items() if t.is_floating_point() != retype.is_floating_point)
    tensors[name] = tensors[name].to(retype)
    save_file(tensors, weights)
    with pytest.raises(
        DataError, match=rf"tensor {name} holds {retype}, .*belong to another model"
    ):
        torchlvm.load(folder)


def test_a_path_that_is_not_a_model_folder_is_named_with_what_it_is(tmp_path, monkeypatch):
    """load('runs/ppca/model.safetensors'), load('missing') and load('~/runs/ppca') all said
    'is not a folder': the first is a file of the folder to pass, the second does not exist,
    and Python does not expand '~' (the folder may well exist)."""
    folder = (
        PPCA(latent_dim=1)
        .fit(torch.randn(20, 3, dtype=torch.float64))
        .save_pretrained(tmp_path / "ppca")
    )
    for name in ("model.safetensors", "config.json"):
        with pytest.raises(RunDirectoryError, match=f"is a file of a model folder; pass {folder}$"):
            torchlvm.load(folder / name)
    with pytest.raises(RunDirectoryError, match="missing does not exist; pass a run folder"):
        torchlvm.load(tmp_path / "missing")
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(RunDirectoryError, match=r"expanduser\('~/ppca'\)"):
        torchlvm.load("~/ppca")


def test_a_path_inside_a_run_folder_names_the_run(tmp_path):
    """load('runs/vae/checkpoints/last.ckpt'), a Lightning checkpoint a researcher tries first,
    said 'is not a folder; pass a run folder written by torchlvm train', and load of the
    checkpoints folder 'config.json is missing', without naming the run folder they are in."""
    folder = PPCA(latent_dim=1).fit(torch.randn(20, 3, dtype=torch.float64))
    folder = folder.save_pretrained(tmp_path / "run")
    (folder / "checkpoints").mkdir()
    (folder / "checkpoints" / "last.ckpt").write_bytes(b"")
    for inside in ("checkpoints/last.ckpt", "checkpoints"):
        with pytest.raises(
            RunDirectoryError, match=rf"inside the model folder {folder}; pass {folder}$"
        ):
            torchlvm.load(folder / inside)
    assert isinstance(torchlvm.load(folder), PPCA)  # the fix it names


def test_the_table_example_in_loads_docstring_gives_log_p_in_the_files_units(tmp_path):
    """load's docstring shows how a table run's model reads rows (the commands standardize them,
    the model does not); its code, run as written, gives the density of the standardized rows,
    standardized here by scikit-learn's StandardScaler with the recorded statistics, less
    Σ log scale: log p(x) in the file's units."""
    import textwrap

    import numpy as np
    from sklearn.preprocessing import StandardScaler

    from torchlvm.cli import main
    from torchlvm.io import read_config

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 2)) @ rng.normal(size=(2, 4)) * [1, 10, 100, 0.1] + [0, 5, 50, 0]
    x = x + 0.05 * rng.normal(size=x.shape)
    lines = ["a,b,c,d", *(",".join(repr(float(v)) for v in row) for row in x)]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    folder = tmp_path / "run"
    argv = ["fit", "ppca", "--data", str(tmp_path / "t.csv"), "--latent-dim", "1"]
    assert main([*argv, "--out", str(folder)]) == 0
    model = torchlvm.load(folder)
    code = textwrap.dedent(torchlvm.load.__doc__.split("::\n", 1)[1].split("\n\n")[0])
    scope = {"folder": folder, "model": model, "x": torch.from_numpy(x)}
    exec(code, scope)  # the docstring's example, as a user would paste it
    recorded = read_config(folder)["data"]["table"]["standardize"]
    scaler = StandardScaler()
    scaler.mean_, scaler.scale_ = np.array(recorded["mean"]), np.array(recorded["scale"])
    standardized = model.log_marginal(torch.from_numpy(scaler.transform(x)))
    torch.testing.assert_close(scope["log_px"], standardized - np.log(scaler.scale_).sum())
    assert model.log_marginal(torch.from_numpy(x)).mean() < standardized.mean() - 100  # raw rows


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("vea", "vae"), ("Vae", "vae"), ("my run", "my runs")],
    ids=["swapped", "capitals", "space-quoted"],
)
def test_a_misspelt_model_folder_is_told_the_one_beside_it(tmp_path, typed, meant):
    """sample runs/vea said only 'does not exist; pass a run folder written by torchlvm train',
    with runs/vae beside it: the model folder nearest the name is offered first (a folder
    without config.json is not)."""
    model = PPCA(latent_dim=1).fit(torch.randn(20, 3, dtype=torch.float64))
    model.save_pretrained(tmp_path / meant)
    (tmp_path / "vaa").mkdir()  # (near the name, but holds no model)
    with pytest.raises(RunDirectoryError) as caught:
        torchlvm.load(tmp_path / typed)
    shown = f'"{tmp_path / meant}"' if " " in meant else str(tmp_path / meant)
    assert str(caught.value) == (
        f"{tmp_path / typed} does not exist; pass {shown} (the model folder nearest that name: a "
        "ppca (K=1)), or a run folder written by 'torchlvm train' or an export folder written by "
        "save_pretrained"
    )
    with pytest.raises(RunDirectoryError, match="does not exist; pass a run folder"):
        torchlvm.load(tmp_path / "zzz")


def test_the_folder_offered_for_a_misspelt_name_says_what_model_it_holds(tmp_path, capsys):
    """userC: `sample runs/intcat_cvae --condition 3` was offered runs/intcat, a PPCA, which
    --condition then refused: the offer says what the near run is, so its kind can be seen."""
    from torchlvm.cli import main

    near = tmp_path / "intcat"
    assert main(["fit", "ppca", "--data", "digits", "--latent-dim", "2", "--out", str(near)]) == 0
    capsys.readouterr()
    assert main(["sample", str(tmp_path / "intcat_cvae"), "--condition", "3"]) == 2
    err = capsys.readouterr().err
    assert (
        f"pass {near} (the model folder nearest that name: a ppca (K=2) trained on digits)" in err
    )
    (near / "config.json").write_text("{")  # (a damaged record: the offer as before)
    with pytest.raises(RunDirectoryError, match=r"\(the model folder nearest that name\), or"):
        torchlvm.load(tmp_path / "intcat_cvae")


def test_a_folder_of_runs_offers_the_runs_in_it(tmp_path):
    """`evaluate runs` (the folder of runs, not one run) said only 'no model in runs: config.json
    is missing; pass a run folder': the model folders in it are offered, with what each holds."""
    for name in ("b", "a", "c", "d", "e"):
        PPCA(latent_dim=1).fit(torch.randn(20, 3, dtype=torch.float64)).save_pretrained(
            tmp_path / name
        )
    (tmp_path / "a" / "config.json").write_text("{")  # damaged: offered, no kind said
    (tmp_path / "notes").mkdir()  # no model: not offered
    with pytest.raises(RunDirectoryError) as caught:
        torchlvm.load(tmp_path)
    assert str(caught.value) == (
        f"no model in {tmp_path}: config.json is missing; pass one of the model folders in it: "
        f"{tmp_path / 'a'}, {tmp_path / 'b'} (a ppca (K=1)), {tmp_path / 'c'} (a ppca (K=1)), "
        f"{tmp_path / 'd'} (a ppca (K=1)) and 1 more"
    )
    with pytest.raises(RunDirectoryError, match="missing; pass a run folder written by"):
        torchlvm.load(tmp_path / "notes")


def test_a_table_runs_ppca_loaded_knows_its_columns_and_its_commands_do_not_warn(tmp_path):
    """A PPCA that `fit` made from a table, loaded by torchlvm.load, had no feature names: a
    standardized frame of its columns reversed scored other numbers with only scikit-learn's
    warning that it "was fitted without feature names". It takes the run's feature columns
    (not its ID or label column; not a headerless file's places), refuses the reversed frame,
    reads an array by place without a word (as load's docstring gives it rows), and the
    commands on the run say nothing of names (impute of the file with its ID and label columns
    reads them by name, as before)."""
    import warnings

    import numpy as np
    import pandas as pd

    from torchlvm.cli import main
    from torchlvm.data.standardize import Standardizer
    from torchlvm.errors import DataError
    from torchlvm.io import read_config

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 2)) @ rng.normal(size=(2, 4)) * [1, 10, 100, 0.1] + [0, 5, 50, 0]
    frame = pd.DataFrame(x + 0.05 * rng.normal(size=x.shape), columns=list("abcd"))
    frame.insert(0, "id", [f"r{i}" for i in range(60)])
    frame["kind"] = ["p", "q"] * 30
    frame.to_csv(tmp_path / "t.csv", index=False)
    frame.iloc[:, 1:5].to_csv(tmp_path / "bare.csv", index=False, header=False)
    holed = frame.copy()
    holed.loc[3, "b"] = np.nan
    holed.to_csv(tmp_path / "holed.csv", index=False)
    argv = ["fit", "ppca", "--data", str(tmp_path / "t.csv"), "--latent-dim", "1"]
    assert (
        main(
            [*argv, "--drop-columns", "id", "--label-column", "kind", "--out", str(tmp_path / "r")]
        )
        == 0
    )
    model = torchlvm.load(tmp_path / "r")
    assert model.feature_names_in_.tolist() == list("abcd")
    units = Standardizer.from_dict(read_config(tmp_path / "r")["data"]["table"]["standardize"])
    rows = units.transform(torch.from_numpy(frame[list("abcd")].to_numpy())).numpy()
    standardized = pd.DataFrame(rows, columns=list("abcd"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        right = model.score(standardized)
        assert model.score(rows) == pytest.approx(right)  # an array: read by place, unwarned
    with pytest.raises(DataError, match="Feature names must be in the same order"):
        model.score(standardized[list("dcba")])
    argv = ["fit", "ppca", "--data", str(tmp_path / "bare.csv"), "--latent-dim", "1"]
    assert main([*argv, "--out", str(tmp_path / "bare")]) == 0
    assert not hasattr(torchlvm.load(tmp_path / "bare"), "feature_names_in_")
    run, out = str(tmp_path / "r"), str(tmp_path / "out.csv")
    commands = [
        ["score", run, "--data", str(tmp_path / "t.csv"), "--out", out],
        ["impute", run, "--data", str(tmp_path / "holed.csv"), "--out", out],
        ["encode", run, "--out", out],
        ["reconstruct", run, "--out", out],
        ["sample", run, "--n", "3", "--out", out],
    ]
    for command in commands:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert main([*command, "--overwrite"]) == 0, command
        assert not [w for w in caught if "feature names" in str(w.message)], command
