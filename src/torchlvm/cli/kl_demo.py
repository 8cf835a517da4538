"""Fit one Gaussian to a two-mode target by forward KL(p ‖ q) and by reverse KL(q ‖ p), plot both
fits over the target and print the mass each puts on each mode.

Forward KL is what maximum likelihood minimizes: mass-covering, the fit spans both modes. Reverse
KL is what the ELBO (variational inference, the VAE) minimizes: mode-seeking, the fit locks onto
one mode. Writes kl_fits_1d.png and/or kl_fits_2d.png into --out (other files there are kept;
one of those names that exists already is replaced only with --overwrite).

Example: torchlvm kl-demo --out figures --dim 2
"""

from __future__ import annotations

import argparse
from pathlib import Path

from torchlvm.cli import _types
from torchlvm.cli._accelerator import apply_threads

HELP = "forward vs reverse KL: fit a Gaussian to a two-mode target, plot, print mass per mode"


MAX_SEPARATION = 1000.0
"""The widest target offered: beyond it the fits' numbers (KL of order separation²) lose their
digits, and far beyond it (about 1e150) they overflow to NaN."""


def _separation(text: str) -> float:
    """``--separation``: a finite number in (0, MAX_SEPARATION]."""
    value = _types.positive_number(text)
    if value > MAX_SEPARATION:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_SEPARATION:g}, got {text}")
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", type=_types.given_path, required=True, help="folder for the figure(s)"
    )
    parser.add_argument(
        "--dim", type=int, choices=[1, 2], help="dimension of the target (default: both)"
    )
    parser.add_argument(
        "--separation",
        type=_separation,
        default=6.0,
        help=f"distance between the modes, in σ (above 0, at most {MAX_SEPARATION:g})",
    )
    parser.add_argument("--steps", type=_types.positive_int, default=500, help="Adam steps per fit")
    parser.add_argument(
        "--samples", type=_types.positive_int, default=256, help="Monte Carlo draws per step"
    )
    parser.add_argument(
        "--seed", type=_types.seed, default=0, help="seed of the draws and of the start"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing figures")
    parser.add_argument(
        "--threads", type=_types.positive_int,
        help="torch intra-op threads on the CPU (default: 1, the fastest for these 1-D and 2-D "
        "fits)",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:

    from torchlvm._shell import unexpanded_home
    from torchlvm.distributions.fitting import bimodal_target, fit_gaussian
    from torchlvm.errors import RunDirectoryError
    from torchlvm.plots import drawn_by_torchlvm
    from torchlvm.plots.kl_fits import kl_fits_figure, save_figure
    from torchlvm.run import output_file

    if (home := unexpanded_home(args.out, "out")) is not None:  # (a folder: named as typed)
        raise home
    if args.out.exists() and not args.out.is_dir():
        raise RunDirectoryError(f"--out {args.out} is a file; pass a folder path")
    dims = (1, 2) if args.dim is None else (args.dim,)
    for dim in dims:  # a file already there is the user's, unless torchlvm drew it
        path = args.out / f"kl_fits_{dim}d.png"
        output_file(None, path, suffix=".png", overwrite=args.overwrite, ours=drawn_by_torchlvm)
    _check_writable(args.out)  # a folder it cannot write to fails now, not after the fits
    apply_threads(args.threads or 1)  # 1-D and 2-D problems: extra threads only add overhead
    for dim in dims:
        target = bimodal_target(dim, args.separation)
        fits = {
            direction: fit_gaussian(
                target,
                direction,
                steps=args.steps,
                num_samples=args.samples,
                seed=args.seed,
            )
            for direction in ("forward", "reverse")
        }
        modes = target.component_distribution.mean[:, 0].tolist()
        print(f"{dim}-D target: two Gaussians (σ = 1) at z₁ = {modes[0]:+g} and {modes[1]:+g}")
        for direction, fit in fits.items():
            print(_fit_line(direction, fit, target))
        fig = kl_fits_figure(
            target,
            {name: fit.q for name, fit in fits.items()},
            mass_per_mode={name: fit.mass_per_mode for name, fit in fits.items()},
            title=f"One Gaussian fitted to a two-mode target ({dim}-D)",
        )
        path = args.out / f"kl_fits_{dim}d.png"
        save_figure(fig, path)
        print(f"  wrote {path}")
    return 0


def _fit_line(direction: str, fit, target) -> str:
    """One fit's line: its mean, variance and mass per mode, its final KL, and its optimum."""
    what = (
        "forward KL(p‖q), mass-covering"
        if direction == "forward"
        else "reverse KL(q‖p), mode-seeking (the ELBO's direction)"
    )
    mass = fit.mass_per_mode.tolist()
    var = fit.q.covariance_matrix[0, 0].item()
    optimum = (
        _forward_optimum(target, var)
        if direction == "forward"
        else _reverse_optimum(target, fit.history)
    )
    return (
        f"  {what}: mean z₁ = {fit.q.loc[0].item():+.3f}, variance along the modes "
        f"{var:.3f}, mass per mode {mass[0]:.3f} / {mass[1]:.3f}, "
        f"final KL estimate {_final_kl(fit.history)}{optimum}"
    )


def _reverse_optimum(target, history) -> str:
    """The reverse fit's known optimum (on a mode for separated modes, centred for close ones,
    computed by :func:`~torchlvm.distributions.fitting.reverse_optimum`), and a warning when the
    fit's final KL is above it by more than 0.05 nats and 3 standard errors: at separation 200
    the default 500 steps stopped at mean z₁ = 87 with KL 89.9 nats against 0.693 at the mode
    (100), and were printed as the result."""
    from torchlvm.distributions.fitting import reverse_optimum
    from torchlvm.evaluation.stats import mean_and_stderr

    best, best_kl = reverse_optimum(target)
    mean = best.loc[0].item()
    where = f"±{abs(mean):.3f}" if abs(mean) >= 5e-4 else "0.000"
    note = (
        f" (optimum: KL {best_kl:.3f} nats at mean z₁ = {where}, variance "
        f"{best.covariance_matrix[0, 0].item():.3f}"
    )
    final, stderr = mean_and_stderr(history[-20:])
    if float(final) - best_kl > max(0.05, 3 * float(stderr)):
        return note + "; NOT converged: pass more --steps)"
    return note + ")"


def _final_kl(history) -> str:
    """The KL at the end of a fit: the mean of the last 20 steps' Monte Carlo estimates, ± its
    standard error, to that error's digit (a bare 0.457 hid how much of it was noise)."""
    from torchlvm.evaluation.stats import mean_and_stderr
    from torchlvm.report.metrics import format_measured

    last = history[-20:]
    return f"{format_measured(*mean_and_stderr(last))} nats, mean of the last {len(last)} steps"


def _check_writable(folder: Path) -> None:
    """Check that ``folder``, or the nearest folder above it that exists (the figure's folder
    is made when the figure is saved), can be written.

    Raises:
        OSError: naming that folder.
    """
    from torchlvm._files import check_writable

    existing = next(p for p in (folder, *folder.absolute().parents) if p.exists())
    check_writable(existing)


def _forward_optimum(target, variance: float) -> str:
    """The forward fit's known optimum (moment matching), and a warning when the fit has not
    reached it: wide targets need more --steps than the default."""
    from torchlvm.distributions.fitting import moment_match

    best = moment_match(target).covariance_matrix[0, 0].item()
    note = f" (optimum, moment matching: variance {best:.3f}"
    if abs(variance - best) > 0.1 * best:
        return note + "; NOT converged: pass more --steps)"
    return note + ")"
