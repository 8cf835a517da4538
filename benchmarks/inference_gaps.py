"""Cremer, Li & Duvenaud 2018's inference-gap decomposition on thresholded Fashion-MNIST, for a
VAE trained with a diagonal q and one trained with a flow q (issue 13, item 4).

For each model (trained by ``benchmarks/posteriors.py``, same data, epochs and seed), on the
first ``--n`` test images (thresholded at 0.5), :func:`torchlvm.inference.gaps.inference_gaps`
reports per image, with standard errors:

- log p(x) by AIS (``--ais`` HMC steps, ``--chains`` chains; Cremer et al. also use AIS);
- ELBO(q_enc), the encoder's q;
- ELBO(q*), the best q of the model's own family per image (``--steps`` Adam steps from the
  encoder's q; for the flow model its base Gaussian and context under the encoder's coupling
  networks);
- ELBO(q*_Flow), a flow fitted per image (``--flow-steps`` coupling transforms, each image with
  its own networks) started from q*,

hence the approximation gap log p(x) − ELBO(q*) and the amortization gap ELBO(q*) − ELBO(q_enc).

Their findings to check (their Table 2, Fashion-MNIST): the amortization gap is a large share of
the inference gap; a flow q* closes part of the approximation gap of a Gaussian model; training
with a flow q shrinks both gaps of that model.

Run: ``nice -n 10 .venv/bin/python benchmarks/inference_gaps.py --runs DIR/runs`` after
``benchmarks/posteriors.py --out DIR`` (writes ``benchmarks/results/inference_gaps.md`` and
``benchmarks/results/inference_gaps.png``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _machine as M  # noqa: E402

RESULTS = M.ROOT / "benchmarks" / "results"
ROWS = (
    ("log_px", "log p(x) (AIS)"),
    ("flow_elbo", "ELBO(q*_Flow), flow fitted per image"),
    ("best_elbo", "ELBO(q*), best q of the model's family"),
    ("encoder_elbo", "ELBO(q_enc), amortized"),
    ("approximation_gap", "approximation gap log p(x) − ELBO(q*)"),
    ("amortization_gap", "amortization gap ELBO(q*) − ELBO(q_enc)"),
    ("inference_gap", "inference gap log p(x) − ELBO(q_enc)"),
    ("flow_approximation_gap", "gap left by the flow log p(x) − ELBO(q*_Flow)"),
)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", required=True, type=Path, help="runs folder of posteriors.py")
    parser.add_argument("--models", default="diag,flow")
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--ais", type=int, default=200)
    parser.add_argument("--chains", type=int, default=8)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--flow-steps", type=int, default=2)
    parser.add_argument("--elbo-samples", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    command = "python benchmarks/inference_gaps.py " + " ".join(sys.argv[1:])
    load_at_start = M.load_average()

    from torchlvm import load
    from torchlvm.data import load_dataset
    from torchlvm.inference.gaps import inference_gaps
    from torchlvm.io import read_config
    from torchlvm.plots.gaps_decomposition import decomposition_figure
    from torchlvm.plots.inference import save_figure

    x = load_dataset("fashion-mnist", "test", binarize="threshold", seed=0).x[: args.n].float()
    store = args.runs.parent / "inference_gaps.json"  # models analysed by earlier invocations
    records = json.loads(store.read_text()) if store.is_file() else {}
    summaries = {name: r["mean"] for name, r in records.items()}
    for name in args.models.split(","):
        folder = args.runs / name
        model = load(folder)
        config = read_config(folder)["model"]
        log(f"{name}: {config.get('posterior', 'diag')} q, {args.n} images")
        started = time.perf_counter()
        report = inference_gaps(
            model, x, local_steps=args.steps, lr=0.02, num_samples=8,
            elbo_samples=args.elbo_samples, chunk=250, seed=0, ais_steps=args.ais,
            ais_chains=args.chains, flow_steps=args.flow_steps,
        )  # fmt: skip
        seconds = time.perf_counter() - started
        summaries[name] = report.summary()
        records[name] = {**report.to_dict(), "seconds": seconds, "config": config}
        records[name] |= {"command": command, "load_at_start": load_at_start}
        log(f"  done in {seconds:.0f} s: {json.dumps(summaries[name])}")
        store.write_text(json.dumps(records))
    fig = decomposition_figure(
        [f"{name} q" for name in summaries], list(summaries.values()),
        title=f"Fashion-MNIST (threshold 0.5), first {args.n} test images",
    )  # fmt: skip
    save_figure(fig, RESULTS / "inference_gaps.png")
    write_markdown(args, command, load_at_start, summaries, records)


def write_markdown(args, command, load_at_start, summaries, records) -> None:
    names = list(summaries)
    lines = [
        "# Inference gaps (Cremer, Li & Duvenaud 2018) on thresholded Fashion-MNIST",
        "",
        f"Command: `{command}` (load average at its start: {load_at_start}, {args.threads} thread)",
        "",
        *M.machine_lines(["zuko"]),
        "",
        f"First {args.n} test images, thresholded at 0.5. log p(x): AIS, {args.ais} steps × "
        f"{args.chains} chains. q*: {args.steps} Adam steps per image (lr 0.02, cosine, 8 draws). "
        f"q*_Flow: {args.flow_steps} affine coupling steps fitted per image from q*. ELBOs: "
        f"{args.elbo_samples} draws. Nats per image, mean over images ± standard error of the "
        "mean over images.",
        "",
        "| quantity | " + " | ".join(f"{n} q (trained)" for n in names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for key, label in ROWS:
        cells = []
        for n in names:
            s = summaries[n]
            cells.append("—" if key not in s else f"{s[key]:.2f} ± {s[f'{key}_se']:.2f}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "Seconds per model: " + ", ".join(
        f"{n} {records[n]['seconds']:.0f}" for n in names
    )]  # fmt: skip
    M.write_results(RESULTS / "inference_gaps.md", lines)


if __name__ == "__main__":
    main()
