"""What ``torchlvm evaluate``'s default k = 1000 gives up against k = 5000: the importance-sampled
log p(x) of the same test images at both k (same seed), the paired difference with its standard
error, the Monte Carlo standard error of the mean at each k, the spread of log p(x) over images,
and the CPU seconds per image-sample (one thread).

Usage:
    python benchmarks/evaluate_k_bias.py RUN [--n 400]
"""

from __future__ import annotations

import argparse
import json
import math
import time

import torch

from torchlvm import load
from torchlvm.data import load_dataset
from torchlvm.inference import log_marginal_is


def estimate(model, x: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Per-image log p̂(x) and its standard error at ``k``, and the CPU seconds it took."""
    torch.manual_seed(1)
    start = time.thread_time()
    parts = [log_marginal_is(model, x[i : i + 100], num_samples=k) for i in range(0, len(x), 100)]
    seconds = time.thread_time() - start
    mean = torch.cat([p.mean for p in parts]).double()
    return mean, torch.cat([p.stderr for p in parts]).double(), seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a run folder trained on fashion-mnist")
    parser.add_argument("--n", type=int, default=400, help="test images (a seeded subsample)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    model = load(args.run).eval()
    test = load_dataset("fashion-mnist", "test", binarize="dynamic")
    rows = torch.randperm(len(test), generator=torch.Generator().manual_seed(0))[: args.n]
    x = test.fixed_binarized(0)[rows.sort().values]
    out, means = {}, {}
    for k in (1000, 5000):
        means[k], se, seconds = estimate(model, x, k)
        out[k] = {
            "mean": float(means[k].mean()),
            "mc_stderr_of_mean": float(se.pow(2).sum().sqrt() / len(x)),
            "sd_over_images": float(means[k].std()),
            "cpu_us_per_image_sample": 1e6 * seconds / (len(x) * k),
        }
    diff = means[5000] - means[1000]
    out["k5000_minus_k1000"] = {
        "mean": float(diff.mean()),
        "stderr": float(diff.std() / math.sqrt(len(diff))),
    }
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
