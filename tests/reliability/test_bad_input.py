"""Every bad input named in issues 2–6, and the hostile environment of issue 7, over the CLI.

Each case runs ``torchlvm.cli.main`` in-process and must: exit non-zero (2 for a user error, 1
when the operating system refuses), print exactly one ``torchlvm: error: ...`` line on stderr that
names the problem (a usage error adds one "  see ... --help" line), print no traceback, and
leave every file under the test's folder as it was (a hash of the whole tree before and after;
nothing created either). A few cases also run as real subprocesses, to show the installed entry
point prints no traceback; Ctrl-C is a real SIGINT to a training subprocess.
"""

from __future__ import annotations

import errno
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from _reliability import (
    cli,
    cli_env,
    error_line,
    folder_digest,
    load_ckpt,
    patience,
    run_cli,
    start_cli,
    wait_for,
)

import torchlvm._files as files
from torchlvm.cli import main
from torchlvm.data import locate
from torchlvm.models.vae import VAE, VAEConfig
from torchlvm.run import written
from torchlvm.run.layout import LOCK_NAME, STAGE_MARKER_NAME, stage_path

TINY = ["--latent-dim", "2", "--hidden", "8", "--batch-size", "256", "--quiet", "--epochs", "1"]


def _idx(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape
    )
    return header + array.astype(np.uint8).tobytes()


def _mnist_folder(folder: Path, **replace: bytes) -> None:
    rng = np.random.default_rng(0)
    content = {
        "train-images-idx3-ubyte": _idx(rng.integers(0, 256, (50, 4, 4))),
        "train-labels-idx1-ubyte": _idx(np.arange(50) % 10),
        "t10k-images-idx3-ubyte": _idx(rng.integers(0, 256, (20, 4, 4))),
        "t10k-labels-idx1-ubyte": _idx(np.arange(20) % 10),
    }
    content.update(replace)
    folder.mkdir(parents=True)
    for name, data in content.items():
        (folder / name).write_bytes(data)


def _nowhere(root: Path) -> Path:
    """An empty search root beside ``root`` (the user cache lives there too: evaluate caches a
    dataset classifier, which is not an output of the command)."""
    return root.parent / f"{root.name}-nowhere"


