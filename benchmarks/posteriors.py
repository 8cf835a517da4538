"""What richer posteriors and a learned prior buy: test log p(x) of four VAEs on thresholded
Fashion-MNIST after equal epochs, with paired standard errors (issue 13, item 5).

Models: the MLP 784-400-z20 (ReLU) with a Bernoulli p(x|z), differing only in q(z|x) or p(z):

- ``diag``: N(μ, diag σ²) q and N(0, I) prior (the reference);
- ``full``: full-covariance Gaussian q (amortized Cholesky factor);
- ``flow``: a zuko affine-coupling flow q (``--flow-steps`` transforms) conditioned on the
  encoder's features;
- ``vamp``: diagonal q with a VampPrior of ``--components`` pseudo-inputs.

Each is trained by ``torchlvm.training.fit`` (what ``torchlvm train`` runs) by the ELBO for the
same epochs, same seed, batch 128, Adam lr 1e-3, on the 54,000-image training split thresholded
at 0.5 (Cremer et al.'s protocol), keeping the best validation epoch. Test log-likelihood:
``log_marginal_is`` with ``--k`` importance samples from each model's own q on the first
``--n-test`` test images (thresholded). Every model is scored on the same images, so each
difference against ``diag`` is paired: its standard error is that of the per-image differences.

Run (two processes can share the work; ``--report`` combines their JSON files):
    nice -n 10 .venv/bin/python benchmarks/posteriors.py --models diag,full --epochs 10 --out DIR
    nice -n 10 .venv/bin/python benchmarks/posteriors.py --models flow,vamp --epochs 10 --out DIR
    .venv/bin/python benchmarks/posteriors.py --report --out DIR
(writes ``benchmarks/results/posteriors.md``; the trained models stay in DIR/runs). Each model's
test ELBO is recorded with its log p(x); ``--add-elbo --models NAMES`` adds it to JSON files
written before it was (from the models saved in DIR/runs).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _machine as M  # noqa: E402

DATA = "fashion-mnist"
LATENT, HIDDEN, BATCH, LR, SEED = 20, (400,), 128, 1e-3, 0
MODELS = {  # name: (posterior, prior, label)
    "diag": ("diag", "standard", "diagonal q, N(0, I) prior"),
    "full": ("full", "standard", "full-covariance q, N(0, I) prior"),
    "flow": ("flow", "standard", "flow q, N(0, I) prior"),
    "vamp": ("diag", "vamp", "diagonal q, VampPrior"),
}
ELBO_DRAWS = 100  # draws of z per image behind the test ELBO
RESULT = M.ROOT / "benchmarks" / "results" / "posteriors.md"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def train(name: str, args: argparse.Namespace) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Train model ``name`` with torchlvm's training layer; return it and what happened."""
    import lightning as L

    from torchlvm.models.vae import VAE, VAEConfig
    from torchlvm.training import LVMDataModule, TrainConfig, fit

    posterior, prior, _ = MODELS[name]
    dm = LVMDataModule(DATA, binarize="threshold", seed=SEED, batch_size=BATCH)
    dm.setup("fit")
    L.seed_everything(SEED, verbose=False)
    config = VAEConfig(
        input_dim=dm.input_dim, latent_dim=LATENT, hidden=HIDDEN, posterior=posterior,
        flow_steps=args.flow_steps, prior=prior, prior_components=args.components,
    )  # fmt: skip
    model = VAE.from_config(config)
    train_config = TrainConfig(max_epochs=args.epochs, batch_size=BATCH, lr=LR, seed=SEED)
    out = Path(args.out) / "runs" / name
    log(f"training {name} ({MODELS[name][2]}) for {args.epochs} epochs -> {out}")
    result = fit(model, dm, train_config, out, progress=False)
    info = {
        "train_seconds": result.seconds,
        "epochs": result.epochs,
        "best_epoch": result.best_epoch,
        "val_elbo": result.final.get("val/elbo", math.nan),
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    log(f"  {name}: {info}")
    return model.eval(), info


def test_images(n: int) -> torch.Tensor:
    """The first ``n`` thresholded test images."""
    from torchlvm.data import load_dataset

    test = load_dataset(DATA, "test", binarize="threshold", seed=SEED)
    return test.x[:n].float()


def test_elbo(model: torch.nn.Module, x: torch.Tensor) -> list[float]:
    """Per-image ELBO of the model's own q, averaged over :data:`ELBO_DRAWS` draws."""
    from torchlvm.inference import elbo

    torch.manual_seed(SEED)
    with torch.no_grad():
        return elbo(model, x, num_samples=ELBO_DRAWS).elbo.double().tolist()


def add_elbo(args: argparse.Namespace) -> None:
    """Add the test ELBO to each model's JSON from its saved run (``--add-elbo``)."""
    from torchlvm.io import load

    x = test_images(args.n_test)
    for name in args.models.split(","):
        path = Path(args.out) / f"{name}.json"
        record = json.loads(path.read_text())
        record["elbo"] = test_elbo(load(Path(args.out) / "runs" / name), x[: record["n_test"]])
        path.write_text(json.dumps(record))
        log(f"  {name}: test ELBO {sum(record['elbo']) / len(record['elbo']):.2f}")


def score(model: torch.nn.Module, x: torch.Tensor, k: int) -> dict[str, Any]:
    """Per-image importance-sampled log p̂(x) with its Monte Carlo standard error and ESS,
    and the per-image ELBO."""
    from torchlvm.inference import log_marginal_is

    torch.manual_seed(SEED)
    parts: list[Any] = []
    started = time.perf_counter()
    for i in range(0, len(x), 100):
        parts.append(log_marginal_is(model, x[i : i + 100], num_samples=k, chunk=100))
        log(f"    {min(i + 100, len(x))}/{len(x)} images")
    return {
        "ll": torch.cat([p.mean for p in parts]).double().tolist(),
        "mc_se": torch.cat([p.stderr for p in parts]).double().tolist(),
        "ess": torch.cat([p.ess for p in parts]).double().tolist(),
        "seconds": time.perf_counter() - started,
        "elbo": test_elbo(model, x),
    }


def run_models(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    x = test_images(args.n_test)
    load = M.load_average()
    for name in args.models.split(","):
        model, info = train(name, args)
        log(f"scoring {name}: k={args.k} on {len(x)} test images")
        record = {"name": name, "label": MODELS[name][2], **info, **score(model, x, args.k)}
        record |= {"k": args.k, "n_test": len(x), "epochs_asked": args.epochs}
        record |= {"flow_steps": args.flow_steps, "components": args.components}
        record |= {"command": args.command, "load_at_start": load, "threads": args.threads}
        path = Path(args.out) / f"{name}.json"
        path.write_text(json.dumps(record))
        log(f"  wrote {path}: mean log p(x) {sum(record['ll']) / len(record['ll']):.2f}")


def mean_se(values: torch.Tensor) -> tuple[float, float]:
    return float(values.mean()), float(values.std() / math.sqrt(len(values)))


def report(args: argparse.Namespace) -> None:
    records = {}
    for name in MODELS:
        path = Path(args.out) / f"{name}.json"
        if path.is_file():
            records[name] = json.loads(path.read_text())
    if "diag" not in records:
        raise SystemExit(f"no diag.json in {args.out}: the paired comparison needs it")
    ref = torch.tensor(records["diag"]["ll"], dtype=torch.float64)
    first = records["diag"]
    lines = [
        "# Posterior families and a learned prior on thresholded Fashion-MNIST",
        "",
        "Commands (one per process; then `--report`):",
        "",
        *sorted(
            {
                f"- `{r['command']}` (load average at its start: {r['load_at_start']}, "
                f"{r['threads']} thread)"
                for r in records.values()
            }
        ),
        "",
        "Machine (at report time):",
        "",
        *M.machine_lines(["zuko"]),
        "",
        f"Model 784-400-z{LATENT} (ReLU), Bernoulli p(x|z), ELBO, batch {BATCH}, Adam lr {LR}, "
        f"seed {SEED}; data thresholded at 0.5; {first['epochs_asked']} epochs each (best "
        f"validation epoch kept). Test log p(x): importance sampling, k = {first['k']} draws "
        f"from each model's own q, on the first {first['n_test']} test images; nats per image. "
        f"'± s.e.' is the standard error over images; the paired difference's s.e. is that of "
        f"the per-image differences against the diagonal VAE. Test ELBO: the model's own q, "
        f"{ELBO_DRAWS} draws per image, same images.",
        "",
        "| model | epochs (best) | train s | test log p(x) ± s.e. | − diag ± paired s.e. "
        "| MC s.e. of mean | mean ESS | test ELBO | − diag ± paired s.e. |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    ref_elbo = torch.tensor(first.get("elbo", []), dtype=torch.float64)
    for name, r in records.items():
        ll = torch.tensor(r["ll"], dtype=torch.float64)
        mean, se = mean_se(ll)
        diff, diff_se = mean_se(ll - ref)
        mc = float(torch.tensor(r["mc_se"]).square().sum().sqrt() / len(ll))
        extra = f", {r['flow_steps']} steps" if name == "flow" else ""
        extra += f", {r['components']} pseudo-inputs" if name == "vamp" else ""
        paired = "—" if name == "diag" else f"{diff:+.2f} ± {diff_se:.2f}"
        lines.append(
            f"| {r['label']}{extra} | {r['epochs']} ({r['best_epoch']}) | "
            f"{r['train_seconds']:.0f} | {mean:.2f} ± {se:.2f} | {paired} | {mc:.3f} | "
            f"{sum(r['ess']) / len(r['ess']):.0f} | {elbo_cells(name, r, ref_elbo)} |"
        )
    M.write_results(RESULT, lines)


def elbo_cells(name: str, record: dict[str, Any], ref: torch.Tensor) -> str:
    """'ELBO | paired difference' table cells ('—' where the record has no ELBO)."""
    if "elbo" not in record:
        return "— | —"
    values = torch.tensor(record["elbo"], dtype=torch.float64)
    if name == "diag" or len(ref) != len(values):
        return f"{values.mean():.2f} | —"
    diff, diff_se = mean_se(values - ref)
    return f"{values.mean():.2f} | {diff:+.2f} ± {diff_se:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="diag,full,flow,vamp")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--n-test", type=int, default=500)
    parser.add_argument("--k", type=int, default=5000)
    parser.add_argument("--flow-steps", type=int, default=2)
    parser.add_argument("--components", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", required=True, help="folder for runs and per-model JSON")
    parser.add_argument("--report", action="store_true", help="combine the JSON files")
    parser.add_argument(
        "--add-elbo", action="store_true", help="add the test ELBO from DIR/runs to the JSON"
    )
    args = parser.parse_args()
    args.command = "python benchmarks/posteriors.py " + " ".join(sys.argv[1:])
    Path(args.out).mkdir(parents=True, exist_ok=True)
    if args.add_elbo:
        add_elbo(args)
    else:
        report(args) if args.report else run_models(args)


if __name__ == "__main__":
    main()
