"""Encode a dataset with a trained model: the posterior means E_q[z | x] as an (N, K) .npy file.

For a VAE the mean of q(z | x); for a CVAE the mean of q(z | x, c) under x's own condition; for
PPCA the exact posterior mean; for an autoencoder its code f(x). The data are taken as the model
sees them (under the run's binarization protocol). When the data have labels they are written
next to the latents as FILE.labels.npy (same row order). Both files are written atomically.

Examples:
  torchlvm encode runs/vae --data digits --out latents.npy
  torchlvm encode runs/vae --split train
"""

from __future__ import annotations

import argparse

from torchlvm.cli import _types

HELP = "write the posterior means of a dataset's examples (N, K) to a .npy file"


def configure(parser: argparse.ArgumentParser) -> None:
    _types.run_and_data(parser)
    _types.output_options(parser, "DIR/latents.npy")


def run(args: argparse.Namespace) -> int:
    from torchlvm import run as _run

    run_ = _run.load_run(args.run_dir)
    default = run_.folder / "latents.npy"
    out = _run.output_file(args.out, default, suffix=".npy", overwrite=args.overwrite)
    dataset = _run.load_split(run_, args.data, args.split, data_dir=args.data_dir)
    labels_out = None
    if dataset.y is not None:
        labels_out = _run.output_file(
            _run.labels_file(out), out, suffix=".npy", overwrite=args.overwrite
        )
    x = _run.model_view(dataset, run_, args.seed)
    c = _run.conditions(run_, x, dataset.y, dataset)
    model = run_.model
    means = _run.in_batches(lambda xb, cb: model.encode(xb, cb).mean, x, c)  # (N, K)
    arrays = {out: means.detach().cpu().numpy()}
    if labels_out is not None:
        arrays[labels_out] = dataset.y.numpy()
    _run.write_npy(arrays)
    what = "codes f(x)" if run_.model_type == "ae" else "posterior means E_q[z | x]"
    if run_.model_type == "cvae":
        what = "posterior means E_q[z | x, c] (c: each example's own condition)"
    elif run_.model_type == "ppca":
        what = "exact posterior means E[z | x]"
    print(
        f"encoded {dataset.name} {dataset.split} split ({_run.protocol_note(dataset, args.seed)}) "
        f"with {run_.describe()}"
    )
    print(f"wrote {out}: {what}, shape {tuple(means.shape)} (examples, latent dimensions)")
    if labels_out is not None:
        print(f"wrote {labels_out}: class labels, shape {tuple(dataset.y.shape)}")
    return 0
