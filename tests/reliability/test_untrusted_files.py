"""Files are data, not code.

- No code path in ``src/`` can unpickle: every ``torch.load`` passes ``weights_only=True``,
  ``numpy.load`` passes ``allow_pickle=False``, and nothing calls ``pickle``/``dill``/``joblib``
  loaders (a static scan of the source).
- A malicious pickle (one whose ``__reduce__`` creates a marker file when unpickled) placed as
  ``checkpoints/last.ckpt``, as ``model.safetensors`` or as a ``.npy`` data file is refused with a
  clear one-line error, and the marker file is never created.
- A loaded ``config.json`` is validated before anything is allocated: unknown keys, wrong types
  and absurd sizes are a clear error within a tight time bound, and a config whose sizes are each
  allowed but whose layers would need gigabytes is refused under a 3 GB address-space limit.
"""

from __future__ import annotations

import ast
import json
import pickle
import resource
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
from _reliability import cli_env, error_line, folder_digest, patience

import torchlvm
from torchlvm.cli import main
from torchlvm.errors import ConfigError, DataError, TorchLVMError
from torchlvm.models.autoencoder import Autoencoder, AutoencoderConfig
from torchlvm.models.config import config_from_dict
from torchlvm.models.cvae import CVAE, CVAEConfig
from torchlvm.models.vae import VAE, VAEConfig
from torchlvm.training import LVMDataModule, TrainConfig, fit
from torchlvm.training.checkpoint_io import read_checkpoint

SRC = Path(torchlvm.__file__).parent

# torch notes that a bare pickle uses another protocol than its own files; expected here
pytestmark = pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")

# -- static scan ---------------------------------------------------------------------------------

_PICKLE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "joblib", "cloudpickle", "shelve"}
_LOADERS = {"load", "loads", "Unpickler", "open"}  # the names in those modules that unpickle


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return "?"


def _keyword(call: ast.Call, name: str) -> ast.AST | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _is_constant(node: ast.AST | None, value: object) -> bool:
    return isinstance(node, ast.Constant) and node.value is value


def unsafe_loads(source: str, filename: str) -> list[str]:
    """Calls (and imports) in ``source`` that could unpickle data from a file."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.ImportFrom):
            module = (node.module or "").split(".")[0]
            loaders = [a.name for a in node.names if a.name in _LOADERS or a.name == "*"]
            if loaders and (module in _PICKLE_MODULES or module == "torch"):
                found.append(f"{filename}:{node.lineno}: imports {node.module}.{loaders[0]}")
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        module, _, attr = name.rpartition(".")
        where = f"{filename}:{node.lineno}: {name}(...)"
        if name.endswith(("torch.load", "serialization.load")):
            if not _is_constant(_keyword(node, "weights_only"), True):
                found.append(f"{where} without weights_only=True")
        elif name.endswith(("np.load", "numpy.load")):
            if not _is_constant(_keyword(node, "allow_pickle"), False):
                found.append(f"{where} without allow_pickle=False")
        elif module.split(".")[-1] in _PICKLE_MODULES and attr in _LOADERS:
            found.append(f"{where} unpickles")
        elif attr == "Unpickler":
            found.append(f"{where} unpickles")
    return found


def test_the_scan_finds_what_it_looks_for() -> None:
    bad = """
        import pickle
        from torch import load
        torch.load(path)
        torch.load(path, weights_only=False)
        np.load(path)
        np.load(path, allow_pickle=True)
        pickle.loads(blob)
        joblib.load(path)
        from pickle import Unpickler
    """
    found = unsafe_loads(textwrap.dedent(bad), "bad.py")
    assert len(found) == 8, found
    good = "import pickle\ntorch.load(p, weights_only=True)\nnp.load(p, allow_pickle=False)\n"
    good += "json.loads(t)\ntorchlvm.load(folder)\nerror = pickle.UnpicklingError\n"
    assert unsafe_loads(good, "good.py") == []


def test_nothing_in_src_can_unpickle() -> None:
    files = sorted(SRC.rglob("*.py"))
    assert len(files) > 30
    found = [hit for f in files for hit in unsafe_loads(f.read_text(), str(f.relative_to(SRC)))]
    assert found == [], "\n".join(found)


# -- malicious pickles ---------------------------------------------------------------------------


class Payload:
    """Unpickling this creates the file ``marker`` (it calls ``open(marker, "w")``)."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def write_payload(path: Path, marker: Path, fmt: str) -> None:
    """A checkpoint-shaped file carrying :class:`Payload`: ``torch.save``'s zip format, its legacy
    format (which ``torch.load`` also reads), or a bare pickle."""
    content = {"state_dict": {}, "epoch": 0, "payload": Payload(marker)}
    if fmt == "zip":
        torch.save(content, path)
    elif fmt == "legacy":
        torch.save(content, path, _use_new_zipfile_serialization=False)
    else:
        path.write_bytes(pickle.dumps(content))


