"""Evaluate a trained model on a split of its data: likelihood (ELBO, IWAE bounds, importance-
sampled log p(x) with standard error and ESS; exact for PPCA), reconstruction, KL per dimension,
active units, rate/distortion, latent separability, sample quality (Fréchet distance in a
dataset classifier's features) and outlier detection (likelihood and typicality scores).

Writes DIR/metrics.json (every number with its unit, kind, k and data protocol) and
DIR/figures/*.png, and prints a table.

Examples:
  torchlvm evaluate runs/vae
  torchlvm evaluate runs/vae --k 1000 --n 2000 --ood noise,flip,other --quiet
  torchlvm evaluate runs/vae --refine 50          # semi-amortized q for the likelihood
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from torchlvm.cli import _types
from torchlvm.errors import ConfigError, RunDirectoryError

HELP = "evaluate a run: likelihood, reconstruction, latent, separability, samples, outliers"


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", type=Path, metavar="DIR", help="run or export folder")
    parser.add_argument("--k", type=_positive, default=5000, help="importance samples of log p(x)")
    parser.add_argument(
        "--ks", default="1,10,100", help="comma-separated k of the IWAE bounds also reported"
    )
    parser.add_argument("--split", default="test", choices=["train", "val", "test"])
    parser.add_argument("--n", type=_positive, help="evaluate a seeded subsample of N examples")
    parser.add_argument("--seed", type=_types.seed, default=0, help="seed of every random draw")
    parser.add_argument(
        "--refine", type=int, default=0, metavar="T", help="refine q by T steps (semi-amortized)"
    )
    parser.add_argument("--refine-lr", type=float, default=0.01, help="step size of --refine")
    parser.add_argument(
        "--ood",
        default="noise,flip,other,mnist",
        help="OOD sets: noise, flip, other (digits↔fashion-mnist), or dataset names; 'none'",
    )
    parser.add_argument(
        "--ood-resize",
        default="bilinear",
        choices=["none", "bilinear", "area"],
        help="how an OOD dataset of another image size is resized ('none': refuse it)",
    )
    parser.add_argument("--ood-k", type=_positive, default=100, help="k of the outlier score")
    parser.add_argument("--batch-size", type=_positive, default=100, help="examples per batch")
    parser.add_argument("--chunk", type=_positive, default=256, help="samples drawn at a time")
    parser.add_argument("--data-dir", help="folder with the dataset's files")
    parser.add_argument("--no-figures", action="store_true", help="skip DIR/figures/*.png")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def _ks(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ConfigError(f"--ks must be comma-separated positive integers, got {text!r}") from None
    if not values or min(values) <= 0:
        raise ConfigError(f"--ks must be comma-separated positive integers, got {text!r}")
    return tuple(sorted(set(values)))


def run(args: argparse.Namespace) -> int:
    import torchlvm.models  # noqa: F401  (importing registers the models by name)
    from torchlvm._files import write_json
    from torchlvm.data import load_dataset
    from torchlvm.evaluation.evaluate import evaluate
    from torchlvm.io import load, read_config

    ks = _ks(args.ks)
    if args.refine < 0:
        raise ConfigError(f"--refine must be a non-negative integer, got {args.refine}")
    ood = () if args.ood.strip() in ("", "none") else tuple(s.strip() for s in args.ood.split(","))
    folder: Path = args.run_dir
    record = read_config(folder)
    model = load(folder)
    data = record.get("data")
    if not isinstance(data, dict) or "name" not in data:
        raise RunDirectoryError(
            f"{folder}/config.json has no 'data' section naming the dataset it was trained on; "
            "evaluate needs a run folder written by 'torchlvm train' or 'torchlvm fit'"
        )
    load_options = {
        "data_dir": args.data_dir or data.get("data_dir"),
        "binarize": data.get("binarize", "none"),
        "seed": int(data.get("seed", 0)),
        **(data.get("options") or {}),
    }
    dataset = load_dataset(data["name"], args.split, **load_options)
    val = load_dataset(data["name"], "val", **load_options) if args.split != "val" else None
    condition = data.get("condition", "none") or "none"
    metrics = evaluate(
        model,
        dataset,
        condition=condition,
        k=args.k,
        ks=ks,
        chunk=args.chunk,
        batch_size=args.batch_size,
        n=args.n,
        seed=args.seed,
        data_seed=load_options["seed"],
        refine_steps=args.refine,
        refine_lr=args.refine_lr,
        val_dataset=val,
        ood=ood,
        ood_resize=args.ood_resize,
        ood_k=args.ood_k,
        data_dir=load_options["data_dir"],
        progress=not args.quiet,
    )
    metrics["protocol"]["command"] = "torchlvm evaluate " + " ".join(_argv(args))
    if not args.no_figures:
        metrics["figures"] = write_figures(model, dataset, metrics, folder, condition, args)
    write_json(folder / "metrics.json", metrics)
    print(format_table(metrics, folder))
    figures = "" if args.no_figures else f" and {folder / 'figures'}/"
    print(f"wrote {folder / 'metrics.json'}{figures}")
    return 0


def _argv(args: argparse.Namespace) -> list[str]:
    words = [str(args.run_dir), f"--k {args.k}", f"--split {args.split}", f"--seed {args.seed}"]
    if args.n:
        words.append(f"--n {args.n}")
    if args.refine:
        words.append(f"--refine {args.refine}")
    return words


# ------------------------------------------------------------------------------------ figures


def write_figures(
    model: Any,
    dataset: Any,
    metrics: dict[str, Any],
    folder: Path,
    condition: str,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Draw the run's figures into ``folder/figures`` with :mod:`torchlvm.plots`.

    Returns ``{"written": [file names], "skipped": {name: reason}}``.
    """
    import torch

    from torchlvm import plots
    from torchlvm.evaluation._batching import model_dtype
    from torchlvm.evaluation.evaluate import conditions_for
    from torchlvm.evaluation.figure_data import figure_data

    out = folder / "figures"
    n = min(len(dataset), 2000)
    x = dataset.fixed_binarized(args.seed)[:n].to(model_dtype(model))
    y = None if dataset.y is None else dataset.y[:n]
    c, missing = conditions_for(model, x, y, condition, dataset.shape, int(args.seed))
    names = None if dataset.class_names is None else list(dataset.class_names)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(args.seed)
        d = figure_data(
            model, x, y, c, shape=dataset.shape, condition=condition, missing=missing,
            class_names=names, seed=args.seed,
        )  # fmt: skip
    shape = d.shape
    kl = metrics.get("latent", {}).get("kl_per_dim", {}).get("value")
    jobs = {
        "samples": lambda: (
            d.samples is not None
            and plots.image_grid(d.samples, shape, title=f"Samples: {d.samples_note}")
        ),
        "reconstructions": lambda: plots.reconstruction_pairs(d.inputs, d.reconstructions, shape),
        "traversals": lambda: plots.traversal_grid(
            d.traversal, shape, d.traversal_dims, d.traversal_values
        ),
        "interpolation": lambda: (
            d.interpolation is not None and plots.interpolation_strip(d.interpolation, shape)
        ),
        "manifold": lambda: (
            d.manifold is not None and plots.manifold_grid(d.manifold, shape, (-3.0, 3.0))
        ),
        "conditional": lambda: (
            d.conditional is not None
            and plots.conditional_grid(d.conditional, shape, d.class_names)
        ),
        "imputation": lambda: (
            d.imputation is not None and plots.imputation_panels(shape=shape, **d.imputation)
        ),
        "latent_scatter": lambda: plots.latent_scatter(d.codes, d.labels, names),
        "kl_per_dimension": lambda: kl is not None and plots.kl_per_dimension(kl, threshold=None),
        "training_curves": lambda: (
            (folder / "metrics.csv").is_file() and plots.training_curves(folder / "metrics.csv")
        ),
    }
    written, skipped = [], {}
    for name, make in jobs.items():
        try:
            fig = make()
        except Exception as err:  # a figure must never cost the metrics
            skipped[name] = f"{type(err).__name__}: {err}"
            continue
        if fig is False or fig is None:
            skipped[name] = "does not apply to this model"
            continue
        plots.save_figure(fig, out / f"{name}.png")
        written.append(f"{name}.png")
    return {"folder": "figures", "written": written, "skipped": skipped}