def _isolate_search(monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    """No IDX dataset is found anywhere but where a case points."""
    monkeypatch.setenv("TORCHLVM_DATA", str(_nowhere(root)))
    monkeypatch.setenv("XDG_CACHE_HOME", str(_nowhere(root)))
    monkeypatch.setattr(locate, "SYSTEM_DIR", _nowhere(root))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Runs of every model type, data files good and bad, and damaged copies of a run."""
    root = tmp_path_factory.mktemp("bad-input")
    with pytest.MonkeyPatch.context() as patch:
        _isolate_search(patch, root)
        for kind in ("vae", "cvae", "ae"):
            assert main(["train", kind, "--data", "digits", *TINY, "--out", str(root / kind)]) == 0
        ppca = ["fit", "ppca", "--data", "digits", "--latent-dim", "2", "--out", str(root / "ppca")]
        assert main(ppca) == 0
    _mnist_folder(_nowhere(root) / "mnist")  # a copy that an explicit --data-dir must not use
    d = root / "data"
    d.mkdir()
    (d / "bad.csv").write_text("1,2,3\n4,x,6\n7,8,9\n")
    (d / "empty.csv").write_text("")
    (d / "header.csv").write_text("a,b,c\n")
    (d / "one.csv").write_text("1,2,3,4\n")
    (d / "nan.csv").write_text("1,2,3\n4,,6\n" + "7,8,9\n1,2,4\n" * 15)
    (d / "inf.csv").write_text("1,2,3\n4,inf,6\n7,8,9\n1,2,3\n")
    (d / "near-1e30.csv").write_text(
        "a,b,c\n" + "".join(f"{i}e30,-2e30,{i % 3}e30\n" for i in range(30))
    )
    (d / "dir.csv").mkdir()
    (d / "dir.png").mkdir()
    rng = np.random.default_rng(0)
    np.save(d / "grey.npy", rng.random((100, 64)).astype(np.float32))
    np.save(d / "ten.npy", rng.random((100, 10)).astype(np.float32))
    np.save(d / "small-images.npy", rng.random((30, 4, 4)).astype(np.float32))
    torch.save(torch.rand(30, 4, 4), d / "images.pt")
    nan_images = rng.random((30, 4, 4)).astype(np.float32)
    nan_images[3, 1, 2] = np.nan
    np.save(d / "nan-images.npy", nan_images)
    np.save(d / "normalized.npy", rng.random((30, 4, 4)).astype(np.float32) * 2 - 1)
    np.save(d / "complex.npy", rng.random((10, 4)).astype(np.complex64))
    np.save(d / "empty.npy", np.zeros((0, 64), np.float32))
    (d / "truncated.npy").write_bytes((d / "grey.npy").read_bytes()[:200])
    good = rng.integers(0, 256, (50, 4, 4))
    _mnist_folder(d / "idx-magic", **{"train-images-idx3-ubyte": b"\x01\x02\x08\x03" + bytes(99)})
    _mnist_folder(d / "idx-truncated", **{"train-images-idx3-ubyte": _idx(good)[:300]})
    _mnist_folder(d / "idx-counts", **{"train-labels-idx1-ubyte": _idx(np.arange(49) % 10)})
    _mnist_folder(d / "idx-partial")
    (d / "idx-partial" / "t10k-labels-idx1-ubyte").unlink()
    (d / "no-model").mkdir()
    import shutil

    for name in ("vae-foreign", "vae-truncated", "vae-no-weights"):
        shutil.copytree(root / "vae", root / name)
    shutil.copy(root / "cvae/checkpoints/last.ckpt", root / "vae-foreign/checkpoints/last.ckpt")
    data = (root / "vae/checkpoints/last.ckpt").read_bytes()
    (root / "vae-truncated/checkpoints/last.ckpt").write_bytes(data[: len(data) // 2])
    (root / "vae-no-weights/model.safetensors").unlink()
    VAE(VAEConfig(64, latent_dim=65, hidden=(8,))).save_pretrained(
        root / "vae-k65", data={"name": "digits", "binarize": "dynamic", "seed": 0}
    )
    shutil.copytree(root / "vae", root / "vae-bad-metrics")
    (root / "vae-bad-metrics" / "metrics.json").write_text('{"train_log_likelihood": -20.5,')
    _write_tables(d)
    _run_folders_of_issue_10(root)
    _write_odd_tables(d)
    return root


def _write_tables(d: Path) -> None:
    """Tables with the faults of issue 11, one fault per file."""
    rows = [f"{i % 7},{(i * 3) % 5},{i % 4}" for i in range(30)]

    def table(name: str, header: str, lines: list[str]) -> None:
        (d / name).write_text(header + "\n" + "".join(line + "\n" for line in lines))

    table("ids.csv", "id,a,b", [f"p{i},{i % 3},{i % 5}" for i in range(9)])
    table("counter.csv", "n,a,b,c", [f"{i},{r}" for i, r in enumerate(rows)])
    table("empty-column.csv", "a,b,c,e", [f"{r}," for r in rows])
    holes = [
        ",".join("" if j == i % 3 else c for j, c in enumerate(r.split(",")))
        for i, r in enumerate(rows)
    ]
    table("incomplete.csv", "a,b,c", holes)
    table("empty-row.csv", "a,b,c", [*rows, ",,"])
    # 0x81: no character in UTF-8 (alone) nor in Windows-1252, which reads the rest of Latin-1
    (d / "latin1.csv").write_bytes((d / "empty-row.csv").read_bytes()[:-3] + b"1,2,caf\x81\n")
    table("constant.csv", "a,b,c,k", [f"{r},5" for r in rows])
    table("table.csv", "a,b,c", rows)
    table("other-columns.csv", "a,b,x", rows)
    fit = ["fit", "ppca", "--data", str(d / "table.csv"), "--latent-dim", "1"]
    assert main([*fit, "--out", str(d.parent / "ppca-table")]) == 0
    train = ["train", "vae", "--data", str(d / "table.csv"), *TINY]
    assert main([*train, "--out", str(d.parent / "vae-table")]) == 0


def _write_odd_tables(d: Path) -> None:
    """Tables a spreadsheet writes that are not plain comma-separated numbers."""
    rows = "".join(f"{i % 7};{(i * 3) % 5};{i % 4}\n" for i in range(30))
    (d / "semicolons.csv").write_text("a;b;c\n" + rows + "1;2\n")  # read, as its lines say
    # 1.234,5 (a thousands separator) is read; a currency sign is not
    (d / "decimal-commas.csv").write_text(
        "a;b;c\n" + rows.replace(";", ",5;") + "1.234,5;1;2\n" + "12,50 €;1;2\n", encoding="utf-8"
    )
    (d / "tabs.csv").write_text("a\tb\tc\n" + rows.replace(";", "\t"))
    (d / "comment.csv").write_text("# exported 2026-11-27\na,b,c\n" + rows.replace(";", ","))
    (d / "same-names.csv").write_text("a,b,a\n" + rows.replace(";", ","))
    (d / "huge.csv").write_text("a,b,c\n" + rows.replace(";", ",") + "1,2,1e300\n")
    (d / "one-column.csv").write_text("a\n" + "".join(f"{i % 7}.5\n" for i in range(30)))
    trailing = "".join(f"{i % 7},{(i * 3) % 5},{i % 4},\n" for i in range(30))
    # a spreadsheet's export; with a header 'a,b,c,' the empty column is no column at all, but
    # without one, the last column may be a feature with every value missing: named
    (d / "trailing-commas.csv").write_text(trailing)


def _lock_of_a_live_process(folder: Path) -> None:
    """The lock file of a training process that is alive: this test's parent process."""
    holder = {"pid": os.getppid(), "host": socket.gethostname(), "command": "t", "started": "t"}
    (folder / LOCK_NAME).write_text(json.dumps(holder))


def _run_folders_of_issue_10(root: Path) -> None:
    """A run that also holds a file of the user's, a run being trained, a new run being built
    in its staging folder, an HTML page of the user's and a symbolic link to a run."""
    import shutil

    shutil.copytree(root / "vae", root / "vae-notes")
    (root / "vae-notes" / "notes.txt").write_text("my notes on this run")
    shutil.copytree(root / "vae", root / "vae-busy")
    _lock_of_a_live_process(root / "vae-busy")
    stage = stage_path(root / "new-busy")
    stage.mkdir()
    _lock_of_a_live_process(stage)
    (root / "data" / "page.html").write_text("<p>my page</p>")
    (root / "data" / "link-to-run").symlink_to(root / "vae")
    killed = stage_path(root / "interrupted")  # a new run killed after its first epoch
    shutil.copytree(root / "vae" / "checkpoints", killed / "checkpoints")
    marker = {"target": str(root / "interrupted"), "name": "interrupted"}
    (killed / STAGE_MARKER_NAME).write_text(json.dumps(marker))
    early = stage_path(root / "interrupted-early")  # killed before its first epoch finished
    shutil.copytree(root / "vae" / "checkpoints", early / "checkpoints")
    (early / "checkpoints" / "last.ckpt").unlink()
    for name in [p.name for p in (early / "checkpoints").glob("best-*")]:
        (early / "checkpoints" / name).unlink()
    marker = {"target": str(root / "interrupted-early"), "name": "interrupted-early"}
    (early / STAGE_MARKER_NAME).write_text(json.dumps(marker))
    shutil.copytree(root / "vae" / "checkpoints", root / "unfinished" / "checkpoints")


@dataclass(frozen=True)
class Case:
    argv: str  # split on spaces after formatting {root} and {d} (the data folder)
    match: str  # a fragment of the one error line
    status: int = 2
    absent: str = ""  # a fragment the line must not hold (a fix that would do harm)


FIT = "fit ppca --latent-dim 1 --out {root}/new --data"
TRAIN = "train vae --latent-dim 2 --hidden 8 --quiet --epochs 1 --out {root}/new"
EVAL = "evaluate {root}/vae --k 2 --n 10 --quiet --no-figures --ood none"
RESUME = "train vae --epochs 2 --quiet --resume --out"
BUSY = "is being trained by pid"

CASES: dict[str, Case] = {
    # issue 2: data and PPCA
    "unknown-dataset": Case(f"{TRAIN} --data no-such-data", "unknown dataset 'no-such-data'"),
    "unknown-dataset-fit": Case(f"{FIT} no-such-data", "unknown dataset 'no-such-data'"),
    "missing-folder": Case(f"{FIT} mnist --data-dir {{d}}/missing", "mnist not found: looked in"),
    "missing-file": Case(f"{FIT} {{d}}/missing.csv", "missing.csv does not exist"),
    "idx-wrong-magic": Case(f"{FIT} mnist --data-dir {{d}}/idx-magic", "is not an IDX file"),
    "idx-truncated": Case(f"{FIT} mnist --data-dir {{d}}/idx-truncated", "is truncated"),
    "idx-counts-differ": Case(f"{FIT} mnist --data-dir {{d}}/idx-counts", "50 images but"),
    "idx-train": Case(f"{TRAIN} --data mnist --data-dir {{d}}/idx-magic", "is not an IDX file"),
    "csv-non-numeric": Case(f"{FIT} {{d}}/bad.csv", "line 2, column 2 (index 1): cannot read 'x'"),
    "nan-closed-form": Case(f"{FIT} {{d}}/nan.csv", "--allow-missing"),
    "nan-allowed-needs-em": Case(f"{FIT} {{d}}/nan.csv --allow-missing", "needs --method em"),
    "inf": Case(f"{FIT} {{d}}/inf.csv --method em --allow-missing", "holds 1 infinite value "),
    "huge-values-unstandardized": Case(
        f"{TRAIN} --data {{d}}/near-1e30.csv --no-standardize",
        "first step, so the learning rate is not the cause; the data are: values too large",
    ),
    "latent-dim-0": Case("fit ppca --data digits --latent-dim 0 --out {root}/new", "got 0"),
    "latent-dim-ge-features": Case(
        "fit ppca --data digits --latent-dim 64 --out {root}/new",
        "choose --latent-dim from 1 to 63",
    ),
    "empty-csv": Case(f"{FIT} {{d}}/empty.csv", "is empty (0 bytes)"),
    "header-only-csv": Case(f"{FIT} {{d}}/header.csv", "holds no data rows"),
    "empty-npy": Case(f"{FIT} {{d}}/empty.npy", "holds no data"),
    "one-sample": Case(f"{FIT} {{d}}/one.csv", "is empty (1 example split"),
    "one-sample-train": Case(f"{TRAIN} --data {{d}}/one.csv", "is empty (1 example split"),
    "truncated-npy": Case(f"{FIT} {{d}}/truncated.npy", "cannot read"),
    "complex-npy": Case(f"{FIT} {{d}}/complex.npy", "needs a numeric array"),
    # issue 3: deep models and training
    "k-0": Case(f"{TRAIN} --data digits --objective iwae --k 0", "--k: must be a positive integer"),
    "negative-beta": Case(f"{TRAIN} --data digits --beta -1", "--beta: must be a non-negative"),
    "latent-size-0": Case("train vae --data digits --latent-dim 0 --out {root}/new", "got 0"),
    "cvae-no-condition": Case(
        "train cvae --data {d}/grey.npy --likelihood gaussian --quiet --out {root}/new",
        "needs class labels",
    ),
    "cvae-label-out-of-range": Case("sample {root}/cvae --condition 12", "out of range"),
    "cvae-label-negative": Case("sample {root}/cvae --condition -1", "out of range"),
    "transfer-out-of-range": Case(
        "transfer {root}/cvae --from-condition 3 --to-condition 10", "out of range"
    ),
    "dimension-mismatch": Case("encode {root}/vae --data {d}/ten.npy", "takes 64"),
    "dimension-mismatch-reconstruct": Case("reconstruct {root}/vae --data {d}/ten.npy", "64"),
    "bernoulli-on-grey-levels": Case(
        f"{TRAIN} --data {{d}}/grey.npy --likelihood bernoulli",
        "--binarize dynamic (or threshold) to binarize it, or --likelihood gaussian",
    ),
    "bernoulli-on-grey-digits": Case(f"{TRAIN} --data digits --binarize none", "--likelihood"),
    "checkpoint-of-another-model": Case(f"{RESUME} {{root}}/vae-foreign", "another model"),
    "truncated-checkpoint": Case(f"{RESUME} {{root}}/vae-truncated", "truncated or damaged"),
    "output-holds-a-run": Case(
        "train vae --data digits --quiet --out {root}/vae", "already holds a run; pass --resume"
    ),
    "output-holds-a-run-fit": Case(
        "fit ppca --data digits --latent-dim 2 --out {root}/vae", "pass --overwrite"
    ),
    "resume-nothing": Case(f"{RESUME} {{root}}/new", "holds no run to continue"),
    # issue 4: evaluation and report
    "evaluate-no-model": Case("evaluate {d}/no-model", "no model in"),
    "evaluate-no-weights": Case("evaluate {root}/vae-no-weights", "model.safetensors is missing"),
    "evaluate-k-0": Case("evaluate {root}/vae --k 0", "--k: must be a positive integer"),
    "ood-of-another-shape": Case(
        "evaluate {root}/vae --k 2 --n 10 --quiet --no-figures --ood {d}/small-images.npy "
        "--ood-resize none",
        "has per-example shape (1, 4, 4)",
    ),
    # issue 5: inference lab
    "refine-steps-negative": Case(f"{EVAL} --refine -1", "--refine must be a non-negative"),
    "refine-without-encoder": Case(
        "evaluate {root}/ae --k 2 --n 10 --quiet --no-figures --ood none --refine 2", "encoder"
    ),
    "full-covariance-too-large": Case(
        "gaps {root}/vae-k65 --family full --n 2 --k 2 --steps 1", "latent_dim <= 64"
    ),
    "gaps-steps-negative": Case("gaps {root}/vae --steps -1", "--steps must be a positive"),
    # issue 6: scale
    "devices-too-many": Case(f"{TRAIN} --data digits --devices 4096", "devices"),
    # issue 7: hostile paths
    "path-through-a-file": Case(f"{FIT} {{d}}/one.csv/x.csv", "does not exist"),
    "directory-as-data-file": Case(f"{FIT} {{d}}/dir.csv", "is not a file"),
    "out-is-a-file": Case("train vae --data digits --quiet --out {d}/one.csv", "is a file"),
    "out-inside-a-file": Case(
        "train vae --data digits --quiet --out {d}/one.csv/run", "which is a file"
    ),
    "run-folder-is-a-file": Case("evaluate {d}/one.csv", "is not a folder"),
    "png-out-is-a-folder": Case("sample {root}/vae --out {d}/dir.png", "dir.png"),
    "npy-out-is-a-folder": Case("encode {root}/vae --out {d}/dir.png", ".npy"),
    # issue 10: numbers out of range, and no silent substitution
    "seed-too-large": Case(
        f"{TRAIN} --data digits --seed 4294967296", "argument --seed: must be an integer in 0.."
    ),
    "seed-negative-sample": Case("sample {root}/vae --seed -1", "argument --seed"),
    "seed-not-an-integer-evaluate": Case(f"{EVAL} --seed 1.5", "must be an integer, got '1.5'"),
    "seed-too-large-fit": Case(f"{FIT} digits --seed 99999999999", "argument --seed"),
    "data-dir-missing-no-fallback": Case(
        f"{TRAIN} --data mnist --data-dir {{d}}/missing", "looked in"
    ),
    "data-dir-lacks-a-file": Case(
        f"{FIT} mnist --data-dir {{d}}/idx-partial",
        "idx-partial lacks t10k-labels-idx1-ubyte (raw or .gz): put it there",
    ),
    # issue 10: evaluate merges into metrics.json; a damaged one is named, never replaced
    "evaluate-damaged-metrics": Case(
        f"{EVAL.replace('/vae ', '/vae-bad-metrics ')}", "vae-bad-metrics/metrics.json is damaged"
    ),
    # issue 11: tables
    "table-text-id-column": Case(f"{FIT} {{d}}/ids.csv", "holds text, not numbers ('p0'"),
    "table-row-counter-column": Case(f"{FIT} {{d}}/counter.csv", "counts the rows (0, 1, 2"),
    "table-empty-column": Case(
        f"{FIT} {{d}}/empty-column.csv --method em --allow-missing", "column 'e' has no value in"
    ),
    "table-all-rows-incomplete": Case(f"{FIT} {{d}}/incomplete.csv", "every one of its 30 rows"),
    "table-empty-row": Case(  # (with --allow-missing it is left out, one warning)
        f"{FIT} {{d}}/empty-row.csv", "line 32 has no value in any"
    ),
    "table-not-utf8": Case(
        f"{FIT} {{d}}/latin1.csv", "line 32 is neither UTF-8 nor Windows-1252 text (byte 0x81)"
    ),
    # issue 10: --overwrite replaces only a run, and never the user's files
    "train-overwrite-a-folder-that-is-not-a-run": Case(
        "train vae --data digits --quiet --out {d} --overwrite",
        "is not empty and holds no torchlvm run (it holds ",
        absent="--overwrite",
    ),
    "fit-overwrite-the-folder-of-its-own-data": Case(
        "fit ppca --data {d}/grey.npy --latent-dim 1 --out {d} --overwrite",
        "holds no torchlvm run",
        absent="--overwrite",
    ),
    "overwrite-a-run-that-holds-the-users-file": Case(
        "train vae --data digits --quiet --out {root}/vae-notes --overwrite",
        "also notes.txt, which torchlvm did not write",
        absent="--overwrite",
    ),
    "fit-onto-a-run-offers-no-resume": Case(
        "fit ppca --data digits --latent-dim 2 --out {root}/vae",
        "pass --overwrite to replace it",
        absent="--resume",
    ),
    "out-is-a-symlink": Case(
        "train vae --data digits --quiet --out {d}/link-to-run --overwrite", "is a symbolic link"
    ),
    "out-name-too-long": Case(
        "fit ppca --data digits --latent-dim 2 --out {root}/" + "n" * 300, "more than the 255"
    ),
    # issue 10: outputs never replace a run's own files, nor the user's without --overwrite
    "report-out-onto-the-weights": Case(
        "report {root}/vae --out {root}/vae/model.safetensors", "is a file of the run in"
    ),
    "report-out-onto-the-weights-overwrite": Case(
        "report {root}/vae --out {root}/vae/model.safetensors --overwrite",
        "is a file of the run in",
        absent="--overwrite",
    ),
    "report-out-onto-a-checkpoint": Case(
        "report {root}/vae --out {root}/vae/checkpoints/last.ckpt --overwrite",
        "is a file of the run in",
    ),
    "report-out-onto-a-csv": Case(
        "report {root}/vae {root}/ae --out {d}/bad.csv", "--out must name a .html file"
    ),
    "report-out-onto-a-csv-overwrite": Case(
        "report {root}/vae {root}/ae --out {d}/bad.csv --overwrite", "must name a .html file"
    ),
    "report-out-onto-the-users-page": Case(
        "report {root}/vae {root}/ae --out {d}/page.html",
        "page.html already exists and is not a file torchlvm wrote there",
    ),
    "report-out-inside-a-file": Case("report {root}/vae --out {d}/one.csv/r.html", "lies inside"),
    "encode-out-onto-the-runs-metrics": Case(
        "encode {root}/ppca --out {root}/ppca/metrics.json --overwrite", "is a file of the run"
    ),
    "sample-npy-onto-the-runs-config": Case(
        "sample {root}/vae --npy {root}/vae/config.json --overwrite", "is a file of the run"
    ),
    # issue 10: one writer per run; readers wait for it
    "train-overwrite-a-run-being-trained": Case(
        "train vae --data digits --quiet --out {root}/vae-busy --overwrite",
        BUSY,
    ),
    "resume-a-run-being-trained": Case(f"{RESUME} {{root}}/vae-busy", BUSY),
    "train-a-run-still-in-its-staging-folder": Case(
        "train vae --data digits --quiet --out {root}/new-busy", f"new-busy {BUSY}"
    ),
    "resume-a-run-still-in-its-staging-folder": Case(f"{RESUME} {{root}}/new-busy", BUSY),
    "fit-onto-a-run-being-trained": Case(
        "fit ppca --data digits --latent-dim 2 --out {root}/vae-busy --overwrite",
        BUSY,
    ),
    "evaluate-a-run-being-trained": Case("evaluate {root}/vae-busy", f"vae-busy {BUSY}"),
    "evaluate-a-run-still-in-its-staging-folder": Case("evaluate {root}/new-busy", BUSY),
    "report-a-run-being-trained": Case("report {root}/vae-busy", BUSY),
    "sample-a-run-being-trained": Case("sample {root}/vae-busy", BUSY),
    "encode-a-run-being-trained": Case("encode {root}/vae-busy", BUSY),
    "reconstruct-a-run-being-trained": Case("reconstruct {root}/vae-busy", BUSY),
    "gaps-a-run-being-trained": Case("gaps {root}/vae-busy --n 2 --k 2 --steps 1", BUSY),
    # issue 11: tables (continued)
    "table-constant-column": Case(f"{FIT} {{d}}/constant.csv", "column 'k' is constant (5 in"),
    "table-columns-differ-from-run": Case(
        "score {root}/ppca-table --data {d}/other-columns.csv --out {root}/s.csv",
        "lacks column 'c' that the run was trained on",
    ),
    "objective-for-another-model": Case(
        f"{TRAIN} --data digits --objective reconstruction", "does not train a vae; use elbo"
    ),
    "unknown-objective": Case(f"{TRAIN} --data digits --objective elbow", "got 'elbow'"),
    "objective-option-on-ae": Case(
        "train ae --data digits --quiet --objective iwae --out {root}/new", "does not apply to an"
    ),
    "resume-with-another-width": Case(
        f"{RESUME} {{root}}/vae --hidden 9", "--hidden [9] (the run has [8])"
    ),
    "resume-with-an-option-the-model-lacks": Case(
        "train ae --epochs 2 --quiet --resume --out {root}/ae --beta 2", "--beta does not apply"
    ),
    "resume-with-another-condition": Case(
        "train cvae --epochs 2 --quiet --resume --out {root}/cvae --condition mask:top",
        "--condition 'mask:top' (the run has 'label')",
    ),
    "sample-n-beyond-a-grid": Case("sample {root}/vae --n 100000000", "a PNG grid shows; pass"),
    "sample-n-beyond-memory": Case(
        "sample {root}/vae --n 10000000000000 --npy {d}/s.npy", "of memory, more than the"
    ),
    "sample-per-class-beyond-a-grid": Case(
        "sample {root}/cvae --condition all --n 100000000", "1000000000 samples, more than"
    ),
    "sample-n-negative": Case("sample {root}/vae --n -3", "--n must be a positive integer"),
    "impute-iterations-0": Case(
        "impute {root}/vae --mask top --iterations 0", "--iterations: must be a positive integer"
    ),
    "impute-iterations-negative": Case(
        "impute {root}/ae --mask top --iterations -3", "must be a positive integer, got -3"
    ),
    "impute-samples-beyond-memory": Case(
        "impute {root}/vae --mask top --samples 100000000000000", "pass a smaller --samples"
    ),
    "impute-unknown-mask": Case("impute {root}/vae --mask middle", "got 'middle'"),
    "transfer-all-to-an-unknown-class": Case(
        "transfer {root}/cvae --from-condition all --to-condition twelve", "not a known class"
    ),
    "train-k-beyond-memory": Case(
        f"{TRAIN} --data digits --objective iwae --k 100000000000", "lower --k or --batch-size"
    ),
    "train-threads-beyond-the-cores": Case(f"{TRAIN} --data digits --threads 100000", "CPU cores"),
    "train-batch-size-negative": Case(f"{TRAIN} --data digits --batch-size -5", "--batch-size"),
    # issue 11: a table to impute
    "impute-table-columns-differ-from-run": Case(
        "impute {root}/ppca-table --data {d}/other-columns.csv --out {root}/f.csv",
        "lacks column 'c' that the run was trained on",
    ),
    "train-table-with-missing-cells": Case(f"{TRAIN} --data {{d}}/nan.csv", "--allow-missing"),
    "train-table-constant-column": Case(
        f"{TRAIN} --data {{d}}/constant.csv", "so standardizing divides by zero"
    ),
    "evaluate-ood-file-with-other-columns-on-a-table": Case(
        "evaluate {root}/ppca-table --quiet --no-figures --ood {d}/other-columns.csv",
        "lacks column 'c' that the run was trained on",
    ),
    "evaluate-ood-file-with-missing-cells-on-a-table": Case(
        "evaluate {root}/ppca-table --quiet --no-figures --ood {d}/incomplete.csv",
        "torchlvm score RUN --data",
    ),
    "evaluate-ood-noise-on-a-table": Case(
        "evaluate {root}/ppca-table --quiet --no-figures --ood noise", "pass --ood FILE.csv"
    ),
    "resume-table-with-allow-missing": Case(
        f"{RESUME} {{root}}/vae-table --allow-missing",
        "but --allow-missing (the run has no --allow-missing); drop the option",
    ),
    "resume-table-with-other-drop-columns": Case(
        f"{RESUME} {{root}}/vae-table --drop-columns c",
        "but --drop-columns c (the run has no --drop-columns)",
    ),
    "impute-table-without-out": Case(
        "impute {root}/ppca-table --data {d}/table.csv", "pass --out FILLED.csv: impute writes"
    ),
    "train-over-an-interrupted-run": Case(
        "train vae --data digits --quiet --out {root}/interrupted",
        "an interrupted run of",
    ),
    "fit-over-an-interrupted-run": Case(
        "fit ppca --data digits --latent-dim 2 --out {root}/interrupted", "continue it with"
    ),
    "evaluate-an-interrupted-run": Case(
        "evaluate {root}/interrupted --quiet",
        "was interrupted after an epoch finished (its checkpoints are in",
    ),
    "evaluate-names-the-resume-that-finishes-it": Case(
        "evaluate {root}/interrupted --quiet", "finish it with 'torchlvm train vae --resume --out"
    ),
    "report-an-interrupted-run": Case(
        "report {root}/interrupted", "finish it with 'torchlvm train vae --resume --out"
    ),
    "evaluate-a-run-interrupted-before-its-first-epoch": Case(
        "evaluate {root}/interrupted-early --quiet",
        "interrupted before its first epoch finished, so there is nothing to resume; start it "
        "over with the command that made it",
    ),
    "sample-a-run-interrupted-before-its-first-epoch": Case(
        "sample {root}/interrupted-early", "interrupted before its first epoch finished"
    ),
    "evaluate-an-unfinished-run-in-its-folder": Case(
        "evaluate {root}/unfinished --quiet",
        "holds the checkpoints of a run whose training was interrupted, but no model yet; finish "
        "it with 'torchlvm train vae --resume --out",
    ),
    # a new user's spreadsheets: another separator, a comment, one name twice, huge numbers
    "table-semicolons": Case(f"{FIT} {{d}}/semicolons.csv", "line 32 has 2 cells but the file has"),
    "table-decimal-commas": Case(
        f"{TRAIN} --data {{d}}/decimal-commas.csv",
        "line 33, column 'a': cannot read '12,50 €' as a number; write its numbers without "
        "currency signs",
    ),
    "table-tabs": Case(f"{FIT} {{d}}/tabs.csv", "separates its cells with tabs"),
    "table-comment-line": Case(f"{FIT} {{d}}/comment.csv", "line 1 is a comment"),
    "table-one-name-twice": Case(f"{FIT} {{d}}/same-names.csv", "at index 0 and 2 are both"),
    "table-beyond-float32": Case(f"{FIT} {{d}}/huge.csv", "1 finite but too large value "),
    "unknown-option-names-the-commands-help": Case(f"{FIT} digits --seed 1 7", "7"),
    # an output never replaces the file the command reads, even with --overwrite
    "score-out-onto-its-data": Case(
        "score {root}/ppca-table --data {d}/table.csv --out {d}/table.csv --overwrite",
        "is the --data file this command reads",
    ),
    "impute-out-onto-its-data": Case(
        "impute {root}/ppca-table --data {d}/incomplete.csv --out {d}/incomplete.csv --overwrite",
        "is the --data file this command reads",
    ),
    "encode-out-onto-its-data": Case(
        "encode {root}/vae --data {d}/grey.npy --out {d}/grey.npy --overwrite", "which its output"
    ),
    # a new user's inputs, pass 3
    "ppca-on-one-column": Case(
        f"{FIT} {{d}}/one-column.csv", "has 1 feature column", absent="n_features"
    ),
    "table-trailing-commas": Case(
        f"{FIT} {{d}}/trailing-commas.csv",
        "column 4 (index 3) has no value in any row; drop it (--drop-columns 3, its index counting",
    ),
    "table-missing-cell-named-by-its-line": Case(
        f"{FIT} {{d}}/nan.csv", "(the first on line 2, column 2 (index 1))"
    ),
    "table-missing-cell-named-by-its-column": Case(
        f"{FIT} {{d}}/incomplete.csv --drop-columns a", "(the first on line 3, column 'b')"
    ),
    # a new user's inputs, pass 4: image-only options on a table's run
    "impute-a-table-run-without-its-file": Case(
        "impute {root}/ppca-table",
        "not on images; fill the empty cells of a table with --data FILE.csv --out FILLED.csv",
        absent="--mask",
    ),
    "impute-a-table-run-with-a-mask": Case(
        "impute {root}/vae-table --mask top", "was trained on a table", absent="--mask"
    ),
    "train-cvae-mask-condition-on-a-table": Case(
        f"{TRAIN.replace('vae', 'cvae')} --data {{d}}/table.csv --condition mask:top",
        "rows of 3 values, not images",
        absent="image_shape",
    ),
    "train-conv-on-a-table": Case(
        f"{TRAIN} --data {{d}}/table.csv --arch conv", "use the MLP (--arch mlp", absent="image_"
    ),
    # a table's labels are a column; rows have no image part that mask:KIND could hide
    "cvae-on-a-table-names-label-column": Case(
        "train cvae --data {d}/table.csv --quiet --epochs 1 --out {root}/new",
        "table.csv has none; name the column holding them with --label-column NAME",
        absent="mask:KIND",
    ),
    # a new user's image files, pass 4
    "torch-save-file-as-data": Case(
        f"{TRAIN} --data {{d}}/images.pt",
        "torch.save file of one tensor of shape (30, 4, 4); save it as .npy (in Python: ",
    ),
    "mmap-names-a-missing-pixel": Case(
        f"{TRAIN} --data {{d}}/nan-images.npy --mmap",
        "holds 1 missing (NaN) value (the first in image 3, pixel row 1, column 2, counting "
        "from 0); fill the missing values in, or load the file without --mmap and pass "
        "--allow-missing",
    ),
    "images-normalized-to-minus-one-one": Case(
        f"{TRAIN} --data {{d}}/normalized.npy", "(x * 0.5 + 0.5 undoes Normalize(0.5, 0.5)"
    ),
}


GPU = "--accelerator gpu"
if not torch.cuda.is_available():  # (where a GPU is visible, asking for one is no error)
    CASES.update(  # issue 15: every command that runs a model, asked for a GPU it cannot have
        {
            f"{name}-gpu-without-one": Case(f"{argv} {GPU}", "none visible (no CUDA device)")
            for name, argv in {
                "sample": "sample {root}/vae",
                "reconstruct": "reconstruct {root}/vae",
                "encode": "encode {root}/vae --out {d}/z.npy",
                "impute": "impute {root}/vae --mask top",
                "impute-table": "impute {root}/ppca-table --data {d}/table.csv --out {d}/f.csv",
                "transfer": "transfer {root}/cvae --from-condition 1 --to-condition 2",
                "score": "score {root}/ppca-table --data {d}/table.csv --out {d}/s.csv",
                "evaluate": "evaluate {root}/vae --no-figures",
                "gaps": "gaps {root}/vae",
                "compare": "compare --data digits --epochs 1 --out {root}/new",
            }.items()
        }
    )


def _run_main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        status = main(argv)
    except SystemExit as exit_:  # argparse's usage errors
        status = exit_.code
    return status, capsys.readouterr().err


Refused = Callable[[list[str], int], str]


@pytest.fixture
def refused(capsys: pytest.CaptureFixture[str]) -> Refused:
    """``refused(argv, status)``: run the CLI in this process, check that it exits with
    ``status`` and prints one ``torchlvm: error:`` line and no traceback; return that line."""

    def run(argv: list[str], status: int) -> str:
        code, err = _run_main(argv, capsys)
        assert code == status, err
        return error_line(err)

    return run


def _argv(case: Case, root: Path) -> list[str]:
    return case.argv.format(root=root, d=root / "data").split()


@pytest.mark.budget(30)
@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_clear_line_and_changes_nothing(
    world: Path, name: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    case = CASES[name]
    _isolate_search(monkeypatch, world)
    before = folder_digest(world)
    status, err = _run_main(_argv(case, world), capsys)
    assert status == case.status, err
    line = error_line(err)
    assert case.match in line, line
    assert not case.absent or case.absent not in line, line
    assert folder_digest(world) == before, "files under the test folder changed"


# -- positive controls: the cases above fail for the reason stated, not for any reason ----------


def test_the_fixed_inputs_work(world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """NaN is allowed where it should be (PPCA's EM), a report on a run with no figures states
    what is missing instead of failing, and the dimension check passes data of the right size."""
    _isolate_search(monkeypatch, world)
    out = tmp_path / "em"
    argv = ["fit", "ppca", "--data", str(world / "data/nan.csv"), "--latent-dim", "1"]
    assert main([*argv, "--method", "em", "--allow-missing", "--out", str(out)]) == 0
    assert (out / "model.safetensors").is_file()
    report_of = tmp_path / "ppca"
    import shutil

    shutil.copytree(world / "ppca", report_of)
    assert main(["report", str(report_of)]) == 0
    html = (report_of / "report.html").read_text()
    assert "missing" in html.lower() or "no figures" in html.lower()


def test_the_data_a_data_dir_must_not_fall_back_to_is_there(
    world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The data-dir rows fail because an explicit --data-dir is the only place looked in: without
    it, the copy in the search path is found."""
    _isolate_search(monkeypatch, world)
    out = tmp_path / "found"
    assert main(["fit", "ppca", "--data", "mnist", "--latent-dim", "1", "--out", str(out)]) == 0


# -- unreadable paths ----------------------------------------------------------------------------


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_an_unreadable_file_is_one_line(
    world: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "secret.csv"
    path.write_text("1,2\n3,4\n5,6\n7,8\n")
    path.chmod(0)
    try:
        argv = [
            "fit",
            "ppca",
            "--data",
            str(path),
            "--latent-dim",
            "1",
            "--out",
            str(tmp_path / "o"),
        ]
        status, err = _run_main(argv, capsys)
    finally:
        path.chmod(0o600)
    assert status in (1, 2)
    assert "ermission denied" in error_line(err)
    assert not (tmp_path / "o").exists()


# -- a full disk ---------------------------------------------------------------------------------


def _disk_full(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every atomic write fails at its final rename with ENOSPC (after writing its bytes)."""

    def no_space(src, dst, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))

    monkeypatch.setattr(files.os, "replace", no_space)


FULL_DISK = {
    "fit": "fit ppca --data digits --latent-dim 2 --out {tmp}/new",
    "evaluate": "evaluate {tmp}/vae --k 2 --n 10 --quiet --ood none",
    "sample": "sample {tmp}/vae --out {tmp}/vae/s.png --npy {tmp}/vae/s.npy",
    "encode": "encode {tmp}/vae --out {tmp}/vae/z.npy --overwrite",
    "train": "train vae --data digits --latent-dim 2 --hidden 8 --quiet --epochs 1 --out {tmp}/new",
    "report": "report {tmp}/vae",
}


@pytest.mark.budget(40)
@pytest.mark.parametrize("name", list(FULL_DISK))
def test_a_full_disk_is_one_line_and_leaves_no_partial_file(
    world: Path,
    tmp_path: Path,
    name: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import shutil

    work = tmp_path / "work"
    shutil.copytree(world / "vae", work / "vae")
    files.write_json(work / "vae" / "metrics.json", {"earlier": True})
    (work / "vae" / "z.npy").write_bytes(b"earlier latents")
    written.expect(work / "vae" / "z.npy")  # (as if encode wrote it: --overwrite may replace it)
    written.record(work / "vae" / "z.npy")
    _isolate_search(monkeypatch, tmp_path)  # a fresh user cache: evaluate writes one there first
    before = folder_digest(work, folders=False)  # (an empty new folder may stay)
    _disk_full(monkeypatch)
    status, err = _run_main(FULL_DISK[name].format(tmp=work).split(), capsys)
    assert status == 1, err
    assert "No space left on device" in error_line(err)
    assert folder_digest(work, folders=False) == before
    assert not list(tmp_path.rglob("*.tmp")), "temporary files left behind"


def _quick_evaluation(monkeypatch: pytest.MonkeyPatch, world: Path, tmp_path: Path) -> None:
    """Isolated search, and a sample-quality classifier of a few steps in a cache of its own
    (these tests are about metrics.json, not about the classifier)."""
    from torchlvm.evaluation import features

    _isolate_search(monkeypatch, world)
    monkeypatch.setenv("TORCHLVM_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(features, "TRAIN_STEPS", 20)


@pytest.mark.budget(40)
def test_evaluate_after_fit_keeps_fits_numbers(
    world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """evaluate merges into the metrics.json that fit wrote: its train log-likelihood, noise
    variance and fit time survive (issue 10: they were replaced)."""
    import shutil

    _quick_evaluation(monkeypatch, world, tmp_path)
    run = tmp_path / "ppca"
    shutil.copytree(world / "ppca", run)
    fitted = json.loads((run / "metrics.json").read_text())
    argv = ["evaluate", str(run), "--k", "2", "--n", "20", "--quiet", "--no-figures"]
    assert main([*argv, "--ood", "none"]) == 0
    merged = json.loads((run / "metrics.json").read_text())
    kept = ("train_log_likelihood", "test_log_likelihood", "noise_variance", "fit_seconds")
    assert {key: merged[key] for key in kept} == {key: fitted[key] for key in kept}
    assert merged["likelihood"]["exact"]["nats"]["kind"] == "exact"


@pytest.mark.budget(40)
def test_a_disk_that_fills_while_merging_metrics_keeps_the_old_file(
    world: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only the merge of metrics.json fails (everything before it succeeds): one line, exit 1,
    the old metrics.json byte for byte, no temporary file."""
    import shutil

    _quick_evaluation(monkeypatch, world, tmp_path)
    run = tmp_path / "ppca"
    shutil.copytree(world / "ppca", run)
    before = folder_digest(run)
    real = files.os.replace

    def full_for_metrics(src, dst, *args, **kwargs):
        if Path(dst).name == "metrics.json":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(files.os, "replace", full_for_metrics)
    argv = ["evaluate", str(run), "--k", "2", "--n", "20", "--quiet", "--no-figures", "--ood"]
    status, err = _run_main([*argv, "none"], capsys)
    assert status == 1, err
    assert "No space left on device" in error_line(err)
    assert folder_digest(run) == before
    assert not list(tmp_path.rglob("*.tmp")), "temporary files left behind"


@pytest.mark.budget(40)
def test_a_disk_that_fills_during_training_keeps_the_finished_epochs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = torch.save

    def fill_up(obj, path, *args, **kwargs):
        if isinstance(obj, dict) and obj.get("epoch") == 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(obj, path, *args, **kwargs)

    monkeypatch.setattr(torch, "save", fill_up)
    out = tmp_path / "run"
    argv = ["train", "vae", "--data", "digits", *TINY[:-1], "3", "--out", str(out)]
    status, err = _run_main(argv, capsys)
    assert status == 1, err
    line = error_line(err)
    assert "No space left on device" in line
    assert f"finish it with 'torchlvm train vae --resume --out {out}" in line
    assert load_ckpt(out / "checkpoints" / "last.ckpt")["epoch"] == 0
    assert not (out / "model.safetensors").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no staging folder left


# -- real processes ------------------------------------------------------------------------------

SUBPROCESS_CASES = [
    "unknown-dataset-fit",
    "idx-truncated",
    "checkpoint-of-another-model",
    "evaluate-k-0",
    "out-inside-a-file",
]


@pytest.mark.budget(60)
def test_the_installed_command_prints_no_traceback(world: Path) -> None:
    env_root = str(_nowhere(world))
    for name in SUBPROCESS_CASES:
        case = CASES[name]
        before = folder_digest(world)
        env = {"TORCHLVM_DATA": env_root, "XDG_CACHE_HOME": env_root}
        done = run_cli(_argv(case, world), timeout=50, extra_env=env)
        assert done.returncode == case.status, (name, done.stderr)
        assert case.match in error_line(done.stderr), name
        assert folder_digest(world) == before, name


@pytest.mark.budget(90)
def test_ctrl_c_during_training_stops_cleanly_and_keeps_the_checkpoint(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["train", "vae", "--data", "digits", "--latent-dim", "4", "--hidden", "512", "512"]
    args += ["--batch-size", "16", "--epochs", "50", "--out", str(out)]
    proc = start_cli(args)

    def checkpointed() -> bool:
        return any(tmp_path.glob(".run.*/checkpoints/last.ckpt"))

    wait_for(checkpointed, proc, timeout=60)  # epoch 1 of 50 finished: training is in its loop
    time.sleep(0.3)
    assert proc.poll() is None, "the training ended before it was interrupted"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=patience(30))
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("torchlvm: ")]
    assert lines[-1] == "torchlvm: error: interrupted (Ctrl-C)"
    assert any(f"finish it with 'torchlvm train vae --resume --out {out}'" in s for s in lines), err
    checkpoint = load_ckpt(out / "checkpoints" / "last.ckpt")
    assert 0 <= checkpoint["epoch"] < 49
    assert not (out / "model.safetensors").exists()
    assert not list(tmp_path.glob(".run.*")), "the staging folder was left behind"
    record = json.loads((out / "checkpoints" / "run.json").read_text())
    assert record["model_type"] == "vae"


def test_the_commands_the_tests_start_take_ctrl_c() -> None:
    """What the Ctrl-C tests rely on: the process they send SIGINT to does not ignore it."""
    probe = "import signal; print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)"
    child = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=cli_env()
    )  # (started as start_cli starts torchlvm; its handler is the interpreter's, as torchlvm's)
    assert child.stdout.strip() == "True", child.stderr


@pytest.mark.budget(60)
def test_tests_started_as_a_background_job_still_send_a_real_ctrl_c() -> None:
    """A shell starts a background job (``pytest ... &`` in a script) with SIGINT ignored, which
    every process it starts inherited: the Ctrl-C test's training then ignored its SIGINT, ran
    to its last epoch and exited 0 instead of 130. The suite's conftest takes Ctrl-C back."""
    test = f"{Path(__file__)}::test_the_commands_the_tests_start_take_ctrl_c"
    pytest_in_background = (  # (what `sh -c 'pytest ... &'` does to SIGINT)
        f"trap '' INT; exec {shlex.quote(sys.executable)} -m pytest -q -p no:cacheprovider "
        + shlex.quote(test)
    )
    done = subprocess.run(
        ["sh", "-c", pytest_in_background],
        capture_output=True,
        text=True,
        timeout=patience(50),
        env=cli_env(),
        cwd=Path(__file__).parents[2],
    )
    assert done.returncode == 0, done.stdout[-3000:]


# -- issue 10: the run folder's owner, over the CLI ----------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "vae", "--data", "digits", "--out", ""],
        ["fit", "ppca", "--data", "digits", "--latent-dim", "2", "--out", ""],
        ["report", "RUN", "--out", " "],
    ],
    ids=["train", "fit", "report"],
)
def test_an_empty_out_is_one_line_and_not_the_current_folder(
    world: Path, tmp_path: Path, argv: list[str], refused: Refused, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    argv = [str(world / "vae") if a == "RUN" else a for a in argv]
    assert "argument --out: the path is empty" in refused(argv, 2)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.budget(60)
def test_a_refused_rename_at_publish_keeps_the_old_run_and_the_new_one_named(
    world: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import shutil

    import torchlvm.run.publish as publish

    shutil.copytree(world / "ppca", tmp_path / "ppca")
    before = folder_digest(tmp_path)
    real = os.rename

    def no_space_for_the_new_run(src, dst, *args, **kwargs):
        if str(src).endswith(".torchlvm-stage"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(publish.os, "rename", no_space_for_the_new_run)
    argv = ["fit", "ppca", "--data", "digits", "--latent-dim", "3"]
    status, err = _run_main([*argv, "--out", str(tmp_path / "ppca"), "--overwrite"], capsys)
    assert status == 1, err
    line = error_line(err)
    assert "No space left on device" in line
    # the old run as it was, no trash folder; the finished new run is kept (a long training
    # is not thrown away, 7e19b91) where the message says, and it loads once moved
    staged = tmp_path / ".ppca.torchlvm-stage"
    assert f"the finished run was left in {staged}; move it where you want it" in line
    after = folder_digest(tmp_path)
    assert {k: v for k, v in after.items() if not k.startswith(staged.name)} == before
    real(staged, tmp_path / "ppca-new")
    from torchlvm import load
    from torchlvm.protocol import latent_size

    assert latent_size(load(tmp_path / "ppca-new")) == 3


@pytest.mark.budget(60)
def test_a_full_disk_while_writing_metrics_csv_keeps_whole_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from torchlvm.training import metrics_csv

    real = metrics_csv.write_text
    calls = {"n": 0}

    def fills_up(path, text):
        calls["n"] += 1
        if calls["n"] > 2:  # the rows of epoch 0 were written
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(path, text)

    monkeypatch.setattr(metrics_csv, "write_text", fills_up)
    out = tmp_path / "run"
    argv = ["train", "vae", "--data", "digits", *TINY[:-1], "3", "--out", str(out)]
    status, err = _run_main(argv, capsys)
    assert status == 1, err
    assert "No space left on device" in error_line(err)
    assert [p.name for p in tmp_path.iterdir()] in ([], ["run"])  # no staging folder left
    assert not list(tmp_path.rglob("*.tmp")) and not list(tmp_path.rglob(LOCK_NAME))
    if out.exists():  # what was kept is whole: a readable table and a loadable checkpoint
        from torchlvm.training.metrics_csv import read_metrics

        assert read_metrics(out / "metrics.csv")
        assert load_ckpt(out / "checkpoints" / "last.ckpt")["epoch"] >= 0


def test_a_stale_lock_of_a_dead_process_is_taken_over(
    world: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    run = tmp_path / "vae"
    shutil.copytree(world / "vae", run)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    holder = {"pid": dead.pid, "host": socket.gethostname(), "command": "t", "started": "t"}
    (run / LOCK_NAME).write_text(json.dumps(holder))
    assert main(["encode", str(run)]) == 0  # a reader does not wait for the dead
    argv = ["train", "vae", "--epochs", "2", "--quiet", "--resume", "--out", str(run)]
    assert main(argv) == 0, capsys.readouterr().err
    assert not (run / LOCK_NAME).exists()


@pytest.mark.budget(60)
def test_a_folder_name_that_is_not_utf8_works(tmp_path: Path) -> None:
    """Over real processes (whose output streams are the user's): fit, report and encode on a
    run whose name is not UTF-8, and the messages name it with its own bytes."""
    out = tmp_path / os.fsdecode(b"run-\xff\xfe")
    for argv in (
        ["fit", "ppca", "--data", "digits", "--latent-dim", "2", "--out", str(out)],
        ["report", str(out)],
        ["encode", str(out)],
    ):
        done = subprocess.run(cli(*argv), capture_output=True, timeout=patience(60), env=cli_env())
        assert done.returncode == 0, done.stderr
        assert os.fsencode(out) in done.stdout
    assert {p.name for p in out.iterdir()} >= {"report.html", "latents.npy", "model.safetensors"}


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes whatever the permissions")
def test_an_unwritable_parent_is_one_line_and_leaves_nothing(
    tmp_path: Path, refused: Refused
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        argv = ["fit", "ppca", "--data", "digits", "--latent-dim", "2"]
        line = refused([*argv, "--out", str(locked / "run")], 1)
    finally:
        locked.chmod(0o755)
    assert "ermission denied" in line
    assert list(locked.iterdir()) == []


@pytest.mark.budget(120)
def test_two_concurrent_trains_into_one_folder_one_wins_the_other_is_one_line(
    tmp_path: Path,
) -> None:
    """Both start at once; exactly one trains, the other names it and writes nothing. While the
    winner trains, evaluate on the run says so instead of reading stale weights."""
    out = tmp_path / "x"
    args = ["train", "vae", "--data", "digits", "--latent-dim", "4", "--hidden", "256", "256"]
    # epochs enough that the winner is still training when evaluate asks, on any machine (it
    # is stopped by Ctrl-C below, so they cost nothing)
    args += ["--batch-size", "16", "--epochs", "1000", "--quiet", "--out", str(out)]
    first, second = start_cli(args), start_cli(args)
    loser = None
    deadline = time.monotonic() + patience(90)
    while loser is None and time.monotonic() < deadline:
        loser = next((p for p in (first, second) if p.poll() is not None), None)
        time.sleep(0.05)
    assert loser is not None, "neither process was refused"
    winner = second if loser is first else first
    assert winner.poll() is None, "the winner ended early"
    _, err = loser.communicate(timeout=patience(10))
    assert loser.returncode == 2, err
    assert error_line(err) == (
        f"torchlvm: error: {out} is being trained by pid {winner.pid}; wait for it to finish"
    )
    done = run_cli(["evaluate", str(out)], timeout=60)  # (every reader: the table above)
    assert done.returncode == 2, done.stderr
    assert (
        error_line(done.stderr)
        == f"torchlvm: error: {out} {BUSY} {winner.pid}; wait for it to finish"
    )
    winner.send_signal(signal.SIGINT)
    _, err = winner.communicate(timeout=patience(60))
    assert winner.returncode == 130, err
    assert not list(tmp_path.rglob(LOCK_NAME)), "a lock was left behind"


def test_an_unknown_argument_points_to_the_commands_help(capsys: pytest.CaptureFixture[str]):
    """argparse's top-level parser used to name 'torchlvm --help', which lists no option."""
    status, err = _run_main(["sample", "run", "--n", "2", "--colour", "red"], capsys)
    assert status == 2
    assert error_line(err).endswith("unrecognized arguments: --colour red")
    assert err.splitlines()[-1] == "  see 'torchlvm sample --help'"
