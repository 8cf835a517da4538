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
import dataclasses
import os
from pathlib import Path
from typing import Any

from torchlvm._epochs import epochs, shown
from torchlvm._shell import quoted
from torchlvm.cli import _table_resume, _tables, _train_again
from torchlvm.cli import train_options as opts
from torchlvm.cli._progress import bar_or_lines, show_progress
from torchlvm.errors import ConfigError

HELP = "train an autoencoder, VAE or CVAE on a dataset; writes a resumable run folder"
configure = opts.configure  # the options live in train_options.py


def _given(args: argparse.Namespace) -> dict[str, Any]:
    """The options the user passed (everything else is absent from the namespace)."""
    skip = {"command", "run", "model", "overwrite", "resume", "out"}
    return {k: v for k, v in vars(args).items() if k not in skip}


def _new_run(model_type: str, given: dict[str, Any]):
    """Model, training config and data module of a new run from the passed options."""
    import lightning as L

    from torchlvm._checks import check_positive_int
    from torchlvm.models.registry import model_class, recipe_for
    from torchlvm.training import LVMDataModule, TrainConfig

    s = opts.settle(model_type, given)
    config = TrainConfig(**opts.train_fields(s))
    if s["latent_dim"] is not None:  # (a table's default comes from its columns, once read)
        check_positive_int("latent_dim", s["latent_dim"])  # before any data is loaded
    for width in s["hidden"]:
        check_positive_int("hidden width", width)
    L.seed_everything(config.seed, verbose=False)
    dm = LVMDataModule(
        s["data"],
        data_dir=s["data_dir"],
        binarize=s["binarize"],
        seed=s["seed"],
        batch_size=config.batch_size,
        condition=s["condition"],
        options={"mmap": True} if s["mmap"] else _tables.options_from(s) or None,
    )
    dm.setup("fit")
    opts.settle_data(s, dm)  # a table's latent size, σ's start: what the data decide
    _check_step_fits(config, dm)
    cls = model_class(model_type)
    return cls.from_config(recipe_for(model_type).config(cls, s, dm.facts())), config, dm


def _check_step_fits(config: Any, dm: Any) -> None:
    """Refuse a step whose decoder output alone, k × batch × D values, cannot fit in memory."""
    from torchlvm._memory import check_fits

    batch = min(config.batch_size, dm.record()["num_train"])
    what = f"--k {config.k} samples of a batch of {batch} examples of {dm.input_dim} values"
    check_fits(config.k * batch * dm.input_dim * 4, what, "lower --k or --batch-size")


def _resume_settings(model_type: str, out: Path, given: dict[str, Any]):
    """Model, training config and data module of the run in ``out``, with the allowed changes.

    Raises:
        ConfigError: if a passed option gives settings that differ from the recorded run's.
    """
    from torchlvm.data.dataset_copy import own_copy
    from torchlvm.models.config import config_from_dict
    from torchlvm.models.registry import RECIPES, model_class
    from torchlvm.run.layout import CHECKPOINT_DIR, LAST_NAME
    from torchlvm.training import LVMDataModule, TrainConfig
    from torchlvm.training.checkpoint_io import check_recorded_fits

    record = _table_resume.resume_record(out, given.get("data"))  # --data: the run's file, moved
    recorded_type = record.get("model_type")
    if recorded_type != model_type:
        again = f"run '{_train_again.resume_as(str(recorded_type), out, given)}'"
        if recorded_type not in RECIPES:  # a PPCA run: 'fit' made it, and 'fit' has no resume
            again = "'torchlvm fit' made it, which does not resume; train into another --out"
        raise ConfigError(f"--resume: {out} holds a {recorded_type} run, not {model_type}; {again}")
    _train_again.check_training_state(out, record, given)
    opts.refuse_foreign(model_type, given)
    cls = model_class(model_type)
    source = f"{out} run record"
    model_config = config_from_dict(cls.Config, record.get("model"), source=f"{source} 'model'")
    dtype = check_recorded_fits(cls, model_config, out / CHECKPOINT_DIR / LAST_NAME)
    changed = opts.changed_setting(model_type, given, record)
    if changed:
        raise ConfigError(
            f"--resume continues the run in {out} with its own settings, but {changed}; "
            "drop the option, or train a new run in another folder"
        )
    allowed = {k: v for k, v in given.items() if k in ("epochs", "patience")}
    training = {**(record.get("training") or {}), **opts.train_fields(allowed)}
    config = config_from_dict(TrainConfig, training, source=f"{source} 'training'")
    data = dict(record.get("data") or {})
    dm = LVMDataModule(
        data.get("name", ""),
        data_dir=own_copy(data, given.get("data_dir", data.get("data_dir")), out),
        binarize=data.get("binarize", "none"),
        seed=data.get("seed", config.seed),
        batch_size=config.batch_size,
        condition=data.get("condition", "none"),
        options=data.get("options") or {},
    )
    _table_resume.check_resume(data, dm, out)
    return cls.from_config(model_config).to(dtype), config, dm