# ------------------------------------------------------------------------------------- table


def _num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}"


def _row(label: str, text: str) -> str:
    return f"  {label:<44} {text}"


def _likelihood_rows(like: dict[str, Any]) -> list[str]:
    if like.get("kind") == "undefined":
        return [_row("log p(x)", like["note"])]
    what = like["quantity"]
    rows = []

    def line(label: str, entry: dict[str, Any], extra: str = "") -> str:
        nats, bits = entry["nats"], entry["bits_per_dim"]
        return _row(
            label,
            f"{_num(nats['value']):>10} nats  {_num(bits['value'], 4):>8} bits/dim  "
            f"({nats['kind']}{extra})",
        )

    rows.append(line(f"ELBO on {what}", like["elbo"], ", k=1"))
    for k, entry in like["iwae"].items():
        rows.append(line(f"IWAE bound L_{k}", entry, f", k={k}"))
    est = like["log_marginal"]["nats"]
    rows.append(
        line(
            f"{what}, importance-sampled",
            like["log_marginal"],
            f", k={est['k']}, ±{_num(est['stderr'], 4)} MC stderr, ESS {_num(est['ess'], 1)}",
        )
    )
    if "exact" in like:
        rows.append(line(f"{what}, exact", like["exact"]))
    return rows


def format_table(m: dict[str, Any], folder: Path | None = None) -> str:
    """The printed summary of a metrics dict from :func:`torchlvm.evaluation.evaluate`."""
    p = m["protocol"]
    lines = [
        f"{m['model']['type']} on {p['data']} ({p['split']} split, n={p['n']}, "
        f"binarize={p['binarize']}, condition={p['condition']}, seed={p['seed']})",
        "likelihood (per example; bits/dim = −log p / (D ln 2))",
        *_likelihood_rows(m["likelihood"]),
    ]
    if "imputation" in m:
        imp = m["imputation"]["nats"]
        lines.append(
            _row(
                "log p(x_missing | x_observed), IS",
                f"{_num(imp['value']):>10} nats  (estimate, k={imp['k']}, "
                f"±{_num(imp['stderr'], 4)}, ESS {_num(imp['ess'], 1)})",
            )
        )
    rec = m["reconstruction"]
    lines.append("reconstruction (x̂ = decoder mean at the posterior mean)")
    lines.append(_row("squared error per example / per pixel", (
        f"{_num(rec['mse_per_example']['value'])} / {_num(rec['mse_per_pixel']['value'], 5)}"
    )))  # fmt: skip
    if "bce" in rec:
        lines.append(_row("binary cross-entropy", f"{_num(rec['bce']['value'])} nats/example"))
    lat = m["latent"]
    lines.append("latent")
    lines.append(
        _row(
            "active units (Cov_x E_q[z_i] > 0.01)",
            f"{lat['active_units']['value']} of {lat['latent_dim']}",
        )
    )
    if "rate" in lat:
        lines.append(
            _row(
                "rate (KL) / distortion (−E_q log p(x|z))",
                f"{_num(lat['rate']['value'])} / {_num(lat['distortion']['value'])} nats",
            )
        )
        per_dim = ", ".join(_num(v, 2) for v in lat["kl_per_dim"]["value"][:12])
        lines.append(_row("KL per dimension (nats)", per_dim))
    lines += _separability_rows(m.get("separability"))
    lines += _sample_rows(m.get("sample_quality"))
    lines += _outlier_rows(m.get("outliers"))
    return "\n".join(lines)