FORMATS = ["zip", "legacy", "raw-pickle"]


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "PWNED"


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_payload_is_live(tmp_path: Path, fmt: str) -> None:
    """Control: loading the file the unsafe way does run the payload."""
    control = tmp_path / "control-marker"
    write_payload(tmp_path / "f.ckpt", control, fmt)
    if fmt == "raw-pickle":
        pickle.loads((tmp_path / "f.ckpt").read_bytes())
    else:
        torch.load(tmp_path / "f.ckpt", weights_only=False)
    assert control.exists()


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished one-epoch CLI run of a tiny VAE."""
    out = tmp_path_factory.mktemp("untrusted") / "run"
    argv = ["train", "vae", "--data", "digits", "--epochs", "1", "--latent-dim", "2"]
    assert main([*argv, "--hidden", "8", "--batch-size", "256", "--quiet", "--out", str(out)]) == 0
    return out


def _copy(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


@pytest.mark.parametrize("fmt", FORMATS)
def test_resume_refuses_a_pickled_checkpoint(
    vae_run: Path, tmp_path: Path, marker: Path, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _copy(vae_run, tmp_path / "run")
    write_payload(run / "checkpoints" / "last.ckpt", marker, fmt)
    before = folder_digest(run)
    assert main(["train", "vae", "--epochs", "2", "--quiet", "--out", str(run), "--resume"]) == 2
    line = error_line(capsys.readouterr().err)
    assert "refusing to load" in line and "could run code" in line and "last.ckpt" in line
    assert not marker.exists()
    assert folder_digest(run) == before

    L.seed_everything(0)  # the library path refuses it too
    model = VAE(VAEConfig(64, latent_dim=2, hidden=(8,)))
    dm = LVMDataModule("digits", binarize="dynamic", batch_size=256)
    with pytest.raises(DataError, match="refusing to load"):
        fit(model, dm, TrainConfig(max_epochs=2, batch_size=256), run, resume=True, progress=False)
    assert not marker.exists()


@pytest.mark.parametrize("fmt", FORMATS)
def test_load_refuses_a_pickle_posing_as_safetensors(
    vae_run: Path, tmp_path: Path, marker: Path, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _copy(vae_run, tmp_path / "run")
    write_payload(run / "model.safetensors", marker, fmt)
    with pytest.raises(DataError, match="not a readable safetensors file"):
        torchlvm.load(run)
    before = folder_digest(run)
    for argv in (["sample", str(run), "--n", "4"], ["evaluate", str(run), "--k", "2", "--quiet"]):
        assert main(argv) == 2
        assert "safetensors" in error_line(capsys.readouterr().err)
    assert folder_digest(run) == before
    assert not marker.exists()


@pytest.mark.parametrize("fmt", FORMATS)
def test_read_checkpoint_refuses_payloads(tmp_path: Path, marker: Path, fmt: str) -> None:
    path = tmp_path / "best-epoch000.ckpt"
    write_payload(path, marker, fmt)
    with pytest.raises(DataError, match="refusing to load .* could run code"):
        read_checkpoint(path)
    assert not marker.exists()


@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_data_files_with_pickled_objects_are_refused(
    tmp_path: Path, marker: Path, suffix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    array = np.array([Payload(marker), Payload(marker)], dtype=object)
    path = tmp_path / f"data{suffix}"
    if suffix == ".npy":
        np.save(path, array, allow_pickle=True)
    else:
        np.savez(path, x=array)
    out = tmp_path / "run"
    assert main(["train", "vae", "--data", str(path), "--quiet", "--out", str(out)]) == 2
    assert "pickle" in error_line(capsys.readouterr().err).lower()
    assert not marker.exists() and not out.exists()


# -- config validation ---------------------------------------------------------------------------

BAD_MODEL_CONFIGS = {
    "unknown-key": ({"input_dim": 64, "rm_rf": True}, ConfigError, "unknown key"),
    "missing-key": ({"latent_dim": 2}, ConfigError, "missing required key 'input_dim'"),
    "string-int": ({"input_dim": "64"}, ConfigError, "input_dim has the wrong type"),
    "float-int": ({"input_dim": 64.5}, ConfigError, "input_dim has the wrong type"),
    "bool-int": ({"input_dim": True}, ConfigError, "input_dim has the wrong type"),
    "latent-1e9": ({"input_dim": 64, "latent_dim": 10**9}, ConfigError, "latent_dim"),
    "hidden-1e12": ({"input_dim": 64, "hidden": [10**12]}, ConfigError, "hidden width"),
    "input-1e9": ({"input_dim": 10**9}, ConfigError, "input_dim"),
    "huge-int": ({"input_dim": 10**400}, ConfigError, "input_dim"),
    "negative": ({"input_dim": 64, "latent_dim": -3}, ConfigError, "latent_dim"),
    "deep": ({"input_dim": 64, "hidden": [8] * 100_000}, ConfigError, "at most"),
    "nested": ({"input_dim": 64, "hidden": [[8]]}, ConfigError, "hidden"),
    "choice": ({"input_dim": 64, "activation": "os.system"}, ConfigError, "activation"),
    "nan-scale": ({"input_dim": 64, "scale": float("nan")}, ConfigError, "scale"),
    "image-shape": (
        {"input_dim": 64, "arch": "conv", "image_shape": [1, 10**9, 10**9]},
        ConfigError,
        "image_shape",
    ),
    "not-object": ([64, 2], ConfigError, "expected a JSON object"),
}


@pytest.mark.parametrize(
    ("model", "error", "match"), BAD_MODEL_CONFIGS.values(), ids=BAD_MODEL_CONFIGS.keys()
)
def test_load_validates_config_json_quickly(
    vae_run: Path, tmp_path: Path, model: object, error: type, match: str
) -> None:
    run = _copy(vae_run, tmp_path / "run")
    record = json.loads((run / "config.json").read_text())
    record["model"] = model
    (run / "config.json").write_text(json.dumps(record))
    started = time.process_time()  # CPU time: the same on a loaded machine
    with pytest.raises(error, match=match) as info:
        torchlvm.load(run)
    assert time.process_time() - started < 2.0
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "record",
    [{"model_type": "os.system"}, {"model_type": ["vae"]}, {"model": {}}, [], "vae", None],
    ids=["unknown-type", "list-type", "no-type", "list", "string", "null"],
)
def test_load_refuses_records_that_are_not_models(
    vae_run: Path, tmp_path: Path, record: object
) -> None:
    run = _copy(vae_run, tmp_path / "run")
    (run / "config.json").write_text(json.dumps(record))
    with pytest.raises(TorchLVMError):
        torchlvm.load(run)


@pytest.mark.parametrize(
    ("cls", "data"),
    [
        (VAEConfig, {"input_dim": 64, "latent_dim": 2**40}),
        (CVAEConfig, {"input_dim": 64, "condition_dim": 10**10}),
        (CVAEConfig, {"input_dim": 64, "condition_dim": 10, "num_classes": 10**12}),
        (AutoencoderConfig, {"input_dim": 64, "hidden": [2**20]}),
    ],
    ids=["vae-latent", "cvae-condition", "cvae-classes", "ae-hidden"],
)
def test_config_from_dict_refuses_absurd_sizes(cls: type, data: dict) -> None:
    started = time.process_time()  # CPU time: the same on a loaded machine
    with pytest.raises(ConfigError):
        config_from_dict(cls, data)
    assert time.process_time() - started < 0.5


_LOAD_UNDER_LIMIT = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
import torchlvm
from torchlvm.errors import TorchLVMError
try:
    torchlvm.load(sys.argv[1])
except TorchLVMError as err:
    print("refused:", err)
"""