def _scale_options(given: dict[str, Any], *, table: bool) -> dict[str, Any]:
    """fit()'s keyword arguments for --devices, --num-nodes, --strategy, --compile, --cuda-graph
    (``fast``); applies --threads (one for a ``table``), exported as OMP_NUM_THREADS for DDP."""
    from torchlvm.cli._accelerator import apply_threads
    from torchlvm.training.trainer import check_devices

    s = {**opts.DEFAULTS, **(opts.TABLE_DEFAULTS if table else {}), **given}
    check_devices(s["accelerator"], s["devices"], s["num_nodes"])
    apply_threads(s["threads"])
    keys = ("accelerator", "devices", "num_nodes", "strategy")
    shown = show_progress(argparse.Namespace(progress=s["progress"], quiet=s["quiet"]))
    progress = bar_or_lines(shown)
    switches = {"compile": bool(s["compile"]), "fast": bool(s["cuda_graph"])}
    return {**{k: s[k] for k in keys}, **switches, "progress": progress}


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
    from torchlvm.data.standardize import warn_of_scale
    from torchlvm.run import (
        adopt_interrupted,
        check_new_target,
        check_not_busy,
        resuming,
        staged_run,
    )
    from torchlvm.run.interrupted import check_resumable
    from torchlvm.run.layout import resolved_folder
    from torchlvm.training import fit

    # (a resume writes the run it read, also where a link is flipped meanwhile: userV #5)
    out: Path = resolved_folder(args.out) if args.resume else args.out
    given = _given(args)
    writer = _launcher_rank(given.get("devices", opts.DEFAULTS["devices"])) == 0  # rank 0 writes
    if args.resume:
        if writer:
            check_not_busy(out)
        if writer and (stage := adopt_interrupted(out)) is not None:
            print(f"continuing the interrupted run left in {stage}")
        check_resumable(out)  # (a run killed in its first epoch: named, with its command)
        model, config, dm = _resume_settings(args.model, out, given)
    else:
        if writer:  # rank 0 stages the run (and holds its lock) while the other ranks start
            check_new_target(out, overwrite=args.overwrite)
        model, config, dm = _new_run(args.model, given)
        dm.check_model(model)  # before any folder is made
        warn_of_scale(dm.train_data, getattr(model, "config", None))
    options = {
        **_scale_options(given, table=_tables.is_table(dm.name)),
        "extra_config": {"cli": _train_again.cli_record(args.model, given, args.resume and out)},
    }
    if not writer:
        return _run_other_rank(args, given, options)
    messages = _train_again.commands(args.model, given, out, overwrite=args.overwrite)
    if args.resume:
        with resuming(out, epochs=config.max_epochs, resume=messages["resume"]):
            result = fit(model, dm, config, out, resume=True, **options)
    else:
        with staged_run(out, overwrite=args.overwrite, keep_partial=True, **messages) as stage:
            result = fit(model, dm, config, stage.folder, **options)
        result = dataclasses.replace(result, out_dir=out)  # where the stage was moved
    _print_summary(args.model, model, dm, config, result)
    return 0


