"""Train an autoencoder, VAE or conditional VAE and write a run folder: config.json,
model.safetensors (the weights of the best validation epoch), metrics.csv (one row per epoch,
nats per example) and checkpoints/ (for --resume).

Defaults for image datasets (digits, mnist, fashion-mnist): a Bernoulli likelihood on pixels
redrawn as Bernoulli(intensity) every epoch (--binarize dynamic, the IWAE paper's protocol);
grey levels in [0, 1] are not binary, so a Bernoulli likelihood on them needs --binarize dynamic
or threshold, or else --likelihood gaussian. Other data default to a Gaussian likelihood and no
binarization.

Examples:
  torchlvm train vae --data digits --latent-dim 8 --epochs 30 --out runs/vae
  torchlvm train vae --data digits --objective iwae --k 5 --out runs/iwae
  torchlvm train cvae --data digits --condition label --out runs/cvae
  torchlvm train ae --data digits --latent-dim 8 --out runs/ae
  torchlvm train vae --epochs 60 --out runs/vae --resume
  torchlvm train vae --data fashion-mnist --devices 2 --strategy ddp --out runs/ddp

Distributed: --devices N --num-nodes M trains with N×M processes (Lightning's DDP; gloo on CPUs),
each on its share of every global batch of --batch-size × N × M examples; the process of global
rank 0 writes the run folder. Under torchrun or SLURM (srun), pass the same --devices and
--num-nodes as the launcher's processes per node and nodes.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any, get_args

from torchlvm.cli import _types
from torchlvm.errors import ConfigError, RunDirectoryError

HELP = "train an autoencoder, VAE or CVAE on a dataset; writes a resumable run folder"

IMAGE_DATASETS: tuple[str, ...] = ("digits", "mnist", "fashion-mnist")
"""Datasets of grey-level images in [0, 1]: Bernoulli likelihood + dynamic binarization."""

DEFAULTS: dict[str, Any] = {
    "data_dir": None,
    "mmap": False,
    "latent_dim": 20,
    "hidden": [400],
    "activation": "relu",
    "arch": "mlp",
    "variance": "fixed",
    "scale": 1.0,
    "linear_decoder": False,
    "epochs": 20,
    "batch_size": 128,
    "lr": 1e-3,
    "objective": "elbo",
    "beta": 1.0,
    "warmup_epochs": 0,
    "free_bits": 0.0,
    "cvae_prior": "learned",
    "patience": None,
    "gradient_clip": None,
    "seed": 0,
    "deterministic": False,
    "on_nonfinite": "stop",
    "accelerator": "cpu",
    "devices": 1,
    "num_nodes": 1,
    "strategy": "auto",
    "compile": False,
    "threads": None,
    "quiet": False,
}
"""Defaults of the options without a data- or model-dependent default (see ``_settle``)."""

# options a resumed run may change; every other option must match the recorded run
_RESUME_MAY_CHANGE = (
    *("epochs", "patience", "data_dir", "quiet", "accelerator", "out"),
    *("devices", "num_nodes", "strategy", "compile", "threads"),  # fit() checks the world size
)


def _default(name: str) -> str:
    value = DEFAULTS[name]
    shown = " ".join(map(str, value)) if isinstance(value, list) else value
    return f" (default: {shown})"


def configure(parser: argparse.ArgumentParser) -> None:
    # Options default to SUPPRESS so that run() can tell what the user asked for (a resumed
    # run must not silently ignore a changed setting); defaults are filled in by _settle.
    add = parser.add_argument
    sup = argparse.SUPPRESS
    add("model", choices=["ae", "vae", "cvae"], help="the model to train")
    data = parser.add_argument_group("data")
    data.add_argument(
        "--data", default=sup, help="dataset name (see 'torchlvm datasets') or .npy/.npz/.csv path"
    )
    data.add_argument(
        "--data-dir",
        default=sup,
        help="the folder holding the data files (the only place looked in)",
    )
    data.add_argument(
        "--mmap", action="store_true", default=sup,
        help="stream a .npy file larger than memory from disk, a batch at a time, instead of "
        "loading it",
    )  # fmt: skip
    data.add_argument(
        "--binarize",
        choices=["none", "dynamic", "threshold"],
        default=sup,
        help="binary protocol: pixels redrawn each epoch (dynamic), x > 0.5 (threshold), or grey "
        "levels (none) (default: dynamic for image datasets with a Bernoulli likelihood, "
        "else none)",
    )
    data.add_argument(
        "--condition",
        default=sup,
        metavar="label|mask:KIND",
        help="cvae condition: the one-hot class (label) or the observed part of the image for "
        "imputation (mask:top, mask:left, mask:random:0.5, ...; KIND names the missing part) "
        "(default: label)",
    )
    model = parser.add_argument_group("model")
    model.add_argument(
        "--latent-dim", type=int, default=sup, help="K, the size of z" + _default("latent_dim")
    )
    model.add_argument(
        "--hidden", type=int, nargs="+", default=sup, metavar="WIDTH",
        help="hidden layer widths of the encoder; the decoder mirrors them" + _default("hidden"),
    )  # fmt: skip
    from torchlvm.nn import Activation

    model.add_argument(
        "--activation", choices=list(get_args(Activation)), default=sup,
        help="nonlinearity" + _default("activation"),
    )  # fmt: skip
    model.add_argument(
        "--arch", choices=["mlp", "conv"], default=sup,
        help="fully connected or convolutional encoder/decoder" + _default("arch"),
    )  # fmt: skip
    model.add_argument(
        "--likelihood",
        choices=["bernoulli", "gaussian"],
        default=sup,
        help="p(x|z) (for ae: Bernoulli cross-entropy or squared error) (default: bernoulli for "
        "image datasets, else gaussian)",
    )
    model.add_argument(
        "--variance", choices=["fixed", "scalar", "diagonal"], default=sup,
        help="Gaussian likelihood's σ: fixed, one learned value, or one per dimension"
        + _default("variance"),
    )  # fmt: skip
    model.add_argument(
        "--scale", type=float, default=sup,
        help="Gaussian σ when fixed, its initial value when learned" + _default("scale"),
    )  # fmt: skip
    model.add_argument(
        "--linear-decoder", action="store_true", default=sup,
        help="a linear decoder (with a Gaussian likelihood: the PPCA generative model; "
        "for ae: linear encoder and decoder)",
    )  # fmt: skip
    model.add_argument(
        "--cvae-prior", choices=["learned", "standard"], default=sup,
        help="cvae prior p(z|c): a learned network of c, or N(0, I)" + _default("cvae_prior"),
    )  # fmt: skip
    train = parser.add_argument_group("training")
    train.add_argument(
        "--objective", choices=["elbo", "iwae"], default=sup,
        help="bound to maximize (vae/cvae; ae always minimizes reconstruction error)"
        + _default("objective"),
    )  # fmt: skip
    train.add_argument(
        "--k", type=int, default=sup,
        help="importance samples of the IWAE bound (default: 5 with --objective iwae)",
    )  # fmt: skip
    train.add_argument(
        "--beta", type=float, default=sup, help="KL weight (β-VAE)" + _default("beta")
    )
    train.add_argument(
        "--warmup-epochs", type=int, default=sup,
        help="ramp the KL weight linearly from 0 to β over this many epochs"
        + _default("warmup_epochs"),
    )  # fmt: skip
    train.add_argument(
        "--free-bits", type=float, default=sup,
        help="free bits λ, nats per latent dimension (Kingma et al. 2016)" + _default("free_bits"),
    )  # fmt: skip
    train.add_argument(
        "--epochs", type=int, default=sup,
        help="epochs to train in total (with --resume: the new total)" + _default("epochs"),
    )  # fmt: skip
    train.add_argument(
        "--batch-size", type=int, default=sup, help="examples per batch" + _default("batch_size")
    )
    train.add_argument("--lr", type=float, default=sup, help="Adam learning rate" + _default("lr"))
    train.add_argument(
        "--patience", type=int, default=sup,
        help="stop after this many epochs without a better validation bound (default: never)",
    )  # fmt: skip
    train.add_argument(
        "--gradient-clip", type=float, default=sup,
        help="clip the gradient's 2-norm to this value (default: no clipping)",
    )  # fmt: skip
    train.add_argument(
        "--on-nonfinite", choices=["stop", "skip"], default=sup,
        help="on a NaN/inf loss: stop with an error, or skip that update"
        + _default("on_nonfinite"),
    )  # fmt: skip
    train.add_argument(
        "--seed", type=_types.seed, default=sup, help="seed of everything" + _default("seed")
    )
    train.add_argument(
        "--deterministic", action="store_true", default=sup,
        help="deterministic algorithms only (repeatable bit for bit on one machine)",
    )  # fmt: skip
    train.add_argument(
        "--accelerator", choices=["cpu", "gpu", "auto"], default=sup,
        help="where to train" + _default("accelerator"),
    )  # fmt: skip
    scale = parser.add_argument_group("speed and scale")
    scale.add_argument(
        "--devices", type=int, default=sup,
        help="processes per node (CPU cores or GPUs), each training on its share of every batch"
        + _default("devices"),
    )  # fmt: skip
    scale.add_argument(
        "--num-nodes", type=int, default=sup,
        help="machines taking part (see README: torchrun, SLURM)" + _default("num_nodes"),
    )  # fmt: skip
    scale.add_argument(
        "--strategy", choices=["auto", "ddp"], default=sup,
        help="how the processes train together; auto is ddp with more than one process"
        + _default("strategy"),
    )  # fmt: skip
    scale.add_argument(
        "--compile", action="store_true", default=sup,
        help="compile the training loss with torch.compile (slow start; measured not to pay on "
        "CPUs for MLPs, see benchmarks/RESULTS.md)",
    )  # fmt: skip
    scale.add_argument(
        "--threads", type=int, default=sup,
        help="torch intra-op threads per process (default: torch's, one per core; on a machine "
        "shared with other jobs --threads 1 is often several times faster)",
    )  # fmt: skip
    out = parser.add_argument_group("output")
    out.add_argument("--out", type=_types.out_path, required=True, help="the run folder to write")
    mode = out.add_mutually_exclusive_group()
    mode.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    mode.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --out from its last checkpoint up to --epochs in total; model "
        "and data settings come from the run",
    )
    out.add_argument("--quiet", action="store_true", default=sup, help="no progress bar")


# -- settling the options ---------------------------------------------------------------------


def _given(args: argparse.Namespace) -> dict[str, Any]:
    """The options the user passed (everything else is absent from the namespace)."""
    skip = {"command", "run", "model", "overwrite", "resume"}
    return {k: v for k, v in vars(args).items() if k not in skip}


def _settle(model_type: str, given: dict[str, Any]) -> dict[str, Any]:
    """Every option's value for a new run: the user's, else the default for this model/data."""
    s = {**DEFAULTS, **given}
    if "data" not in s:
        raise ConfigError("--data is required (a dataset name or a .npy/.npz/.csv file)")
    image = str(s["data"]) in IMAGE_DATASETS
    s.setdefault("likelihood", "bernoulli" if image else "gaussian")
    s.setdefault("binarize", "dynamic" if image and s["likelihood"] == "bernoulli" else "none")
    s.setdefault("condition", "label" if model_type == "cvae" else "none")
    s.setdefault("k", 5 if s["objective"] == "iwae" else 1)
    if model_type == "ae":
        not_for_ae = ("objective", "k", "beta", "warmup_epochs", "free_bits", "variance", "scale")
        for name in (*not_for_ae, "cvae_prior"):
            if name in given:
                raise ConfigError(
                    f"--{name.replace('_', '-')} does not apply to an autoencoder, which minimizes "
                    "reconstruction error; train a vae for it"
                )
        s["objective"] = "reconstruction"
    if model_type != "cvae" and "cvae_prior" in given:
        raise ConfigError("--cvae-prior applies to cvae only")
    if model_type != "cvae" and s["condition"] != "none":
        raise ConfigError(
            f"--condition {s['condition']} needs a conditional model; train a cvae for it"
        )
    if s["likelihood"] == "bernoulli" and ("variance" in given or "scale" in given):
        raise ConfigError("--variance and --scale apply to --likelihood gaussian only")
    return s


def _train_config(s: dict[str, Any]):
    from torchlvm.training import TrainConfig

    return TrainConfig(
        objective=s["objective"],
        k=s["k"],
        beta=s["beta"],
        warmup_epochs=s["warmup_epochs"],
        free_bits=s["free_bits"],
        lr=s["lr"],
        batch_size=s["batch_size"],
        max_epochs=s["epochs"],
        patience=s["patience"],
        gradient_clip=s["gradient_clip"],
        seed=s["seed"],
        deterministic=s["deterministic"],
        on_nonfinite=s["on_nonfinite"],
    )


def _model_fields(model_type: str, s: dict[str, Any], dm: Any) -> dict[str, Any]:
    """The model config's fields from the settled options and the data's facts."""
    fields: dict[str, Any] = {
        "input_dim": dm.input_dim,
        "latent_dim": s["latent_dim"],
        "hidden": tuple(s["hidden"]),
        "activation": s["activation"],
        "arch": s["arch"],
        "image_shape": dm.shape if s["arch"] == "conv" else None,
    }
    if model_type == "ae":
        fields["linear"] = s["linear_decoder"]
        fields["reconstruction"] = "bernoulli" if s["likelihood"] == "bernoulli" else "mse"
        return fields
    fields.update(
        likelihood=s["likelihood"],
        variance=s["variance"],
        scale=s["scale"],
        linear_decoder=s["linear_decoder"],
    )
    if model_type == "cvae":
        record = dm.record()
        fields.update(condition_dim=dm.condition_dim, prior=s["cvae_prior"])
        if s["condition"] == "label":
            names = record["class_names"]
            fields.update(
                num_classes=record["num_classes"],
                class_names=None if names is None else tuple(names),
            )
    return fields


def _model_class(model_type: str) -> type:
    if model_type == "ae":
        from torchlvm.models.autoencoder import Autoencoder

        return Autoencoder
    if model_type == "vae":
        from torchlvm.models.vae import VAE

        return VAE
    from torchlvm.models.cvae import CVAE

    return CVAE


def _check_early(s: dict[str, Any]) -> None:
    """Range checks that need no data, so that a typo fails before anything loads."""
    from torchlvm._checks import check_positive_int

    check_positive_int("latent_dim", s["latent_dim"])
    for width in s["hidden"]:
        check_positive_int("hidden width", width)


# -- resuming ---------------------------------------------------------------------------------


def _resume_settings(model_type: str, out: Path, given: dict[str, Any]):
    """Model, training config and data module of the run in ``out``, with the allowed changes.

    Raises:
        ConfigError: if the user passed a setting that differs from the recorded run.
    """
    from torchlvm.models.config import config_from_dict
    from torchlvm.training import LVMDataModule, TrainConfig, read_run_record

    record = read_run_record(out)
    recorded_type = record.get("model_type")
    if recorded_type != model_type:
        raise ConfigError(
            f"--resume: {out} holds a {recorded_type} run, not {model_type}; "
            f"run 'torchlvm train {recorded_type} ... --resume'"
        )
    cls = _model_class(model_type)
    source = f"{out} run record"
    model_config = config_from_dict(cls.Config, record.get("model"), source=f"{source} 'model'")
    _check_checkpoint_first(cls, model_config, out)
    training = dict(record.get("training") or {})
    data = dict(record.get("data") or {})
    recorded = _recorded_options(model_type, model_config, training, data)
    changed = [
        f"--{name.replace('_', '-')} {given[name]!r} (the run has {recorded[name]!r})"
        for name in given
        if name not in _RESUME_MAY_CHANGE
        and name in recorded
        and _differs(given[name], recorded[name])
    ]
    if changed:
        raise ConfigError(
            f"--resume continues the run in {out} with its own settings, but {changed[0]}; "
            "drop the option, or train a new run in another folder"
        )
    if "epochs" in given:
        training["max_epochs"] = given["epochs"]
    if "patience" in given:
        training["patience"] = given["patience"]
    config = config_from_dict(TrainConfig, training, source=f"{source} 'training'")
    dm = LVMDataModule(
        data.get("name", ""),
        data_dir=given.get("data_dir", data.get("data_dir")),
        binarize=data.get("binarize", "none"),
        seed=data.get("seed", config.seed),
        batch_size=config.batch_size,
        condition=data.get("condition", "none"),
        options=data.get("options") or {},
    )
    return cls.from_config(model_config), config, dm


def _check_checkpoint_first(cls: type, model_config: Any, out: Path) -> None:
    """Check the run's last checkpoint against a skeleton of the recorded model on the meta
    device (which allocates nothing) before building it: each recorded size is bounded, but
    their product is not, and a run record can be edited or shared."""
    import torch

    from torchlvm.training.checkpoint_io import check_checkpoint_fits, read_checkpoint
    from torchlvm.training.trainer import CHECKPOINT_DIR, LAST_NAME

    last = out / CHECKPOINT_DIR / LAST_NAME
    if last.is_file():  # (without one, fit says there is nothing to resume)
        with torch.device("meta"):
            skeleton = torch.nn.ModuleDict({"model": cls.from_config(model_config)})
        check_checkpoint_fits(read_checkpoint(last), skeleton, last)


def _recorded_options(
    model_type: str, model_config: Any, training: dict[str, Any], data: dict[str, Any]
) -> dict[str, Any]:
    """The recorded run expressed as CLI option values, for comparison with what was passed."""
    m = model_config
    options = {
        "data": data.get("name"),
        "binarize": data.get("binarize"),
        "condition": data.get("condition"),
        "latent_dim": m.latent_dim,
        "hidden": list(m.hidden),
        "activation": m.activation,
        "arch": m.arch,
        "batch_size": training.get("batch_size"),
        "lr": training.get("lr"),
        "seed": training.get("seed"),
        "gradient_clip": training.get("gradient_clip"),
        "deterministic": training.get("deterministic"),
        "on_nonfinite": training.get("on_nonfinite"),
    }
    if model_type == "ae":
        options["linear_decoder"] = m.linear
        options["likelihood"] = "bernoulli" if m.reconstruction == "bernoulli" else "gaussian"
        return options
    options.update(
        likelihood=m.likelihood,
        variance=m.variance,
        scale=m.scale,
        linear_decoder=m.linear_decoder,
        objective=training.get("objective"),
        k=training.get("k"),
        beta=training.get("beta"),
        warmup_epochs=training.get("warmup_epochs"),
        free_bits=training.get("free_bits"),
    )
    if model_type == "cvae":
        options["cvae_prior"] = m.prior
    return options


def _differs(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) != float(b)
    return a != b


# -- running ----------------------------------------------------------------------------------


def _new_run(model_type: str, given: dict[str, Any]):
    import lightning as L

    from torchlvm.training import LVMDataModule

    s = _settle(model_type, given)
    config = _train_config(s)
    _check_early(s)
    L.seed_everything(config.seed, verbose=False)
    dm = LVMDataModule(
        s["data"],
        data_dir=s["data_dir"],
        binarize=s["binarize"],
        seed=s["seed"],
        batch_size=config.batch_size,
        condition=s["condition"],
        options={"mmap": True} if s["mmap"] else None,
    )
    dm.setup("fit")
    cls = _model_class(model_type)
    model = cls.from_config(cls.Config(**_model_fields(model_type, s, dm)))
    return model, config, dm


def _scale_options(given: dict[str, Any]) -> dict[str, Any]:
    """fit()'s keyword arguments for --devices, --num-nodes, --strategy and --compile; applies
    --threads (and exports it as OMP_NUM_THREADS, which Lightning's DDP and child processes
    respect)."""
    from torchlvm._checks import check_positive_int
    from torchlvm.training.trainer import check_devices

    devices = given.get("devices", DEFAULTS["devices"])
    num_nodes = given.get("num_nodes", DEFAULTS["num_nodes"])
    check_devices(given.get("accelerator", DEFAULTS["accelerator"]), devices, num_nodes)
    threads = given.get("threads", DEFAULTS["threads"])
    if threads is not None:
        import torch

        torch.set_num_threads(check_positive_int("threads", threads))
        os.environ["OMP_NUM_THREADS"] = str(threads)
    return {
        "devices": devices,
        "num_nodes": num_nodes,
        "strategy": given.get("strategy", DEFAULTS["strategy"]),
        "compile": bool(given.get("compile", DEFAULTS["compile"])),
    }


def _launcher_rank(devices: int) -> int:
    """This process's global rank as its launcher set it: torchrun's RANK, SLURM_PROCID under srun
    with several tasks, else NODE_RANK × devices + LOCAL_RANK (Lightning's own launcher, which
    re-runs this command for ranks > 0); 0 for a plain start."""
    env = os.environ
    try:
        if "RANK" in env:
            return int(env["RANK"])
        if "SLURM_PROCID" in env and int(env.get("SLURM_NTASKS", "1")) > 1:
            return int(env["SLURM_PROCID"])
        node = int(env.get("NODE_RANK", env.get("GROUP_RANK", "0")))
        return node * int(devices) + int(env.get("LOCAL_RANK", "0"))
    except ValueError:
        return 0


def _run_other_rank(args: argparse.Namespace, given: dict[str, Any], options: dict) -> int:
    """A process of global rank > 0: train alongside rank 0, which checks, stages and writes the
    run folder; this process writes nothing and prints nothing."""
    import tempfile

    from torchlvm.training import fit

    if args.resume:
        model, config, dm = _resume_settings(args.model, args.out, given)
        fit(model, dm, config, args.out, resume=True, **options)
        return 0
    model, config, dm = _new_run(args.model, given)
    with tempfile.TemporaryDirectory(prefix="torchlvm-rank-") as scratch:
        fit(model, dm, config, Path(scratch) / "run", **options)  # writes nothing there
    return 0


def run(args: argparse.Namespace) -> int:
    from torchlvm.run import (
        adopt_interrupted,
        check_new_target,
        check_not_busy,
        holds_run,
        resuming,
        staged_run,
    )
    from torchlvm.training import fit

    out: Path = args.out
    given = _given(args)
    given.pop("out", None)
    writer = _launcher_rank(given.get("devices", DEFAULTS["devices"])) == 0  # rank 0 writes
    if args.resume:
        if writer:
            check_not_busy(out)
        if writer and (stage := adopt_interrupted(out)) is not None:
            print(f"continuing the interrupted run left in {stage}")
        if not holds_run(out):
            raise RunDirectoryError(
                f"--resume: {out} holds no run to continue; train it without --resume first"
            )
        model, config, dm = _resume_settings(args.model, out, given)
    else:
        if writer:  # rank 0 stages the run (and holds its lock) while the other ranks start
            check_new_target(out, overwrite=args.overwrite)
        model, config, dm = _new_run(args.model, given)
        dm.check_model(model)  # before any folder is made
    quiet = bool(given.get("quiet", False))
    options = {
        "progress": not quiet,
        "accelerator": given.get("accelerator", DEFAULTS["accelerator"]),
        **_scale_options(given),
        "extra_config": {"cli": {"command": "train", "model": args.model, **_jsonable(given)}},
    }
    if not writer:
        return _run_other_rank(args, given, options)
    if args.resume:
        with resuming(out):
            result = fit(model, dm, config, out, resume=True, **options)
    else:
        with staged_run(out, overwrite=args.overwrite, keep_partial=True) as stage:
            result = fit(model, dm, config, stage.folder, **options)
        result = _moved(result, out)
    _print_summary(args.model, model, dm, config, result)
    return 0


def _jsonable(given: dict[str, Any]) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Path) else v for k, v in given.items()}


def _moved(result: Any, out: Path) -> Any:
    from dataclasses import replace

    return replace(result, out_dir=out)


def _epochs(n: int) -> str:
    return f"{n} epoch" if n == 1 else f"{n} epochs"


def _print_summary(model_type: str, model: Any, dm: Any, config: Any, result: Any) -> None:
    record = dm.record()
    protocol = f"binarize={record['binarize']}"
    if record["condition"] != "none":
        protocol += f", condition={record['condition']}"
    done = result.epochs - result.start_epoch
    resumed = f" (resumed at epoch {result.start_epoch})" if result.start_epoch else ""
    stopped = ", stopped early" if result.stopped_early else ""
    print(
        f"trained {model_type} on {record['name']} ({record['num_train']} train / "
        f"{record['num_val']} val examples, {protocol}, seed {config.seed}): "
        f"{_epochs(done)}{resumed}{stopped} in {result.seconds:.1f} s, "
        f"{_epochs(result.epochs)} in all"
    )
    final = result.final
    nats = "nats/example"
    if config.objective == "reconstruction":
        unit = "nats/example" if model.config.reconstruction == "bernoulli" else "squared error"
        rows = [("validation reconstruction loss (lower is better)", "val/reconstruction", unit)]
    else:
        rows = [
            ("validation ELBO (bound on log p(x); β=1, 1 z sample, analytic KL)", "val/elbo", nats),
            ("  of which reconstruction E_q[log p(x|z)]", "val/log_lik", nats),
            ("  and KL(q(z|x) ‖ p(z))", "val/kl", nats),
        ]
        k = config.k
        if config.objective == "iwae" and k > 1:
            rows.append((f"validation IWAE bound L_{k} (k={k} samples)", f"val/iwae_{k}", nats))
    for label, key, unit in rows:
        if key in final:
            print(f"  {label}, last epoch: {final[key]:.3f} {unit}")
    if result.best_epoch is not None and result.best_value is not None:
        print(
            f"  saved weights: best epoch {result.best_epoch} by {result.monitor} = "
            f"{result.best_value:.3f}"
        )
    if result.skipped_steps:
        print(f"  skipped updates with a non-finite loss: {result.skipped_steps}")
    print(f"wrote {result.out_dir}/config.json, model.safetensors, metrics.csv, checkpoints/")