@pytest.mark.budget(60)
@pytest.mark.parametrize(
    "model",
    [
        lambda: VAE(VAEConfig(16, latent_dim=2, hidden=(8,))),
        lambda: CVAE(CVAEConfig(16, 10, latent_dim=2, hidden=(8,))),
        lambda: Autoencoder(AutoencoderConfig(16, latent_dim=2, hidden=(8,))),
    ],
    ids=["vae", "cvae", "ae"],
)
def test_allowed_sizes_whose_product_is_absurd_allocate_nothing(tmp_path: Path, model) -> None:
    """Each size within MAX_WIDTH, but two 65536 × 65536 layers would need 32 GiB: load
    checks the weights file against a skeleton of the model before building it."""
    folder = model().save_pretrained(tmp_path / "export")
    record = json.loads((folder / "config.json").read_text())
    record["model"].update(input_dim=65536, hidden=[65536, 65536])
    (folder / "config.json").write_text(json.dumps(record))
    before = _children_cpu_seconds()
    done = subprocess.run(
        [sys.executable, "-c", _LOAD_UNDER_LIMIT, str(folder)],
        capture_output=True,
        text=True,
        timeout=patience(50),
        env=cli_env(),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "refused:" in done.stdout and "belong to another model" in done.stdout
    assert _children_cpu_seconds() - before < 30  # (CPU time: the same on a loaded machine)


def _children_cpu_seconds() -> float:
    """User + system CPU seconds of this process's finished children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


_RESUME_UNDER_LIMIT = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
from torchlvm.cli import main
sys.exit(main(["train", "vae", "--epochs", "3", "--quiet", "--out", sys.argv[1], "--resume"]))
"""


@pytest.mark.budget(60)
def test_resume_from_a_run_record_asking_for_gigabytes_allocates_nothing(
    vae_run: Path, tmp_path: Path
) -> None:
    """The run record (config.json, or checkpoints/run.json of an unfinished run) is checked
    against the checkpoint on a meta-device skeleton before the model is built."""
    run = _copy(vae_run, tmp_path / "run")
    for path in (run / "config.json", run / "checkpoints" / "run.json"):
        record = json.loads(path.read_text())
        record["model"].update(input_dim=65536, hidden=[65536, 65536])
        path.write_text(json.dumps(record))
    before = folder_digest(run)
    done = subprocess.run(
        [sys.executable, "-c", _RESUME_UNDER_LIMIT, str(run)],
        capture_output=True,
        text=True,
        timeout=patience(50),
        env=cli_env(),
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "belongs to another model" in error_line(done.stderr)
    assert folder_digest(run) == before


def test_a_damaged_checkpoint_is_offered_the_one_beside_it(tmp_path: Path) -> None:
    """A truncated last.ckpt was refused 'resume from another checkpoint', an option train does
    not have, after torch's text cut mid-sentence ('… there is a high') (userF): the refusal
    names the checkpoint beside it and how to resume from it, and ends torch's text at a
    sentence."""
    import shlex

    good = tmp_path / "best-epoch004.ckpt"
    torch.save({"state_dict": {"w": torch.zeros(2)}, "epoch": 4}, good)
    last = tmp_path / "last.ckpt"
    last.write_bytes(good.read_bytes()[:100])
    with pytest.raises(DataError) as refused:
        read_checkpoint(last)
    message = str(refused.value)
    assert f"copy it over this one (cp {shlex.quote(str(good))} {shlex.quote(str(last))})" in (
        message
    )
    assert "resume from another checkpoint" not in message
    reason = message.split("(", 1)[1].split(")", 1)[0]
    assert reason.endswith((".", "…")) or "." not in reason, reason
    assert read_checkpoint(good)["epoch"] == 4  # (the offered one reads)
    good.unlink()
    with pytest.raises(DataError, match=r"train the run again \(with --overwrite\)$"):
        read_checkpoint(last)


def test_damaged_weights_are_offered_a_fix_that_exists(vae_run: Path, tmp_path: Path) -> None:
    """Truncated weights were told 're-export the model or use another checkpoint' whatever
    the folder: a fitted PPCA has no checkpoint, and no command takes one (userF)."""
    run = _copy(vae_run, tmp_path / "run")
    weights = run / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(DataError, match=r"train the run again \(with --overwrite\)$"):
        torchlvm.load(run)
    shutil.rmtree(run / "checkpoints")  # (a fitted PPCA's folder, an export)
    with pytest.raises(DataError, match=r"make the model again \(fit it into this folder"):
        torchlvm.load(run)


def test_a_run_of_a_newer_torchlvm_is_named_as_such(vae_run: Path, tmp_path: Path) -> None:
    """A run written by torchlvm 9.9.9 with a key this version lacks read as a damaged file
    ('unknown key(s) ['new_option']') (userF): the refusal names both versions and the
    upgrade; the same key in a run of this version keeps the plain refusal."""
    run = _copy(vae_run, tmp_path / "run")
    record = json.loads((run / "config.json").read_text())
    record["model"]["new_option"] = 1
    record["torchlvm_version"] = "9.9.9"
    (run / "config.json").write_text(json.dumps(record))
    with pytest.raises(ConfigError) as refused:
        torchlvm.load(run)
    message = str(refused.value)
    assert message.startswith(f"{run} was written by torchlvm 9.9.9, and this is torchlvm ")
    assert "unknown key(s) ['new_option']" in message
    assert message.endswith("upgrade torchlvm (pip install -U torchlvm)")
    record["torchlvm_version"] = torchlvm.__version__
    (run / "config.json").write_text(json.dumps(record))
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['new_option'\]") as plain:
        torchlvm.load(run)
    assert "upgrade" not in str(plain.value)
