"""Quality of the VAE, IWAE (k = 5, 50) and CVAE trained by torchlvm on Fashion-MNIST.

Models (Burda et al. 2016, "Importance Weighted Autoencoders", one-stochastic-layer architecture):
an MLP 784-200-200-z50 with tanh, diagonal-Gaussian q(z|x), N(0, I) prior, Bernoulli p(x|z),
trained with torchlvm's own training layer (``torchlvm.training.fit``, what ``torchlvm train``
runs) by

- (a) the ELBO (a VAE, k = 1),
- (b) the IWAE bound L_5,
- (c) the IWAE bound L_50,

for the same number of epochs, with the same seed (so the same initial weights and data order),
batch 128, Adam lr 1e-3. Data: the 54,000-image training split of ``torchlvm.data``, dynamically
binarized (every batch a fresh Bernoulli(intensity) draw: Burda et al.'s protocol); validation on
one fixed draw of the 6,000-image validation split, and the weights of the best validation epoch
(by the bound being trained) are kept, as ``torchlvm train`` does.

Test log-likelihood: ``torchlvm.inference.log_marginal_is`` with S = ``--k-eval`` (5,000)
importance samples from the encoder q(z|x) on ``--n-test`` test images (a seeded random subset of
the 10,000, binarized by one fixed seeded draw, ``Dataset.fixed_binarized``). Reported: mean over
images ± its standard error across images, the Monte Carlo standard error of that mean (from the
per-image delta-method errors) and the effective sample size. Every model is scored on the same
images, so the per-image differences log p̂_a(x) − log p̂_b(x) give a paired comparison whose
standard error excludes the (large) spread between images.

CVAE: the same network sizes with one-hot class labels as c and a learned prior p(z|c), trained by
the ELBO for the same epochs. Conditional accuracy: ``--per-class`` decoder means E[x|z, c],
z ~ p(z|c), for every class c, classified by ``torchlvm.evaluation.dataset_classifier`` (an MLP
trained on real grey-level Fashion-MNIST, what ``torchlvm evaluate`` uses); the fraction called c,
next to the classifier's accuracy on the real test images.

Run: ``.venv/bin/python benchmarks/iwae_quality.py [--epochs 2 --n-test 2000 --k-eval 5000]``
(writes ``benchmarks/results/iwae_quality.md``).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _machine as M  # noqa: E402

DATA = "fashion-mnist"
LATENT = 50
HIDDEN = (200, 200)
ACTIVATION = "tanh"
BATCH = 128
LR = 1e-3
SEED = 0


@dataclass(frozen=True)
class Spec:
    """One model to train: its name in the tables and its objective."""

    name: str
    objective: str
    k: int
    conditional: bool = False


SPECS = (
    Spec("VAE (ELBO, k=1)", "elbo", 1),
    Spec("IWAE k=5", "iwae", 5),
    Spec("IWAE k=50", "iwae", 50),
    Spec("CVAE (ELBO, labels, learned prior)", "elbo", 1, conditional=True),
)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


class EpochPrinter(L.Callback):
    """Prints progress within long epochs and the validation bounds after each epoch."""

    def __init__(self, every: int = 100) -> None:
        self.every = every
        self.started = time.perf_counter()

    def on_train_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.epoch_started = time.perf_counter()

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx: int) -> None:
        if batch_idx and batch_idx % self.every == 0:
            rate = batch_idx / (time.perf_counter() - self.epoch_started)
            log(f"    epoch {trainer.current_epoch} batch {batch_idx} ({rate:.2f} batches/s)")

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        val = {
            k: float(v) for k, v in trainer.callback_metrics.items() if str(k).startswith("val/")
        }
        shown = ", ".join(f"{k} {v:.2f}" for k, v in sorted(val.items()))
        seconds = time.perf_counter() - self.epoch_started
        log(f"    epoch {trainer.current_epoch} done in {seconds:.0f} s: {shown}")


def build(spec: Spec, dm: Any) -> torch.nn.Module:
    """The model of ``spec`` for the data of ``dm``, initialized from the seed."""
    L.seed_everything(SEED, verbose=False)
    if spec.conditional:
        from torchlvm.models.cvae import CVAE, CVAEConfig

        record = dm.record()
        config = CVAEConfig(
            input_dim=dm.input_dim,
            condition_dim=dm.condition_dim,
            latent_dim=LATENT,
            hidden=HIDDEN,
            activation=ACTIVATION,
            likelihood="bernoulli",
            prior="learned",
            num_classes=record["num_classes"],
            class_names=tuple(record["class_names"]),
        )
        return CVAE.from_config(config)
    from torchlvm.models.vae import VAE, VAEConfig

    config = VAEConfig(
        input_dim=dm.input_dim,
        latent_dim=LATENT,
        hidden=HIDDEN,
        activation=ACTIVATION,
        likelihood="bernoulli",
    )
    return VAE.from_config(config)


def train(spec: Spec, epochs: int, runs: Path) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Train ``spec`` with ``torchlvm.training.fit``; return the model and what happened."""
    from torchlvm.training import LVMDataModule, TrainConfig, fit

    config = TrainConfig(
        objective=spec.objective, k=spec.k, max_epochs=epochs, batch_size=BATCH, lr=LR, seed=SEED
    )
    dm = LVMDataModule(
        DATA,
        binarize="dynamic",
        seed=SEED,
        batch_size=BATCH,
        condition="label" if spec.conditional else "none",
    )
    dm.setup("fit")
    model = build(spec, dm)
    out = runs / spec.name.split(" (")[0].replace(" ", "_").replace("=", "")
    log(f"training {spec.name} for {epochs} epochs -> {out}")
    started = time.perf_counter()
    result = fit(model, dm, config, out, progress=False, extra_callbacks=[EpochPrinter()])
    wall = time.perf_counter() - started
    final = result.final
    info = {
        "train_seconds": result.seconds,
        "wall_seconds": wall,
        "epochs": result.epochs,
        "best_epoch": result.best_epoch,
        "monitor": result.monitor,
        "best_value": result.best_value,
        "val_elbo": final.get("val/elbo", math.nan),
        "val_bound": final.get(f"val/iwae_{spec.k}", math.nan) if spec.k > 1 else math.nan,
    }
    log(f"  {spec.name}: {result.seconds:.0f} s ({wall:.0f} s with saving), {info}")
    return model.eval(), info


