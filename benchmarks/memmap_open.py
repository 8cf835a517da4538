"""How long opening a large ``.npy`` file for streamed training takes (``--mmap``), and its peak
memory, per source tree: before torchlvm.data.memmap learned the file's values in one pass
(``file_values``), the train and the validation split each read the whole file to check its
range for the binarizing protocol, and a float file once more for NaN and infinities, an
integer one to learn whether it holds 8-bit levels.

Files (written to ``--dir``, the system's temporary folder by default, deleted at the end), about
``--gib`` GiB each: ``float32`` (N, 28, 28) Fashion-MNIST training images / 255, tiled; and
``uint16`` (N, 28, 28) of the same images' 0..255 levels (read as 8-bit grey levels). Each round
runs, once per tree and file, a fresh worker process that opens the file as training does,
``LVMDataModule(FILE, binarize="dynamic", options={"mmap": True}).setup()`` (the train and the
validation split), and reports the seconds of ``setup()`` and its peak resident set size
(``VmHWM``, the interpreter and torch included). The files are read from the page cache (just
written): this measures the passes' CPU, not the disk.

    .venv/bin/python benchmarks/memmap_open.py --src before=/tmp/old/src --src after=src \\
        --rounds 3 --out benchmarks/results/memmap_open.md
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _machine as M  # noqa: E402

SIDE = 28
DTYPES = ("float32", "uint16")


def write_file(path: Path, dtype: str, gib: float) -> int:
    """A ``dtype`` (N, 28, 28) file of about ``gib`` GiB of tiled Fashion-MNIST; returns N."""
    import numpy as np

    from torchlvm.data import load_dataset

    levels = np.rint(load_dataset("fashion-mnist", "train").x.numpy() * 255)  # (60000, 784)
    images = (levels / 255 if dtype == "float32" else levels).astype(dtype)
    images = images.reshape(-1, SIDE, SIDE)
    n = int(gib * 2**30 // (SIDE * SIDE * images.itemsize))
    M.tiled_npy(path, images, n)
    return n


def worker(path: str) -> None:
    from torchlvm.training import LVMDataModule

    start = time.perf_counter()
    dm = LVMDataModule(path, binarize="dynamic", batch_size=128, options={"mmap": True})
    dm.setup()
    M.emit({"open_s": time.perf_counter() - start, "rows": len(dm.train_data)})


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        worker(argv[1])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    M.tree_options(parser, rounds=3)
    parser.add_argument("--gib", type=float, default=1.0, help="size of each file, GiB")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args(argv)
    trees = M.trees(args)
    header = M.machine_lines(interleaved=True)
    runs = [f"{tree} {dtype}" for dtype in DTYPES for tree in trees]
    with tempfile.TemporaryDirectory(prefix="torchlvm-memmap-open-", dir=args.dir) as scratch:
        files = {dtype: Path(scratch, f"{dtype}.npy") for dtype in DTYPES}
        rows = {dtype: write_file(files[dtype], dtype, args.gib) for dtype in DTYPES}

        def run(name: str, _round: int) -> dict[str, float]:
            tree, dtype = name.split()
            worker_args = ["benchmarks/memmap_open.py", "--worker", str(files[dtype])]
            return M.run_worker(worker_args, env={"PYTHONPATH": trees[tree]}, timeout=1800)

        results = M.interleaved(runs, args.rounds, run)
    table = []
    for dtype in DTYPES:
        first = None
        for tree in trees:
            got = results[f"{tree} {dtype}"]
            each = [r["open_s"] for r in got]
            seconds = M.median(each)
            first = first or seconds
            table.append(
                f"| {dtype} | {tree} | {seconds:.2f} | {seconds / first:.3f} | "
                f"{', '.join(f'{s:.2f}' for s in each)} | "
                f"{max(r['peak_rss_mib'] for r in got):.0f} |"
            )
    M.write_results(
        args.out,
        [
            "# Opening a large .npy file for streamed training (--mmap): seconds and peak memory "
            "per source tree",
            "",
            *header,
            f"- command: `{M.command_line('benchmarks/memmap_open.py', sys.argv[1:])}`",
            f"- trees: {', '.join(f'`{n}` = `{p}`' for n, p in trees.items())}",
            f"- files: {args.gib:g} GiB each, (N, 28, 28): float32 ({rows['float32']:,} images "
            f"of Fashion-MNIST / 255) and uint16 ({rows['uint16']:,} images of its 0..255 "
            "levels), read from the page cache",
            "- each round, once per tree and file, a fresh process: "
            "`LVMDataModule(FILE, binarize='dynamic', options={'mmap': True}).setup()` "
            "(train and validation splits), timed; peak RSS is the process's VmHWM",
            "",
            "| file | tree | median open (s) | ratio to the first tree | rounds (s) | "
            "peak RSS (MiB, max) |",
            "|---|---|---|---|---|---|",
            *table,
            "",
        ],
    )


if __name__ == "__main__":
    main()
