"""Lightning checkpoints written atomically and read back as data only.

- :class:`AtomicCheckpointIO` is the ``CheckpointIO`` plugin of every torchlvm ``Trainer``: a
  checkpoint is serialized into a temporary file in the destination folder, fsynced and renamed
  over the destination (``os.replace``), so a crash, a kill or a full disk during a save leaves the
  previous ``last.ckpt`` intact, never a truncated one. A write the system refuses (a full disk,
  a file size limit) is raised as that ``OSError`` with the checkpoint's path; ``torch.save`` on
  its own reports it as a ``RuntimeError`` of its zip writer ("unexpected pos"). Checkpoints are
  read back with ``weights_only=True`` whatever the caller asks for.
- :func:`read_checkpoint` is the one place a checkpoint file is opened: ``torch.load`` with
  ``weights_only=True`` (tensors and plain values only; a pickle that would run code is refused,
  not executed), and every way a file can be damaged or foreign becomes a one-line
  :class:`~torchlvm.errors.DataError`.
- :func:`check_checkpoint_fits` compares a checkpoint's weights with the module about to resume
  from it, so a checkpoint of another model is named as such instead of failing inside Lightning.
- :func:`clear_killed_writes`: a resume removes the temporary files of checkpoint saves that a
  kill cut short.
- :func:`check_finite_weights`: no checkpoint with NaN or inf weights is ever written;
  :func:`nonfinite_weights_as_error` names non-finite weights as the cause of a failed step.
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

from torchlvm._epochs import shown
from torchlvm._files import killed_writes, temporary_of, write_atomic
from torchlvm._shell import quoted
from torchlvm.errors import DataError, NonFiniteError, RunDirectoryError


def _fix(path: Path) -> str:
    """The fix of a checkpoint that cannot be resumed from: where another checkpoint of the run
    lies beside it, copying that one into its place (train has no option that names a
    checkpoint: userF was told 'resume from another checkpoint'); else training again."""
    try:
        others = [p for p in path.parent.glob("*.ckpt") if p.is_file() and p.name != path.name]
    except OSError:
        others = []
    if not others:
        return "train the run again (with --overwrite)"
    newest = max(others, key=lambda p: p.stat().st_mtime)
    return (
        f"to resume from {newest.name} instead, copy it over this one "
        f"(cp {quoted(newest)} {quoted(path)}) and pass --resume again; or train the run "
        "again (with --overwrite)"
    )


def _first_sentence(text: str, most: int = 160) -> str:
    """The first sentence of an error's ``text`` (torch's run on: 'This is an internal miniz
    error. If you are seeing this error, there is a high' was cut mid-sentence)."""
    line = text.splitlines()[0]
    end = line.find(". ")
    line = line[: end + 1] if 0 <= end < most else line
    return line if len(line) <= most else line[: most - 1] + "…"


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A Lightning checkpoint of a torchlvm run, loaded as data (``weights_only=True``) on the CPU.

    Args:
        path: the ``.ckpt`` file.

    Returns:
        The checkpoint dict; it holds at least ``state_dict``.

    Raises:
        RunDirectoryError: if the file does not exist.
        DataError: if it is truncated or corrupt, is not a checkpoint, or holds objects other than
            tensors and plain values (a pickle that would run code when loaded).
    """
    path = Path(path)
    if not path.is_file():
        what = "a folder" if path.is_dir() else "missing"
        raise RunDirectoryError(f"checkpoint {path} is {what}; {_fix(path)}")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise DataError(
            f"refusing to load {path}: it holds Python objects other than tensors and plain "
            "values, and loading it could run code from the file; use a checkpoint written by "
            "torchlvm"
        ) from None
    except Exception as err:  # damaged bytes make torch.load raise almost anything
        text = str(err).strip()
        reason = _first_sentence(text) if text else type(err).__name__
        raise DataError(
            f"{path} is not a readable checkpoint ({reason}); it may be truncated or damaged — "
            f"{_fix(path)}"
        ) from None
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("state_dict"), dict):
        raise DataError(
            f"{path} is not a Lightning checkpoint (it has no state_dict); {_fix(path)}"
        )
    return checkpoint


def clear_killed_writes(folder: Path) -> None:
    """Remove the temporary files that checkpoint saves into ``folder``, killed (SIGKILL, SIGHUP,
    the out-of-memory killer, a preemption), left there (:func:`~torchlvm._files.killed_writes`:
    this host's, its writer dead), and warn of those it cannot be sure of: a training killed
    while it saved last.ckpt left a checkpoint-sized ``.last.ckpt.pPID@HOST.RANDOM.tmp`` that
    every resume kept, into the finished run (userV #3)."""
    import warnings

    try:
        names = sorted({n for e in os.listdir(folder) if (n := temporary_of(e)) is not None})
    except OSError:  # (no folder: nothing was saved)
        return
    for name in names:
        for left in killed_writes(folder / name):
            warnings.warn(
                f"{left} may be the temporary file of a save of {name} that was killed "
                "(torchlvm saves a checkpoint under such a name, then renames it); delete it if "
                "no process is training this run now",
                stacklevel=3,
            )


def check_checkpoint_fits(checkpoint: dict[str, Any], module: torch.nn.Module, path: Any) -> None:
    """Raise unless ``checkpoint`` is torchlvm's and its weights have the names and shapes of
    ``module``'s.

    Raises:
        DataError: naming a checkpoint torchlvm did not write (a user's own Lightning checkpoint
            named ``last.ckpt``), or the first missing, unexpected or differently shaped tensor.
    """
    if not isinstance(checkpoint.get("torchlvm"), dict):  # (LVMModule saves it in every one)
        raise DataError(
            f"{path} is not a checkpoint torchlvm wrote: it lacks the 'torchlvm' entry "
            "torchlvm's training saves in each (a Lightning checkpoint of your own?); move it "
            f"out of {Path(path).parent}, then {_fix(Path(path))}"
        )
    saved = checkpoint["state_dict"]
    expected = module.state_dict()
    missing, extra = sorted(set(expected) - set(saved)), sorted(set(saved) - set(expected))
    if missing or extra:
        raise DataError(
            f"{path} does not fit the model of this run (missing {missing[:3]}, unexpected "
            f"{extra[:3]}); the checkpoint belongs to another model — {_fix(Path(path))}"
        )
    for name, tensor in expected.items():
        value = saved[name]
        if not isinstance(value, torch.Tensor) or value.shape != tensor.shape:
            shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            raise DataError(
                f"{path}: tensor {name} has shape {shape}, this run's model has "
                f"{tuple(tensor.shape)}; the checkpoint belongs to another model — "
                f"{_fix(Path(path))}"
            )
        if value.is_floating_point() and value.dtype != tensor.dtype:  # (not cast in silence)
            kind = str(value.dtype).removeprefix("torch.")
            raise DataError(
                f"{path} holds the run's weights in {kind} and the model given is "
                f"{str(tensor.dtype).removeprefix('torch.')}; resume it with the model in "
                f"{kind} (model.to(torch.{kind}))"
            )


def check_recorded_fits(cls: type, model_config: Any, last: Path) -> torch.dtype:
    """Check the run's last checkpoint ``last`` against a skeleton of the recorded model (class
    ``cls``, config ``model_config``) on the meta device, which allocates nothing, before it is
    built: each recorded size is bounded, but their product is not, and a run record can be
    edited or shared. Returns the dtype its weights are in, which the model is to be built in (a
    run trained from Python on ``model.double()`` was resumed, and saved, in float32: userY #7);
    the default dtype where there is no checkpoint (fit says there is nothing to resume)."""
    if not last.is_file():
        return torch.get_default_dtype()
    checkpoint = read_checkpoint(last)
    dtype = weights_dtype(checkpoint) or torch.get_default_dtype()
    with torch.device("meta"):
        skeleton = torch.nn.ModuleDict({"model": cls.from_config(model_config).to(dtype)})
    check_checkpoint_fits(checkpoint, skeleton, last)
    return dtype


def weights_dtype(checkpoint: dict[str, Any]) -> torch.dtype | None:
    """The dtype of the model's floating-point weights in a torchlvm ``checkpoint`` (a run
    trained from Python on ``model.double()`` holds float64), or None where it holds none."""
    for name, value in checkpoint.get("state_dict", {}).items():
        if name.startswith("model.") and isinstance(value, torch.Tensor):
            if value.is_floating_point():
                return value.dtype
    return None


def _nonfinite_names(state: dict[str, Any]) -> list[str]:
    return [
        name
        for name, value in state.items()
        if isinstance(value, torch.Tensor)
        and value.is_floating_point()
        and not bool(torch.isfinite(value).all())
    ]


def _weights_message(names: list[str], step: Any, epoch: Any, consequence: str) -> str:
    return (
        f"training stopped: the weights became non-finite (NaN or inf) by global step {step} "
        f"(epoch {shown(epoch) if isinstance(epoch, int) else epoch}; {', '.join(names[:3])}), "
        f"so {consequence}. Likely cause: a learning rate too high (lower it or set a gradient "
        "clip)"
    )


def check_finite_weights(checkpoint: dict[str, Any], path: Any) -> None:
    """Refuse a checkpoint whose weights hold NaN or inf.

    The training guard stops before an update with a non-finite loss or gradient, but finite
    gradients can still carry weights to inf (a huge learning rate); this is the last line, so
    that no checkpoint with non-finite weights replaces a good one.

    Raises:
        NonFiniteError: naming the step, the first tensors and the likely cause.
    """
    bad = _nonfinite_names(checkpoint.get("state_dict") or {})
    if bad:
        step, epoch = checkpoint.get("global_step"), checkpoint.get("epoch")
        consequence = f"checkpoint {Path(path).name} was not written"
        raise NonFiniteError(_weights_message(bad, step, epoch, consequence))


@contextmanager
def nonfinite_weights_as_error(module: torch.nn.Module, trainer: Any) -> Iterator[None]:
    """Turn the error a step raises on non-finite weights into a :class:`NonFiniteError`.

    Weights that became NaN or inf make the next forward pass build distributions with NaN
    parameters, which ``torch.distributions`` rejects with a ``ValueError`` before any loss
    exists for the guard to check. If the weights are non-finite when such an error escapes,
    it is reported as what it is.
    """
    try:
        yield
    except (ValueError, RuntimeError):
        bad = _nonfinite_names(module.state_dict())
        if not bad:
            raise
        step, epoch = trainer.global_step, trainer.current_epoch
        raise NonFiniteError(_weights_message(bad, step, epoch, "training cannot go on")) from None


class _RecordingWriter(io.RawIOBase):
    """A binary file that keeps the ``OSError`` of a refused write (torch's zip writer turns it
    into a ``RuntimeError`` that no longer says why)."""

    def __init__(self, file: io.BufferedWriter) -> None:
        super().__init__()
        self.file = file
        self.error: OSError | None = None

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        try:
            return self.file.write(data)
        except OSError as err:
            self.error = self.error or err
            raise

    def flush(self) -> None:
        self.file.flush()


def save_checkpoint_file(checkpoint: dict[str, Any], tmp: Path, path: Any) -> None:
    """``torch.save(checkpoint, tmp)``; a refused write raises its ``OSError`` naming ``path``,
    and Ctrl-C during the write its ``KeyboardInterrupt``."""
    file = open(tmp, "wb")  # noqa: SIM115  (closed below, after a refused write too)
    writer = _RecordingWriter(file)
    try:
        torch.save(checkpoint, writer)
        file.flush()
    except (RuntimeError, OSError) as err:
        if isinstance(err.__context__, KeyboardInterrupt):  # Ctrl-C mid-write: torch's zip
            raise err.__context__ from None  # writer's closing then fails ("unexpected pos"),
            # which hid the interrupt: a traceback and status 1, not 130 (final CI, 11-29)
        refused = writer.error or (err if isinstance(err, OSError) else None)
        if refused is None:
            raise
        raise OSError(refused.errno, refused.strerror, str(path)) from None
    finally:
        with contextlib.suppress(OSError):  # after a refused write, closing fails the same way
            file.close()


class AtomicCheckpointIO(TorchCheckpointIO):
    """``TorchCheckpointIO`` whose saves are atomic and whose loads are weights-only."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None
    ) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options")
        check_finite_weights(checkpoint, path)
        write_atomic(path, lambda tmp: save_checkpoint_file(checkpoint, tmp, path))

    def load_checkpoint(
        self,
        path: Any,
        map_location: Callable[..., Any] | Any | None = None,
        weights_only: bool | None = None,
    ) -> dict[str, Any]:
        del map_location, weights_only  # always CPU first, always weights only
        return read_checkpoint(path)