def _separability_rows(sep: dict[str, Any] | None) -> list[str]:
    if sep is None:
        return []
    if sep.get("kind") == "undefined":
        return ["separability", _row("probes", sep["note"])]
    rows = ["separability (5-fold CV accuracy)"]
    for where, label in (("latent", "posterior means"), ("pixels", "raw pixels (reference)")):
        if where not in sep:
            continue
        s = sep[where]
        rows.append(
            _row(
                f"{label}: logistic / 5-NN",
                f"{_num(s['logistic']['value'])} / {_num(s['knn']['value'])}",
            )
        )
    return rows


def _sample_rows(sq: dict[str, Any] | None) -> list[str]:
    if sq is None:
        return []
    if sq.get("kind") == "undefined":
        return ["sample quality", _row("Fréchet distance", sq["note"])]
    acc = sq["classifier"]["test_accuracy"]["value"]
    rows = [f"sample quality (Fréchet distance in classifier features; its accuracy {acc:.3f})"]
    labels = {
        "frechet": "generated vs test",
        "frechet_fitted_codes": "generated (fitted codes) vs test",
        "frechet_real_reference": "real train vs test (floor at this n)",
    }
    for key, label in labels.items():
        if key in sq:
            rows.append(_row(label, _num(sq[key].get("value"))))
    if "conditional_accuracy" in sq:
        rows.append(_row("conditional accuracy", _num(sq["conditional_accuracy"]["value"])))
    return rows


def _outlier_rows(out: dict[str, Any] | None) -> list[str]:
    if out is None:
        return []
    if out.get("kind") == "undefined":
        return ["outliers", _row("scores", out["note"])]
    rows = [f"outliers (AUROC / AUPRC; score: {out['score_description']})"]
    for name, entry in out["sets"].items():
        score = entry["score"]
        text = f"score {_num(score['auroc']['value'])} / {_num(score['auprc']['value'])}"
        if "typicality" in entry:
            typ = entry["typicality"]
            text += f"   typicality {_num(typ['auroc']['value'])} / {_num(typ['auprc']['value'])}"
        chance = score["auprc"].get("chance")
        text += "" if chance is None else f"   (AUPRC chance {chance:.2f})"
        rows.append(_row(name, f"{text}   [{entry['description']}]"))
    for name, reason in out.get("skipped", {}).items():
        rows.append(_row(f"{name}: skipped", reason[:80]))
    return rows
