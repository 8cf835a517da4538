"""fit() end to end on small data: bounds improve, run folders load, resume continues exactly,
a linear-Gaussian VAE reaches the exact PPCA likelihood, a CVAE draws the class it is asked for.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch

import torchlvm.io
from torchlvm.data import load_dataset
from torchlvm.errors import ConfigError, DataError, OptionError, RunDirectoryError
from torchlvm.inference import elbo, log_marginal_is
from torchlvm.models.autoencoder import Autoencoder, AutoencoderConfig
from torchlvm.models.cvae import CVAE, CVAEConfig
from torchlvm.models.ppca import PPCA
from torchlvm.models.vae import VAE, VAEConfig
from torchlvm.training import FitResult, LVMDataModule, TrainConfig, fit
from torchlvm.training.checkpoint_io import AtomicCheckpointIO
from torchlvm.training.metrics_csv import read_metrics

SMALL = {"latent_dim": 4, "hidden": (64,)}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny models train fastest on one thread (and CI machines are shared)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _digits_run(kind: str, out: Path, epochs: int) -> tuple[torch.nn.Module, FitResult]:
    L.seed_everything(0)
    if kind == "vae":
        model: torch.nn.Module = VAE(VAEConfig(64, **SMALL))
        dm = LVMDataModule("digits", binarize="dynamic", batch_size=64)
        config = TrainConfig(max_epochs=epochs, lr=5e-3, batch_size=64)
    elif kind == "cvae":
        model = CVAE(CVAEConfig(64, condition_dim=10, num_classes=10, latent_dim=4, hidden=(128,)))
        dm = LVMDataModule("digits", binarize="dynamic", batch_size=64, condition="label")
        config = TrainConfig(max_epochs=epochs, lr=5e-3, batch_size=64)
    else:
        model = Autoencoder(AutoencoderConfig(64, **SMALL))
        dm = LVMDataModule("digits", batch_size=64)
        config = TrainConfig(objective="reconstruction", max_epochs=epochs, lr=5e-3, batch_size=64)
    return model, fit(model, dm, config, out, progress=False)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple]:
    root = tmp_path_factory.mktemp("runs")
    return {
        kind: (root / kind, *_digits_run(kind, root / kind, epochs))
        for kind, epochs in (("vae", 4), ("cvae", 6), ("ae", 4))
    }


@pytest.mark.parametrize("kind", ["vae", "cvae", "ae"])
def test_validation_bound_improves_on_digits(runs: dict, kind: str) -> None:
    out, _, result = runs[kind]
    rows = read_metrics(out / "metrics.csv")
    assert [r["epoch"] for r in rows] == list(range(result.epochs))
    if kind == "ae":
        first, last = rows[0]["val/reconstruction"], rows[-1]["val/reconstruction"]
        assert last < 0.8 * first
    else:
        first, last = rows[0]["val/elbo"], rows[-1]["val/elbo"]
        assert last > first + 3.0  # nats per image
        assert {"train/loss", "train/elbo", "train/log_lik", "train/kl", "val/kl"} <= set(rows[0])
        assert rows[-1]["val/elbo"] == pytest.approx(rows[-1]["val/log_lik"] - rows[-1]["val/kl"])


@pytest.mark.parametrize("kind", ["vae", "cvae", "ae"])
def test_run_folder_loads_and_records_the_run(runs: dict, kind: str) -> None:
    out, model, result = runs[kind]
    names = {p.name for p in out.iterdir()}
    assert {"config.json", "model.safetensors", "metrics.csv", "checkpoints"} <= names
    assert (out / "checkpoints" / "last.ckpt").is_file()
    record = json.loads((out / "config.json").read_text())
    assert record["model_type"] == kind
    assert record["training"]["max_epochs"] == result.epochs
    assert record["data"]["name"] == "digits" and record["data"]["shape"] == [1, 8, 8]
    assert record["result"]["best_epoch"] == result.best_epoch
    assert record["result"]["units"] == "nats per example"
    loaded = torchlvm.io.load(out)
    for name, value in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[name], value)
    if kind == "ae":
        assert bool(loaded.is_code_distribution_fitted)


@pytest.mark.parametrize(
    ("datamodule", "config", "message"),
    [
        ("digits", TrainConfig(), r"takes an LVMDataModule where it got str 'digits'; .*\("),
        (None, {"max_epochs": 1}, r"takes a TrainConfig where it got dict .*TrainConfig\("),
    ],
)
def test_fit_names_a_datamodule_or_config_of_the_wrong_type(
    tmp_path: Path, datamodule, config, message: str
) -> None:
    datamodule = LVMDataModule("digits") if datamodule is None else datamodule
    with pytest.raises(ConfigError, match=message):
        fit(VAE(VAEConfig(64, latent_dim=2)), datamodule, config, tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_existing_run_is_refused(runs: dict) -> None:
    out, model, _ = runs["vae"]
    with pytest.raises(RunDirectoryError, match="already holds a run"):
        fit(model, LVMDataModule("digits", binarize="dynamic"), TrainConfig(), out)
    with pytest.raises(RunDirectoryError, match=r"cannot resume: .* train anew into another "):
        fit(model, LVMDataModule("digits"), TrainConfig(), out.parent / "nothing", resume=True)


def test_cvae_samples_are_recognised_as_their_class(runs: dict) -> None:
    from sklearn.linear_model import LogisticRegression

    _, model, _ = runs["cvae"]
    train = load_dataset("digits", "train")
    classifier = LogisticRegression(max_iter=2000).fit(train.x.numpy(), train.y.numpy())
    labels = torch.arange(10).repeat_interleave(30)
    samples = model.sample(300, model.condition_from_labels(labels), generator=torch.Generator())
    accuracy = float(np.mean(classifier.predict(samples.numpy()) == labels.numpy()))
    assert accuracy >= 0.8, f"class accuracy of conditional samples {accuracy:.2f}"


def test_resume_continues_exactly_where_it_stopped(tmp_path: Path) -> None:
    def run(out: Path, epochs: int, resume: bool = False) -> tuple[torch.nn.Module, FitResult]:
        L.seed_everything(0)
        model = VAE(VAEConfig(64, **SMALL))
        dm = LVMDataModule("digits", binarize="dynamic", batch_size=128)
        config = TrainConfig(max_epochs=epochs, deterministic=True)
        return model, fit(model, dm, config, out, progress=False, resume=resume)

    straight, full = run(tmp_path / "straight", 4)
    run(tmp_path / "split", 2)
    resumed, part = run(tmp_path / "split", 4, resume=True)
    assert (part.start_epoch, part.epochs) == (2, 4)
    rows = read_metrics(tmp_path / "split" / "metrics.csv")
    assert [r["epoch"] for r in rows] == [0, 1, 2, 3]
    for a, b in zip(rows, read_metrics(tmp_path / "straight" / "metrics.csv"), strict=True):
        assert a.keys() == b.keys()
        for key in a:
            assert a[key] == pytest.approx(b[key], rel=1e-5, abs=1e-5), key
    for name, value in straight.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[name], value, rtol=1e-5, atol=1e-6)
    with pytest.raises(ConfigError, match="has finished its 4 epochs"):
        run(tmp_path / "split", 4, resume=True)


def test_a_resume_takes_the_patience_it_is_given(tmp_path: Path) -> None:
    """Lightning's early stopping restored the checkpoint's patience with its counters, so a run
    stopped at patience 1 and resumed with patience 100 stopped again one epoch later while its
    config recorded 100 (userJ #15). At a learning rate too small to move a weight, no epoch
    improves: patience 1 stops after epoch 1; resumed with 100, the run goes on to its 4."""

    def run(patience: int, epochs: int, resume: bool = False) -> FitResult:
        L.seed_everything(0)
        model = VAE(VAEConfig(64, **SMALL))
        dm = LVMDataModule("digits", binarize="dynamic", batch_size=512)
        config = TrainConfig(max_epochs=epochs, lr=1e-30, patience=patience)
        return fit(model, dm, config, tmp_path / "run", progress=False, resume=resume)

    first = run(1, 4)
    assert first.stopped_early and first.epochs == 2
    again = run(100, 4, resume=True)
    assert (again.start_epoch, again.epochs, again.stopped_early) == (2, 4, False)


class _SpoilOnce(L.Callback):
    """At the start of epoch 1, scale the decoder's output layer by 20: the validation bound drops
    far below epoch 0's and a few epochs of training at lr 1e-3 cannot bring it back, so the
    best epoch (0) is not the last."""

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch == 1:
            with torch.no_grad():
                last_linear = [
                    m for m in pl_module.model.modules() if isinstance(m, torch.nn.Linear)
                ]
                last_linear[-1].weight.mul_(20.0)


def _spoiled_run(
    out: Path, epochs: int, *, resume: bool = False, more: tuple[L.Callback, ...] = ()
) -> FitResult:
    L.seed_everything(0)
    model = VAE(VAEConfig(64, **SMALL))
    dm = LVMDataModule("digits", binarize="dynamic", batch_size=128)
    config = TrainConfig(max_epochs=epochs, deterministic=True)
    callbacks = [_SpoilOnce(), *more]
    return fit(model, dm, config, out, progress=False, resume=resume, extra_callbacks=callbacks)


def _ckpt(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def test_last_checkpoint_is_the_last_epoch_when_the_best_is_earlier(tmp_path: Path) -> None:
    """Lightning writes last.ckpt only beside a new best checkpoint; a run whose best epoch is 0
    must still resume from its last epoch, and the resumed run is the uninterrupted one."""
    straight = _spoiled_run(tmp_path / "straight", 4)
    assert straight.best_epoch == 0, "the premise: the best epoch is not the last"
    assert _ckpt(tmp_path / "straight" / "checkpoints" / "last.ckpt")["epoch"] == 3

    first = _spoiled_run(tmp_path / "split", 2)
    assert first.best_epoch == 0
    assert _ckpt(tmp_path / "split" / "checkpoints" / "last.ckpt")["epoch"] == 1
    part = _spoiled_run(tmp_path / "split", 4, resume=True)
    assert (part.start_epoch, part.epochs, part.best_epoch) == (2, 4, 0)
    a = _ckpt(tmp_path / "straight" / "checkpoints" / "last.ckpt")
    b = _ckpt(tmp_path / "split" / "checkpoints" / "last.ckpt")
    assert a["epoch"] == b["epoch"] == 3
    for name, value in a["state_dict"].items():
        torch.testing.assert_close(b["state_dict"][name], value, rtol=1e-5, atol=1e-6)
    rows = read_metrics(tmp_path / "split" / "metrics.csv")
    assert [r["epoch"] for r in rows] == [0, 1, 2, 3]
    straight_rows = read_metrics(tmp_path / "straight" / "metrics.csv")
    assert [r["val/elbo"] for r in rows] == pytest.approx([r["val/elbo"] for r in straight_rows])


class _CtrlC(L.Callback):
    """Raise KeyboardInterrupt (what Ctrl-C raises) after the first training batch (8 of the 10
    steps) of the given epoch."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_train_batch_end(self, trainer: L.Trainer, *args) -> None:
        if trainer.current_epoch == self.epoch and args[-1] == 0:  # batch_idx
            raise KeyboardInterrupt


def test_ctrl_c_mid_epoch_keeps_the_finished_epochs_resumable(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        _spoiled_run(tmp_path, 5, more=(_CtrlC(epoch=3),))
    assert _ckpt(tmp_path / "checkpoints" / "last.ckpt")["epoch"] == 2  # best is epoch 0
    assert not (tmp_path / "model.safetensors").exists()
    assert _spoiled_run(tmp_path, 5, resume=True).start_epoch == 3


class _CtrlCAfterValidation(L.Callback):
    """Raise KeyboardInterrupt once epoch ``epoch`` is validated, before its checkpoints (Lightning
    runs checkpoint callbacks last): metrics.csv then holds a row past ``last.ckpt``."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch == self.epoch and not trainer.sanity_checking:
            raise KeyboardInterrupt


def test_an_interrupted_run_is_finished_where_it_stopped(tmp_path: Path) -> None:
    """Resumed with max_epochs at the epochs it finished, an interrupted run trains nothing and
    publishes its best epoch (0 here, not the last), as the end of training does; the row of the
    epoch cut short before its checkpoint is dropped from metrics.csv."""
    with pytest.raises(KeyboardInterrupt):
        _spoiled_run(tmp_path, 6, more=(_CtrlCAfterValidation(epoch=3),))
    assert _ckpt(tmp_path / "checkpoints" / "last.ckpt")["epoch"] == 2
    assert [r["epoch"] for r in read_metrics(tmp_path / "metrics.csv")] == [0, 1, 2, 3]
    with pytest.raises(OptionError, match="after 3 epochs, more than the 2 that max_epochs asks"):
        _spoiled_run(tmp_path, 2, resume=True)
    assert not (tmp_path / "config.json").exists()

    result = _spoiled_run(tmp_path, 3, resume=True)
    assert (result.start_epoch, result.epochs, result.best_epoch) == (3, 3, 0)
    best = _ckpt(tmp_path / "checkpoints" / "best-epoch001.ckpt")["state_dict"]
    model = torchlvm.io.load(tmp_path)
    for name, value in model.state_dict().items():
        torch.testing.assert_close(value, best[f"model.{name}"], rtol=0, atol=0)
    rows = read_metrics(tmp_path / "metrics.csv")
    assert [r["epoch"] for r in rows] == [0, 1, 2]
    record = json.loads((tmp_path / "config.json").read_text())
    assert record["result"]["best_epoch"] == 0 and record["result"]["epochs"] == 3
    assert record["result"]["best_value"] == pytest.approx(rows[0]["val/elbo"])
    assert _ckpt(tmp_path / "checkpoints" / "last.ckpt")["epoch"] == 2  # nothing trained
    with pytest.raises(OptionError, match="has finished its 3 epochs and max_epochs is 3"):
        _spoiled_run(tmp_path, 3, resume=True)
    # resumed again and interrupted: the folder's model (3 epochs) is not where it stopped (4)
    with pytest.raises(KeyboardInterrupt):
        _spoiled_run(tmp_path, 6, resume=True, more=(_CtrlCAfterValidation(epoch=4),))
    assert _spoiled_run(tmp_path, 4, resume=True).start_epoch == 4
    assert json.loads((tmp_path / "config.json").read_text())["result"]["epochs"] == 4


class _CtrlCAtEpochEnd(L.Callback):
    """Raise KeyboardInterrupt at the end of training epoch ``epoch``: after its validation and
    its checkpoints, before Lightning hands the training epoch's values to the loggers (a
    callback's on_train_epoch_end runs before the module's, and the loggers come after both)."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch == self.epoch:
            raise KeyboardInterrupt


def test_ctrl_c_at_an_epochs_end_leaves_its_metrics_row_whole(tmp_path: Path) -> None:
    """last.ckpt holds epoch 1 when the interrupt lands, so its row of metrics.csv must hold the
    epoch's train/ columns too (a resume never trains that epoch again): the rows of the
    interrupted and resumed run are those of the uninterrupted one."""
    _spoiled_run(tmp_path / "straight", 3)
    straight = read_metrics(tmp_path / "straight" / "metrics.csv")
    with pytest.raises(KeyboardInterrupt):
        _spoiled_run(tmp_path / "split", 3, more=(_CtrlCAtEpochEnd(epoch=1),))
    assert _ckpt(tmp_path / "split" / "checkpoints" / "last.ckpt")["epoch"] == 1
    interrupted = read_metrics(tmp_path / "split" / "metrics.csv")
    assert [sorted(r) for r in interrupted] == [sorted(r) for r in straight[:2]]
    assert _spoiled_run(tmp_path / "split", 3, resume=True).start_epoch == 2
    rows = read_metrics(tmp_path / "split" / "metrics.csv")
    assert [sorted(r) for r in rows] == [sorted(r) for r in straight]
    for a, b in zip(rows, straight, strict=True):
        for key in a:
            assert a[key] == pytest.approx(b[key], rel=1e-5, abs=1e-5), key


def test_an_epoch_without_validation_still_logs_its_training_means(tmp_path: Path) -> None:
    """The training means go out with the validation's values; an epoch that is not validated
    logs them at its end, as before."""
    from torchlvm.training import LVMModule
    from torchlvm.training.metrics_csv import EpochCSVLogger

    L.seed_everything(0)
    module = LVMModule(VAE(VAEConfig(64, **SMALL)), TrainConfig(max_epochs=2, batch_size=128))
    dm = LVMDataModule("digits", binarize="dynamic", batch_size=128)
    trainer = L.Trainer(
        max_epochs=2, limit_val_batches=0, logger=EpochCSVLogger(tmp_path),
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
    )  # fmt: skip
    trainer.fit(module, datamodule=dm)
    rows = read_metrics(tmp_path / "metrics.csv")
    assert [r["epoch"] for r in rows] == [0, 1]
    assert all({"train/loss", "train/elbo"} <= r.keys() and "val/elbo" not in r for r in rows)


def test_ctrl_c_during_an_epochs_saves_still_writes_its_last_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The interrupt lands while the best checkpoint of epoch 0 is written: the epoch's work is
    done, so last.ckpt is written on the way out."""
    save = AtomicCheckpointIO.save_checkpoint

    def interrupted_best(self, checkpoint, path, storage_options=None):
        if Path(path).name.startswith("best-"):
            raise KeyboardInterrupt
        return save(self, checkpoint, path, storage_options)

    monkeypatch.setattr(AtomicCheckpointIO, "save_checkpoint", interrupted_best)
    with pytest.raises(KeyboardInterrupt):
        _spoiled_run(tmp_path, 3)
    assert _ckpt(tmp_path / "checkpoints" / "last.ckpt")["epoch"] == 0
    monkeypatch.setattr(AtomicCheckpointIO, "save_checkpoint", save)
    assert _spoiled_run(tmp_path, 3, resume=True).start_epoch == 1


def test_linear_gaussian_vae_reaches_the_exact_ppca_likelihood(tmp_path: Path) -> None:
    """A VAE with a linear decoder and learned scalar σ is the PPCA model with an amortized q;
    its optimum is PPCA's maximum-likelihood fit and there the ELBO is tight (the exact posterior
    has a diagonal covariance in the ML rotation), so on held-out data both its ELBO and its
    importance-sampled log p(x) come close to the exact PPCA log-likelihood."""
    L.seed_everything(0)
    config = VAEConfig(
        20, latent_dim=3, hidden=(32,), likelihood="gaussian", variance="scalar",
        linear_decoder=True,
    )  # fmt: skip
    model = VAE(config)
    dm = LVMDataModule("linear-gaussian", batch_size=64)
    fit(model, dm, TrainConfig(max_epochs=30, lr=1e-2, batch_size=64), tmp_path, progress=False)
    train, test = load_dataset("linear-gaussian", "train"), load_dataset("linear-gaussian", "test")
    exact = PPCA(latent_dim=3).fit(train.x).score(test.x)  # nats per example, D = 20
    torch.manual_seed(0)
    with torch.no_grad():
        bound = elbo(model, test.x, num_samples=50).elbo.mean().item()
        estimate = log_marginal_is(model, test.x, num_samples=500).mean.mean().item()
    dim = test.dim
    assert (exact - bound) / dim < 0.05, f"ELBO {bound:.3f} vs exact {exact:.3f} nats"
    assert abs(exact - estimate) / dim < 0.03, f"IS {estimate:.3f} vs exact {exact:.3f} nats"


@pytest.mark.parametrize(
    ("options", "logged"),
    [
        ({"objective": "iwae", "k": 3}, {"train/iwae", "val/iwae_3", "val/elbo"}),
        ({"beta": 2.0, "warmup_epochs": 2}, {"train/kl_weight", "val/elbo"}),
        ({"free_bits": 0.5}, {"train/loss", "val/elbo"}),
        ({"gradient_clip": 1.0, "patience": 1}, {"val/elbo"}),
    ],
    ids=["iwae", "warmup", "free-bits", "clip-patience"],
)
def test_objective_options_train_and_log(tmp_path: Path, options: dict, logged: set) -> None:
    L.seed_everything(0)
    model = VAE(VAEConfig(64, **SMALL))
    dm = LVMDataModule("digits", binarize="dynamic", batch_size=128)
    result = fit(model, dm, TrainConfig(max_epochs=2, **options), tmp_path, progress=False)
    rows = read_metrics(tmp_path / "metrics.csv")
    assert logged <= set(rows[-1]) and result.epochs == 2
    if "k" in options:
        assert rows[-1]["val/iwae_3"] > rows[-1]["val/elbo"]  # L_3 ≥ L_1, with margin here
        assert result.monitor == "val/iwae_3"
    if "warmup_epochs" in options:
        assert [r["train/kl_weight"] for r in rows] == [1.0, 2.0]  # β·min(1, epochs done / 2)


def _tiny_run(out: Path, epochs: int, *, resume: bool = False) -> FitResult:
    L.seed_everything(0)
    model = VAE(VAEConfig(64, latent_dim=2, hidden=(8,)))
    dm = LVMDataModule("digits", binarize="dynamic", batch_size=256)
    config = TrainConfig(max_epochs=epochs, batch_size=256)
    return fit(model, dm, config, out, progress=False, resume=resume)


def test_a_resume_is_refused_while_another_process_holds_the_run(tmp_path: Path) -> None:
    """fit(..., resume=True) took no lock: it trained a run that a live `torchlvm train --resume`
    (or another fit) was training, both writing its checkpoints and model."""
    import subprocess
    import sys

    from torchlvm.errors import RunBusyError

    out = tmp_path / "run"
    _tiny_run(out, 1)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from torchlvm.run.lock import acquire; "
         "lock = acquire(sys.argv[1], 'torchlvm train vae --resume'); print('held', flush=True); "
         "sys.stdin.read()", str(out)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline() == "held\n"
        with pytest.raises(RunBusyError, match=rf"{out} is being trained by pid {holder.pid}"):
            _tiny_run(out, 2, resume=True)
    finally:
        holder.communicate("")
    assert _tiny_run(out, 2, resume=True).start_epoch == 1
    assert not (out / ".torchlvm.lock").exists()


def test_a_resume_finishes_a_killed_publish_before_it_reads_the_run(tmp_path: Path) -> None:
    """A kill between the renames of model.safetensors and config.json left the new model beside
    the old config (1 epoch): fit(resume=True) read that config and trained a finished run again,
    where it must finish the commit first and find the run finished at 2 epochs."""
    from torchlvm.run.commit import JOURNAL_NAME, staging_name

    out = tmp_path / "run"
    _tiny_run(out, 1)
    old = (out / "config.json").read_text()
    _tiny_run(out, 2, resume=True)
    (out / "config.json").rename(staging_name(out / "config.json"))  # the new one, not renamed
    (out / "config.json").write_text(old)
    (out / JOURNAL_NAME).write_text('{"moves": [[".config.json.torchlvm-new", "config.json"]]}')
    with pytest.raises(ConfigError, match="has finished its 2 epochs"):
        _tiny_run(out, 2, resume=True)
    assert json.loads((out / "config.json").read_text())["result"]["epochs"] == 2
    assert not (out / JOURNAL_NAME).exists()


def test_a_new_run_under_an_unexpanded_tilde_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """fit(..., "~/runs/vae") made a folder named '~' in the current folder (Python does not
    expand '~'), which a later 'rm -rf ~' in a shell reads as the home folder."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RunDirectoryError, match=r"expanduser\('~/runs/vae'\)"):
        _tiny_run(Path("~/runs/vae"), 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_new_run_is_locked_while_it_trains_and_left_unlocked(tmp_path: Path) -> None:
    """fit(..., resume=False) into a new folder took no lock: while it trained, a reader saw
    checkpoints without config.json, called the run interrupted and offered `train --resume`,
    which would have trained the folder twice at once. The folder is locked meanwhile (a
    reader is told who trains it), and unlocked after."""
    from torchlvm.errors import RunBusyError
    from torchlvm.run.lock import acquire

    out = tmp_path / "new" / "run"
    seen = []

    class Look(L.Callback):
        def on_train_epoch_start(self, trainer, module):
            text = (out / ".torchlvm.lock").read_text()
            seen.append("torchlvm.training.fit" in text)
            with pytest.raises(RunBusyError, match=rf"{out} is being trained by pid"):
                acquire(out, "torchlvm evaluate", what=str(out))

    L.seed_everything(0)
    model = VAE(VAEConfig(64, latent_dim=2, hidden=(8,)))
    dm = LVMDataModule("digits", binarize="dynamic", batch_size=256)
    fit(model, dm, TrainConfig(max_epochs=1, batch_size=256), out, progress=False,
        extra_callbacks=[Look()])  # fmt: skip
    assert seen == [True]
    assert not (out / ".torchlvm.lock").exists()
    assert (out / "config.json").is_file()


def test_a_new_run_that_fails_before_training_leaves_no_folder(tmp_path: Path) -> None:
    out = tmp_path / "run"
    model = VAE(VAEConfig(10, latent_dim=2, hidden=(8,)))  # digits have 64 features
    dm = LVMDataModule("digits", binarize="dynamic", batch_size=256)
    with pytest.raises(DataError, match="build the model with input_dim=64"):
        fit(model, dm, TrainConfig(max_epochs=1, batch_size=256), out, progress=False)
    assert not out.exists()


def test_fit_inside_no_grad_leaves_gradients_off(tmp_path: Path) -> None:
    """Lightning's fit loop switches gradients on and leaves them on: fit trains with them on
    and gives the caller's mode back."""
    with torch.no_grad():
        result = _tiny_run(tmp_path / "run", 1)
        assert not torch.is_grad_enabled()
    assert result.epochs == 1
    with torch.enable_grad():
        _tiny_run(tmp_path / "again", 1)
        assert torch.is_grad_enabled()


def test_the_progress_bar_shows_a_bound_with_its_decimals() -> None:
    """userS #8: `train --progress` showed 'val/iwae_5=-255.' (Lightning's 3 significant
    digits, padded): no digit after the point of a number in nats."""
    from torchlvm.training.lightning_setup import _Bar

    bar = _Bar(total=3, disable=False, file=io.StringIO())
    bar.set_postfix({"val/iwae_5": -255.3612, "train/loss": 0.0012345})
    bar.close()
    assert bar.postfix == "val/iwae_5=-255.36, train/loss=0.0012345"


@pytest.mark.parametrize("steps_per_batch", [32, 5, 1], ids=["32-a-batch", "5-last-short", "1"])
def test_the_progress_bar_counts_optimizer_steps(tmp_path, capsys, steps_per_batch) -> None:
    """userS #8: the training bar counted Lightning batches, each up to 32 optimizer steps of
    resident data, as 'it': '3/3 [..., 1.2it/s]' for an epoch of 79 steps. It counts the steps
    metrics.csv counts, a rate in steps a second; the last batch's fewer steps end it at 79/79."""
    import re

    L.seed_everything(0)
    model = VAE(VAEConfig(64, latent_dim=2, hidden=(8,)))
    dm = LVMDataModule("digits", binarize="dynamic", batch_size=16)
    config = TrainConfig(max_epochs=1, batch_size=16)
    fit(model, dm, config, tmp_path / "run", progress=True, steps_per_batch=steps_per_batch)
    err = capsys.readouterr().err
    steps = read_metrics(tmp_path / "run" / "metrics.csv")[0]["step"] + 1
    assert steps == 79  # ceil(1258 training rows / 16)
    counts = re.findall(r"Epoch 0: +\d+%\|[^|]*\| (\d+)/(\d+) \[[^,]*, [\d.?]+ steps/s", err)
    assert counts and {total for _, total in counts} == {str(steps)}
    assert counts[-1][0] == str(steps)
    assert "it/s" not in err


def _users_checkpoint(path: Path) -> bytes:
    """Put a checkpoint of the user's own training (no 'torchlvm' entry) at ``path``."""
    torch.save({"state_dict": {"layer.weight": torch.zeros(3)}, "epoch": 9}, path)
    return path.read_bytes()


def _swapping_run(out: Path, epochs: int, *extra: L.Callback, resume: bool = False) -> FitResult:
    L.seed_everything(0)
    model = VAE(VAEConfig(64, **SMALL))
    dm = LVMDataModule("digits", binarize="dynamic", batch_size=64)
    config = TrainConfig(max_epochs=epochs, lr=5e-3, batch_size=64)
    return fit(model, dm, config, out, progress=False, resume=resume, extra_callbacks=extra)


def test_training_keeps_a_users_file_swapped_in_under_the_best_name(tmp_path: Path) -> None:
    """Lightning removes the best checkpoint it recorded when a better epoch is saved, whatever
    the file at that path is now: a user's own checkpoint put in place of best-epoch002.ckpt was
    deleted when epoch 3 was better. A file torchlvm did not write (by content, as --overwrite
    judges) is kept; torchlvm's own previous best is removed as before."""
    checkpoints, kept = tmp_path / "run" / "checkpoints", []

    class Swap(L.Callback):
        def on_train_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
            if trainer.current_epoch == 2:
                kept.append(_users_checkpoint(checkpoints / "best-epoch002.ckpt"))

    assert _swapping_run(tmp_path / "run", 4, Swap()).best_epoch == 3
    assert (checkpoints / "best-epoch002.ckpt").read_bytes() == kept[0]
    names = sorted(p.name for p in checkpoints.glob("best-*"))
    assert names == ["best-epoch002.ckpt", "best-epoch004.ckpt"]  # (003: removed, torchlvm's)


def test_a_resume_refuses_a_users_file_under_the_best_name(tmp_path: Path) -> None:
    """A resume publishes the recorded best epoch's checkpoint where no later epoch is better:
    a user's own file swapped in under best-epoch002.ckpt ended it in a traceback (missing
    keys), after training. The resume is refused first, naming the file, which stays; moved
    out, the resume goes on."""
    out, mine = tmp_path / "run", tmp_path / "run" / "checkpoints" / "best-epoch002.ckpt"
    assert _swapping_run(out, 2).best_epoch == 1
    kept = _users_checkpoint(mine)
    with pytest.raises(DataError, match=r"best-epoch002\.ckpt is not a checkpoint torchlvm wrote"):
        _swapping_run(out, 4, resume=True)
    assert mine.read_bytes() == kept and len(read_metrics(out / "metrics.csv")) == 2
    mine.rename(tmp_path / "mine.ckpt")
    assert _swapping_run(out, 3, resume=True).epochs == 3


def test_a_resume_whose_best_checkpoint_is_gone_says_what_it_saved(tmp_path: Path) -> None:
    """review16 R8: with the best epoch's checkpoint moved out (as the refusal above offers) and
    no resumed epoch better than it, the resume saved the last epoch's weights without a word:
    no 'saved weights' line, best_epoch null. It says so."""
    out = tmp_path / "run"
    assert _swapping_run(out, 2).best_epoch == 1
    last = out / "checkpoints" / "last.ckpt"
    checkpoint = torch.load(last, weights_only=True)
    for state in checkpoint["callbacks"].values():  # (a best no resumed epoch reaches)
        if "best_model_path" in state:
            state["best_model_score"] = state["kth_value"] = torch.tensor(1e9)
            state["best_k_models"] = {p: torch.tensor(1e9) for p in state["best_k_models"]}
    torch.save(checkpoint, last)
    (out / "checkpoints" / "best-epoch002.ckpt").rename(tmp_path / "moved.ckpt")
    gone = (
        r"best-epoch002\.ckpt, the checkpoint of the run's best epoch before this resume, is gone"
    )
    with pytest.warns(UserWarning, match=rf"{gone}.* the last epoch's \(epoch 3\), not the best"):
        assert _swapping_run(out, 3, resume=True).best_epoch is None


def test_a_resume_removes_the_temporary_file_of_a_killed_checkpoint_save(tmp_path: Path) -> None:
    """userV #3: a training killed while it saved last.ckpt (SIGKILL, SIGHUP, a preemption)
    left a checkpoint-sized .last.ckpt.pPID@HOST.RANDOM.tmp that every resume kept, into the
    finished run. The resume removes it (this host's, its writer dead, its flock free)."""
    import signal
    import subprocess
    import sys

    import torchlvm._files as files

    if not files.FLOCKS:
        pytest.skip("no flock: such a file is named, not removed")
    out = tmp_path / "run"
    _swapping_run(out, 1)
    killed = (
        "import os, signal, sys; from torchlvm._files import atomic_path\n"
        "with atomic_path(sys.argv[1]) as tmp:\n"
        "    tmp.write_bytes(b'half a checkpoint'); os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    last = out / "checkpoints" / "last.ckpt"
    done = subprocess.run([sys.executable, "-c", killed, str(last)], capture_output=True)
    assert done.returncode == -signal.SIGKILL
    assert len(list(last.parent.glob(".last.ckpt.*.tmp"))) == 1
    assert _swapping_run(out, 2, resume=True).epochs == 2
    assert list(last.parent.glob(".*.tmp")) == []


def test_a_resume_through_a_link_flipped_mid_training_writes_the_run_it_read(
    tmp_path: Path,
) -> None:
    """userV #5: 'train --resume --out runs/cur' while a deploy flipped the link to run B: B's
    metrics.csv (and, before 544ee9e, its model and config) were replaced by A's epochs. The
    link is resolved once: A is resumed and published, B is left as it was."""
    import hashlib

    a, b, current = tmp_path / "A", tmp_path / "B", tmp_path / "cur"
    _swapping_run(a, 1)
    _swapping_run(b, 1)
    current.symlink_to(a)

    def digests(folder: Path) -> dict[str, str]:
        files = (p for p in folder.rglob("*") if p.is_file())
        return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}

    class Flip(L.Callback):
        def on_train_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
            if trainer.current_epoch == 1:
                current.unlink()
                current.symlink_to(b)  # (the deploy's flip)

    before = digests(b)
    assert _swapping_run(current, 3, Flip(), resume=True).epochs == 3
    assert digests(b) == before
    assert [r["epoch"] for r in read_metrics(a / "metrics.csv")] == [0, 1, 2]


def test_a_progress_of_another_word_is_named(tmp_path) -> None:
    """review17 R2: progress="line" (for "lines") raised Lightning's MisconfigurationException
    about enable_progress_bar and a StderrProgressBar, neither the caller's words."""
    model = VAE(VAEConfig(64, latent_dim=2, hidden=(8,)))
    dm = LVMDataModule("digits", binarize="dynamic")
    with pytest.raises(ConfigError, match='progress must be True, False or "lines", got .line.'):
        fit(model, dm, TrainConfig(max_epochs=1), tmp_path / "run", progress="line")
    assert not (tmp_path / "run").exists()