def _print_summary(model_type: str, model: Any, dm: Any, config: Any, result: Any) -> None:
    from torchlvm.evaluation.records import example_noun, nats_per
    from torchlvm.run.metrics import stale_metrics
    from torchlvm.training.config import shaped_objective

    record = dm.record()
    protocol = f"binarize={record['binarize']}"
    if dm.condition.conditional:
        protocol += f", condition={record['condition']}"
    done = result.epochs - result.start_epoch
    resumed = f" (resumed at epoch {shown(result.start_epoch)})" if result.start_epoch else ""
    stopped = ", stopped early" if result.stopped_early else ""
    noun, nats = example_noun("table" in record) + "s", nats_per("table" in record)
    what = (
        f"{model_type} on {record['name']} ({record['num_train']} train / "
        f"{record['num_val']} val {noun}, {protocol}, seed {config.seed})"
    )
    print(  # nothing done: an interrupted run resumed with --epochs at the epochs it finished
        f"trained {what}: {epochs(done)}{resumed}{stopped} in {result.seconds:.1f} s, "
        f"{epochs(result.epochs)} in all" if done else f"finished {what} where its training "
        f"stopped, after {epochs(result.epochs)}: no epoch trained, the best epoch's weights saved"
    )  # fmt: skip
    if (trained := shaped_objective(config)) is not None:
        print(f"  trained on {trained}; the validation ELBO below is the bound itself (β=1)")
    final, k = result.final, config.k
    squared = getattr(model.config, "reconstruction", None) == "mse"
    kl_how = "Monte Carlo KL" if getattr(model, "kl_method", "analytic") == "mc" else "analytic KL"
    c = dm.condition.given  # a CVAE's densities are conditioned on c: say so
    x_c, z_c, and_c = (f"x | {c}", f"z|{c}", f",{c}") if c else ("x", "z", "")
    rows = [  # those the objective logged (its registered validation terms)
        ("validation reconstruction loss (lower is better)", "val/reconstruction",
         f"squared error/{example_noun('table' in record)}" if squared else nats),
        (f"validation ELBO (bound on log p({x_c}); β=1, 1 z sample, {kl_how})", "val/elbo", nats),
        (f"  of which reconstruction E_q[log p(x|z{and_c})]", "val/log_lik", nats),
        (f"  and KL(q(z|x{and_c}) ‖ p({z_c}))", "val/kl", nats),
        (f"validation IWAE bound L_{k} (k={k} samples)", f"val/iwae_{k}", nats),
        (f"validation MIWAE bound L_{k} (bound on log p(x_o), the observed cells; k={k} "
         "samples)", "val/miwae", nats),
    ]  # fmt: skip
    for label, key, unit in rows:
        if key in final:
            print(f"  {label}, last epoch: {final[key]:.3f} {unit}")
    if result.best_epoch is not None and result.best_value is not None:
        best = f"best epoch {shown(result.best_epoch)} by {result.monitor}"
        print(f"  saved weights: {best} = {result.best_value:.3f}")
    if result.stopped_early:  # (why, and the way on: userW #5, a table's run ended on a plateau)
        print(f"  stopped early: no better {result.monitor} for {epochs(config.patience)} "
              f"(--patience; 30 for a table); to train on: torchlvm train {model_type} --resume "
              f"--out {quoted(result.out_dir)} --patience {4 * config.patience}")  # fmt: skip
    if result.skipped_steps:
        print(f"  skipped updates with a non-finite loss: {result.skipped_steps}")
    print(f"wrote {result.out_dir}/config.json, model.safetensors, metrics.csv, checkpoints/")
    if (stale := stale_metrics(result.out_dir)) is not None:
        print(f"  {result.out_dir}/{stale}: of the model before this resume; "
              f"'torchlvm evaluate {quoted(result.out_dir)}' measures this one")  # fmt: skip
