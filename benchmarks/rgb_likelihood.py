"""Which p(x | z) should RGB image files get by default: the grey images' Bernoulli on
dynamically binarized pixels, or a Gaussian? Measured on colour digits, with grey digits as the
control.

Data, saved as ``uint8`` ``.npy`` files and read as every image file is (divided by 255): grey
digits, scikit-learn's 1,797 (8 × 8, grey levels g in [0, 1]), ``(N, 8, 8)``; colour digits,
each painted with its own random ink and paper colours (uniform in [0, 1]³, seeded),
x = paper · (1 − g) + ink · g per channel, ``(N, 3, 8, 8)``, whose pixels spread over [0, 1] as
natural colour images' do, where grey digits sit near 0 and 1; colour fashion, the first 3,000
Fashion-MNIST images painted the same way, ``(N, 3, 28, 28)``.

Each configuration is trained through the command line, ``torchlvm train vae --data FILE``, with
the image defaults (K = 20, one ReLU layer of 400, 20 epochs, batches of 128) and the seeded
80/10/10 split:

- ``bernoulli+dynamic``: the default now (Bernoulli p(x | z), pixels redrawn as Bernoulli(x) on
  every pass, Burda et al. 2016);
- ``gaussian+fixed``: ``--likelihood gaussian --binarize none`` alone, what a refusal offers
  (σ = 1 fixed);
- ``gaussian+diagonal``: a Gaussian with a learned σ per pixel (``--variance diagonal``), the
  table default, σ starting at 1;
- ``gaussian+fixed 0.1`` and ``gaussian+diagonal 0.1``: the same with σ = 0.1 (``--scale 0.1``),
  fixed or where the learned σ starts: σ = 1 on pixels in [0, 1] weighs the reconstruction so
  little against the KL term that q(z | x) may carry almost nothing in 20 epochs.

On the test split (10%), for every configuration:

- **reconstruction error**: mean squared error per pixel between the test image and the decoder
  mean at the posterior mean; the encoder is fed what the model is evaluated on (one seeded
  Bernoulli draw under ``dynamic``, the grey levels otherwise);
- **sample Fréchet distance**: between the decoder means at 2,000 draws z ~ p(z) and every image
  of the set, in pixel space (``torchlvm.evaluation.frechet_distance``; lower is better);
- **test log p(x)** for the Gaussians, a density on [0, 1]^D, importance-sampled with 1,000
  draws from q(z | x) (nats per image). The Bernoulli models give none that compares: under
  ``dynamic`` theirs is of one binary draw of the image, and a Bernoulli puts no mass on an
  image whose pixels are not all 0 or 1.

What others do: dynamic binarization is the protocol of the binarized-MNIST and Omniglot
benchmarks (Burda et al. 2016, section 5.1); VAEs of colour images model the values, with a
Gaussian (σ learned: Rybkin et al. 2021, "Simple and Effective VAE Training with Calibrated
Decoders"; pythae's default ``mse``) or a discretized logistic (Kingma et al. 2016, IAF, on
CIFAR-10; Vahdat & Kautz 2020, NVAE); disentanglement_lib uses a Bernoulli cross-entropy on
non-binary colour values, which is no likelihood of them (Loaiza-Ganem & Cunningham 2019, "The
continuous Bernoulli").

Run: ``.venv/bin/python benchmarks/rgb_likelihood.py`` (writes
benchmarks/results/rgb_likelihood.md).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from _tables import cli_quietly, one_thread, result_header
from sklearn.datasets import load_digits

import torchlvm
from torchlvm.data import load_dataset
from torchlvm.errors import DataNotFoundError
from torchlvm.evaluation import frechet_distance
from torchlvm.inference import log_marginal_is

GAUSSIAN = ("--likelihood", "gaussian", "--binarize", "none")
CONFIGS: dict[str, list[str]] = {
    "bernoulli+dynamic": ["--likelihood", "bernoulli", "--binarize", "dynamic"],
    "gaussian+fixed": [*GAUSSIAN],
    "gaussian+diagonal": [*GAUSSIAN, "--variance", "diagonal"],
    "gaussian+fixed 0.1": [*GAUSSIAN, "--scale", "0.1"],
    "gaussian+diagonal 0.1": [*GAUSSIAN, "--variance", "diagonal", "--scale", "0.1"],
}


def _paint(grey: np.ndarray, seed: int) -> np.ndarray:
    """``(N, H, W)`` grey levels as ``(N, 3, H, W)`` colour images: each image's own random ink
    and paper colours, x = paper · (1 − g) + ink · g per channel."""
    ink, paper = np.random.default_rng(seed).uniform(size=(2, len(grey), 3, 1, 1))
    return paper * (1 - grey[:, None]) + ink * grey[:, None]


def write_images(folder: Path, fashion: int) -> dict[str, Path]:
    """The grey and colour digits (and the first ``fashion`` Fashion-MNIST training images in
    colour, where found) as uint8 .npy files in ``folder``."""
    grey = load_digits().images / 16.0  # (N, 8, 8) in [0, 1]
    sets = {"grey digits": grey, "colour digits": _paint(grey, 0)}
    if fashion:
        try:
            clothes = load_dataset("fashion-mnist", "all").x[:fashion].numpy()
            sets["colour fashion"] = _paint(clothes.reshape(-1, 28, 28), 1)
        except DataNotFoundError:
            print("Fashion-MNIST not found: left out")
    paths = {}
    for name, images in sets.items():
        paths[name] = folder / f"{name.replace(' ', '-')}.npy"
        np.save(paths[name], np.round(images * 255).astype(np.uint8))
    return paths


def one(path: Path, config: str, seed: int, folder: Path) -> dict[str, float]:
    """Train ``config`` on the file at ``path`` and measure it on the test split."""
    run = folder / f"{path.stem}-{config.replace(' ', '-')}-{seed}"
    start = time.perf_counter()
    cli_quietly(["train", "vae", "--data", str(path), *CONFIGS[config], "--seed", str(seed),
            "--quiet", "--out", str(run)])  # fmt: skip
    seconds = time.perf_counter() - start
    with torch.no_grad():  # (after training, which turns gradients on)
        return _measure(torchlvm.load(run), path, config, seed) | {"seconds": seconds}


def _measure(model: torch.nn.Module, path: Path, config: str, seed: int) -> dict[str, float]:
    """Reconstruction error, sample Fréchet distance and (Gaussians) test log p(x)."""
    test = load_dataset(path, "test", seed=seed).x  # (n, D) in [0, 1]
    fed = test
    if config.endswith("dynamic"):
        fed = torch.bernoulli(test, generator=torch.Generator().manual_seed(seed))
    torch.manual_seed(seed)
    reconstruction = model.decode(model.encode(fed).mean).mean
    samples = model.decode(model.prior(batch_shape=(2000,)).sample()).mean  # (2000, D)
    every = load_dataset(path, "all").x
    result = {
        "mse": float(((reconstruction - test) ** 2).mean()),
        "fd": frechet_distance(samples, every),
    }
    if config.startswith("gaussian"):
        result["log_px"] = float(log_marginal_is(model, test, num_samples=1000).mean.mean())
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--fashion", type=int, default=3000, help="Fashion images (0: none)")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results/rgb_likelihood.md"
    )
    args = parser.parse_args()
    start = one_thread()
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        paths = write_images(Path(scratch), args.fashion)
        for data, path in paths.items():
            for seed in args.seeds:  # seeds outermost: a slow patch of the machine hits all
                for config in CONFIGS:
                    r = one(path, config, seed, Path(scratch))
                    print(data, config, seed, r, flush=True)
                    rows.append((data, config, seed, r))
    lines = [
        *result_header(
            "RGB image files: Bernoulli on dynamically binarized pixels against a Gaussian",
            __doc__,
            time.perf_counter() - start,
        ),
        "Per seed; then the median over seeds. MSE: per pixel, test images (lower is better); "
        "FD: sample Fréchet distance in pixel space (lower is better); log p(x): an "
        "importance-sampled estimate (k = 1,000) of a density on [0, 1]^D, nats per test image "
        "(higher is better), Gaussians only, not comparable with a Bernoulli's; s: wall time of "
        "the whole train command on this shared machine.",
        "",
        "| data | p(x \\| z) + protocol | seed | MSE | FD | log p(x) | s |",
        "|---|---|---|---|---|---|---|",
    ]
    for data, config, seed, r in rows:
        log_px = f"{r['log_px']:.1f}" if "log_px" in r else "—"
        lines.append(
            f"| {data} | {config} | {seed} | {r['mse']:.4f} | {r['fd']:.3f} | {log_px} | "
            f"{r['seconds']:.0f} |"
        )
    lines += ["", "| data | p(x \\| z) + protocol | median MSE | median FD |", "|---|---|---|---|"]
    for data in dict.fromkeys(d for d, *_ in rows):
        for config in CONFIGS:
            mine = [r for d, c, _, r in rows if (d, c) == (data, config)]
            mse = statistics.median(r["mse"] for r in mine)
            fd = statistics.median(r["fd"] for r in mine)
            lines.append(f"| {data} | {config} | {mse:.4f} | {fd:.3f} |")
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
