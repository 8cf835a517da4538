"""What the input check on every training step costs: ``check_model`` and ``check_rows(x, model,
c=c)``, which ``elbo`` and ``log_importance_weights`` call, against the step they guard.

``check_rows`` checks x's shape in Python and, given the model, that x (and c) are on the
model's device, reading ``next(model.parameters())``. Each is timed alone (``timeit``, the
fastest of 5 repeats of 20,000 calls) beside a whole step of the same model in a plain loop
(``-elbo(model, x).elbo.mean()``, backward, Adam; the median of 50 steps' CPU time after 5
warm-up steps, one torch thread), on the CPU proxy (784-16-z2, batch 1024) and the reference
model (784-400-z20, batch 128), random inputs in [0, 1] binarized.

    nice -n 10 .venv/bin/python benchmarks/check_rows_cost.py --out RESULT.md
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import _machine as M  # noqa: E402

SETTINGS = {"proxy-1024": (16, 2, 1024), "reference-128": (400, 20, 128)}


def microseconds(call) -> float:
    """The fastest of 5 repeats of 20,000 calls, µs per call."""
    return min(timeit.repeat(call, number=20_000, repeat=5)) / 20_000 * 1e6


def step_microseconds(model, x) -> float:
    """Median CPU µs of one training step (ELBO loss, backward, Adam) of ``model`` on ``x``."""
    import torch

    from torchlvm.inference import elbo

    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    times = []
    for i in range(55):
        start = time.process_time()
        loss = -elbo(model, x).elbo.mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if i >= 5:
            times.append(time.process_time() - start)
    return statistics.median(times) * 1e6


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    import torch

    from torchlvm._checks import check_model, check_rows
    from torchlvm.models.vae import VAE, VAEConfig

    torch.set_num_threads(1)
    torch.manual_seed(0)
    rows = []
    for name, (hidden, latent, batch) in SETTINGS.items():
        model = VAE(VAEConfig(784, latent_dim=latent, hidden=(hidden,)))
        x = torch.bernoulli(torch.rand(batch, 784))
        shape = microseconds(lambda x=x: check_rows("x", x))
        device = microseconds(lambda x=x, m=model: check_rows("x", x, m, c=None))
        kind = microseconds(lambda m=model: check_model(m))
        step = step_microseconds(model, x)
        share = (device + kind) / step
        cells = f"{shape:.2f} | {device:.2f} | {kind:.2f} | {step:,.0f} | {100 * share:.3f}%"
        rows.append(f"| {name} | {cells} |")
    M.write_results(
        args.out,
        [
            "# The per-step input check against the training step (CPU)",
            "",
            *M.machine_lines(),
            f"- command: `{M.command_line('benchmarks/check_rows_cost.py', sys.argv[1:])}`",
            "- one torch thread; check times: fastest of 5 × 20,000 calls; step: median CPU time "
            "of 50 steps (ELBO loss, backward, Adam) after 5 warm-up steps",
            "",
            "| setting | check_rows, shape only (µs) | check_rows with the model's device (µs) "
            "| check_model (µs) | training step (µs CPU) | checks / step |",
            "|---|---|---|---|---|---|",
            *rows,
            "",
        ],
    )


if __name__ == "__main__":
    main()