def test_subset(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``n`` seeded test images: the fixed binarized draw, the grey levels and the labels."""
    from torchlvm.data import load_dataset

    test = load_dataset(DATA, "test", binarize="dynamic", seed=SEED)
    if not 0 < n <= len(test):
        raise SystemExit(f"--n-test must be in 1..{len(test)}, got {n}")
    rows = torch.randperm(len(test), generator=torch.Generator().manual_seed(seed))[:n]
    binary = test.fixed_binarized(seed)
    assert test.y is not None
    return binary[rows], test.x[rows], test.y[rows]


def log_likelihoods(
    model: torch.nn.Module, x: torch.Tensor, k_eval: int, batch: int, chunk: int
) -> dict[str, Any]:
    """Per-image log p̂(x), its Monte Carlo standard error and ESS, batched over images."""
    from torchlvm.inference import log_marginal_is

    torch.manual_seed(SEED)
    means, errors, ess = [], [], []
    started = time.perf_counter()
    for i in range(0, len(x), batch):
        est = log_marginal_is(model, x[i : i + batch], num_samples=k_eval, chunk=chunk)
        means.append(est.mean)
        errors.append(est.stderr)
        ess.append(est.ess)
        done = min(i + batch, len(x))
        rate = done / (time.perf_counter() - started)
        log(f"    {done}/{len(x)} images ({rate:.1f} images/s)")
    return {
        "ll": torch.cat(means).double(),
        "mc_se": torch.cat(errors).double(),
        "ess": torch.cat(ess).double(),
        "seconds": time.perf_counter() - started,
    }


def summary(values: torch.Tensor) -> tuple[float, float]:
    """Mean and its standard error across examples."""
    return float(values.mean()), float(values.std() / math.sqrt(len(values)))


def conditional_accuracy(model: torch.nn.Module, per_class: int) -> dict[str, Any]:
    """Samples for each class c classified as c by the Fashion-MNIST classifier."""
    from torchlvm.data import load_dataset
    from torchlvm.evaluation.features import cache_dir, dataset_classifier

    log(f"classifier: torchlvm.evaluation.dataset_classifier({DATA!r})")
    started = time.perf_counter()
    classifier = dataset_classifier(DATA, seed=0)
    log(f"  classifier ready in {time.perf_counter() - started:.0f} s ({cache_dir()})")
    test = load_dataset(DATA, "test", seed=SEED)  # grey levels: what the classifier was fit on
    assert test.y is not None
    real_correct = classifier.predict(test.x) == test.y
    classes = int(model.config.num_classes)
    labels = torch.arange(classes).repeat_interleave(per_class)
    generator = torch.Generator().manual_seed(SEED)
    generated = torch.cat(
        [
            model.sample(
                per_class,
                model.condition_from_labels(torch.full((per_class,), c)),
                generator=generator,
            )
            for c in range(classes)
        ]
    )
    sample_correct = classifier.predict(generated) == labels
    per = [
        (
            float(sample_correct[labels == c].double().mean()),
            float(real_correct[test.y == c].double().mean()),
        )
        for c in range(classes)
    ]
    return {
        "conditional": float(sample_correct.double().mean()),
        "real": float(real_correct.double().mean()),
        "cached_real": classifier.test_accuracy,
        "per_class": per,
        "names": list(model.config.class_names or map(str, range(classes))),
        "n_generated": len(labels),
        "n_real": len(test.y),
        "architecture": classifier.info.get("architecture"),
    }


def fmt(value: float, digits: int = 2) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def paired(a: torch.Tensor, b: torch.Tensor) -> dict[str, float]:
    """Mean of the per-image differences a − b, its standard error and z = mean / SE."""
    diff = a - b
    mean, se = summary(diff)
    return {"mean": mean, "se": se, "z": mean / se, "wins": float((diff > 0).double().mean())}


def write_report(path: Path, argv: list[str], args: argparse.Namespace, r: dict) -> str:
    lines = [
        "# Quality: VAE vs IWAE (k = 5, 50) and a class-conditional VAE on Fashion-MNIST",
        "",
        f"Command: `{M.command_line('benchmarks/iwae_quality.py', argv)}` "
        f"(total wall time {r['total_seconds'] / 60:.1f} min)",
        "",
        *[
            line
            if not line.startswith("- load average")
            else f"- load average (1, 5, 15 min) at the start: {r['load_start']}; at the end: "
            f"{M.load_average()} — the machine is shared with other jobs, so the timings are "
            "only indicative"
            for line in M.machine_lines(extra_packages=("torchlvm",))
        ],
        "",
        "## Protocol",
        "",
        f"- Data: Fashion-MNIST through `torchlvm.data` — {r['n_train']:,} training images "
        f"(the train split less a seeded {r['n_val']:,}-image validation split), **dynamically "
        "binarized** (every training batch a fresh Bernoulli(intensity) draw; Burda et al. "
        "2016's protocol); validation on one fixed seeded draw.",
        f"- Models: MLP {r['input_dim']}-{HIDDEN[0]}-{HIDDEN[1]}-z{LATENT}, {ACTIVATION}, "
        "diagonal-Gaussian q(z|x), N(0, I) prior, Bernoulli p(x|z) (the IWAE paper's "
        "one-stochastic-layer architecture); the CVAE adds the one-hot label to encoder and "
        f"decoder inputs and a learned prior p(z|c) ({HIDDEN[0]}-{HIDDEN[1]} tanh MLP).",
        f"- Training: `torchlvm.training.fit` (what `torchlvm train` runs), **{args.epochs} "
        f"epochs each**, batch {BATCH}, Adam lr {LR:g}, seed {SEED} for all (same initial weights "
        "and data order for the three unconditional models); the weights of the best validation "
        "epoch by the trained bound are kept. Burda et al. trained for 3,280 passes over the "
        f"data: these models are **far from converged**, and only the *ordering* of the three "
        "objectives after equal epochs is being tested, not the paper's absolute numbers.",
        f"- Test log-likelihood: `torchlvm.inference.log_marginal_is(model, x, num_samples="
        f"{args.k_eval}, chunk={args.chunk})`, proposal = the encoder q(z|x), on n = "
        f"{args.n_test:,} test images (a random subset, seed {args.seed}, of the "
        f"{r['n_test_total']:,}; one "
        f"fixed Bernoulli draw, `Dataset.fixed_binarized({args.seed})`), {args.eval_batch} "
        "images per call. Nats per image.",
        "",
        "## Training",
        "",
        "| model | objective | epochs | training s | s / epoch | kept epoch (0-based) | "
        "val ELBO | val L_k (k) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for spec in SPECS:
        t = r["train"][spec.name]
        bound = f"{fmt(t['val_bound'])} ({spec.k})" if spec.k > 1 else "—"
        lines.append(
            f"| {spec.name} | {spec.objective} | {t['epochs']} | {t['train_seconds']:.0f} | "
            f"{t['train_seconds'] / t['epochs']:.0f} | {t['best_epoch']} | "
            f"{fmt(t['val_elbo'])} | {bound} |"
        )
    lines += [
        "",
        "Validation numbers are the last epoch's, nats per image (the ELBO with one z sample and "
        "analytic KL). Training seconds include the per-epoch validation pass and checkpoints; "
        "they are wall-clock seconds on a machine shared with other jobs, where the same epoch "
        "can take several times longer from one minute to the next, so compare them loosely.",
        "",
        f"## Test log-likelihood, S = {args.k_eval:,} importance samples, n = {args.n_test:,}",
        "",
        "| model | log p̂(x) ± SE over images | Monte Carlo SE of the mean | mean ESS | "
        "median ESS | min ESS | eval s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for spec in SPECS[:3]:
        e = r["eval"][spec.name]
        mean, se = summary(e["ll"])
        mc = float(e["mc_se"].pow(2).sum().sqrt() / len(e["ll"]))
        lines.append(
            f"| {spec.name} | {mean:.2f} ± {se:.2f} | {mc:.3f} | {float(e['ess'].mean()):.0f} | "
            f"{float(e['ess'].median()):.0f} | {float(e['ess'].min()):.1f} | "
            f"{e['seconds']:.0f} |"
        )
    lines += [
        "",
        f"ESS is Kish's effective sample size of the {args.k_eval:,} importance weights (at most "
        f"{args.k_eval:,}); a small ESS means the encoder proposal misses posterior mass and "
        "log p̂ is then biased low by more than its Monte Carlo SE suggests.",
        "",
        "### Paired differences (same images)",
        "",
        "| comparison | mean Δ log p̂(x) | SE of Δ | Δ / SE | images where the first is higher |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for a, b in ((2, 1), (1, 0), (2, 0)):
        d = r["paired"][(a, b)]
        lines.append(
            f"| {SPECS[a].name} − {SPECS[b].name} | {d['mean']:+.3f} | {d['se']:.3f} | "
            f"{d['z']:+.1f} | {100 * d['wins']:.1f}% |"
        )
    lines += ["", "## Verdict", "", *r["verdict"], ""]
    c = r["cvae"]
    lines += [
        "## Class-conditional VAE: conditional accuracy",
        "",
        f"{c['n_generated'] // len(c['names']):,} samples per class (decoder means E[x|z, c], "
        "z ~ p(z|c), as `torchlvm evaluate` generates them), classified by "
        f"`torchlvm.evaluation.dataset_classifier('{DATA}')` ({c['architecture']}, trained on "
        "the real grey-level training split). Real: the same classifier on all "
        f"{c['n_real']:,} real grey-level test images.",
        "",
        "| class | conditional accuracy of CVAE samples | classifier accuracy on real test |",
        "| --- | ---: | ---: |",
    ]
    for name, (gen, real) in zip(c["names"], c["per_class"], strict=True):
        lines.append(f"| {name} | {100 * gen:.1f}% | {100 * real:.1f}% |")
    lines += [
        f"| **all** | **{100 * c['conditional']:.1f}%** | **{100 * c['real']:.1f}%** |",
        "",
        *r["cvae_verdict"],
        "",
    ]
    return M.write_results(path, lines)


def ess_note(r: dict, args: argparse.Namespace) -> list[str]:
    """What the effective sample sizes say about the estimates' reliability."""
    ess = [r["eval"][s.name]["ess"] for s in SPECS[:3]]
    medians = [float(e.median()) for e in ess]
    lowest = min(range(3), key=lambda i: medians[i])
    bias = 1 / (2 * medians[lowest])
    return [
        f"Effective sample sizes: median ESS {medians[0]:.0f} (VAE), {medians[1]:.0f} "
        f"(k=5), {medians[2]:.0f} (k=50) of {args.k_eval:,}, minimum "
        f"{min(float(e.min()) for e in ess):.1f}. Where the ESS is small the encoder is a poor "
        "proposal: the delta-method Monte Carlo SEs understate the estimator's error and "
        "each log p̂(x) is biased low — by about 1/(2·ESS) for well-behaved weights, "
        f"{bias:.2f} nats at the smallest median ESS, more where the weights are heavy-tailed. "
        f"The bias is largest for {SPECS[lowest].name} (the smallest ESS); "
        + (
            "it would narrow, not create, that model's lead."
            if lowest == 2
            else "read its estimate as the least reliable."
        )
    ]


def verdicts(r: dict, args: argparse.Namespace) -> tuple[list[str], list[str]]:
    means = [float(r["eval"][s.name]["ll"].mean()) for s in SPECS[:3]]
    holds = means[2] >= means[1] >= means[0]
    p21, p10, p20 = r["paired"][(2, 1)], r["paired"][(1, 0)], r["paired"][(2, 0)]
    word = "**holds**" if holds else "**does not hold**"
    if holds:
        smallest = min(p21["z"], p10["z"])
        word += (
            f", every step by at least {smallest:.1f} paired SEs"
            if smallest >= 2
            else f", but a step is within {smallest:.1f} paired SEs (not resolved)"
        )
    out = [
        f"Expected ordering IWAE k=50 ≥ IWAE k=5 ≥ VAE after {args.epochs} equal epochs: {word}"
        f"; mean test log p̂(x) {means[2]:.2f}, {means[1]:.2f}, {means[0]:.2f} nats.",
        "",
        f"- k=50 vs k=5: {p21['mean']:+.2f} nats, {p21['z']:+.1f} paired standard errors "
        f"(paired SE {p21['se']:.3f} nats; the unpaired SE of one model's mean across images is "
        f"{summary(r['eval'][SPECS[2].name]['ll'])[1]:.2f} nats).",
        f"- k=5 vs VAE: {p10['mean']:+.2f} nats, {p10['z']:+.1f} paired SEs.",
        f"- k=50 vs VAE: {p20['mean']:+.2f} nats, {p20['z']:+.1f} paired SEs.",
        "",
        f"The paired SEs are over images, and the per-image Monte Carlo error of the "
        f"{args.k_eval:,}-sample estimate is included in them (each image's estimate carries its "
        "own sampling noise). "
        f"These are {args.epochs}-epoch models (Burda et al.: 3,280 passes), so the gaps say "
        "which objective learns the better model per epoch at this budget; they are not the "
        "converged gaps. Note that the IWAE k=50 epoch costs far more compute than a VAE epoch "
        "(see the training table): equal epochs, not equal time.",
        "",
        *ess_note(r, args),
    ]
    c = r["cvae"]
    chance = 1 / len(c["names"])
    cv = [
        f"CVAE conditional accuracy {100 * c['conditional']:.1f}% (chance {100 * chance:.0f}%), "
        f"next to the classifier's {100 * c['real']:.1f}% on real test images: the samples for "
        f"class c are recognized as c "
        + (
            "about as often as real images of c are."
            if c["conditional"] >= c["real"] - 0.03
            else f"{100 * (c['real'] - c['conditional']):.1f} points less often than real images."
        ),
    ]
    return out, cv


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=2, help="epochs for every model")
    parser.add_argument("--n-test", type=int, default=2000, help="test images scored")
    parser.add_argument("--k-eval", type=int, default=5000, help="importance samples per image")
    parser.add_argument("--chunk", type=int, default=500, help="importance samples per draw")
    parser.add_argument("--eval-batch", type=int, default=100, help="test images per IS call")
    parser.add_argument("--per-class", type=int, default=1000, help="CVAE samples per class")
    parser.add_argument("--seed", type=int, default=0, help="seed of the test subset and draw")
    parser.add_argument("--runs-dir", type=Path, default=None, help="run folders (default: tmp)")
    parser.add_argument(
        "--out", type=Path, default=M.ROOT / "benchmarks" / "results" / "iwae_quality.md"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    runs = args.runs_dir or Path(tempfile.mkdtemp(prefix="iwae_quality_"))
    runs.mkdir(parents=True, exist_ok=True)
    log(f"torch {torch.__version__}, {torch.get_num_threads()} threads; runs in {runs}")
    from torchlvm.data import load_dataset

    r: dict[str, Any] = {"train": {}, "eval": {}, "paired": {}}
    r["n_train"] = len(load_dataset(DATA, "train"))
    r["n_val"] = len(load_dataset(DATA, "val"))
    test = load_dataset(DATA, "test")
    r["n_test_total"], r["input_dim"] = len(test), test.dim
    r["load_start"] = M.load_average()
    models = {}
    for spec in SPECS:
        models[spec.name], r["train"][spec.name] = train(spec, args.epochs, runs)
    x, _, _ = test_subset(args.n_test, args.seed)
    for spec in SPECS[:3]:
        log(f"log p(x) of {spec.name}: S={args.k_eval}, n={args.n_test}")
        r["eval"][spec.name] = log_likelihoods(
            models[spec.name], x, args.k_eval, args.eval_batch, args.chunk
        )
        mean, se = summary(r["eval"][spec.name]["ll"])
        log(f"  {spec.name}: {mean:.2f} ± {se:.2f}")
    for a, b in ((2, 1), (1, 0), (2, 0)):
        r["paired"][(a, b)] = paired(r["eval"][SPECS[a].name]["ll"], r["eval"][SPECS[b].name]["ll"])
    r["cvae"] = conditional_accuracy(models[SPECS[3].name], args.per_class)
    r["verdict"], r["cvae_verdict"] = verdicts(r, args)
    r["total_seconds"] = time.perf_counter() - started
    write_report(args.out, argv, args, r)
    log(f"wrote {args.out} ({r['total_seconds'] / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
