"""Why a full-covariance q trained worse than the diagonal q it contains (issue 13, item 1).

Trains the 784-400-z20 VAE on the first ``--n`` thresholded Fashion-MNIST training images with a
plain Adam loop (batch 128, lr 1e-3, one thread), once per variant of q, every variant started
from the same weights: the diagonal model's, with zero outputs for L's off-diagonal entries (so
every full-covariance variant starts as the diagonal q exactly). Prints the test ELBO (20 draws,
first 1,000 test images) and its difference from the diagonal model's, paired over the images.

Variants of L (σ = softplus(a) + MIN_SCALE, M the strictly lower-triangular outputs):

- ``diag``: the diagonal family;
- ``direct``: L = diag(σ) + M, the entries output directly (the family before the fix);
- ``scaled``: L = diag(σ) + 0.1 M;
- ``row``: L = diag(σ) (I + M);  ``col``: L = (I + M) diag(σ);
- ``detach``: ``direct`` with M computed from detached encoder features (no gradient from M
  into the encoder's hidden layer);
- ``family``: the registered ``"full"`` family as shipped, L = (I + 0.1 M) diag(σ).

Run:
    nice -n 10 .venv/bin/python benchmarks/full_covariance_probe.py --variants diag,direct,family \
        --seeds 1 --n 10000 --epochs 10 [--samples 4]
"""

from __future__ import annotations

import argparse
import json
import math
import time

import torch
import torch.nn.functional as F
from torch.distributions import MultivariateNormal

LATENT, HIDDEN, BATCH, LR = 20, (400,), 128, 1e-3


def lower_factor(variant: str, sigma: torch.Tensor, strict: torch.Tensor) -> torch.Tensor:
    """L for a probe variant from σ ``(B, K)`` and M ``(B, K, K)``."""
    eye = torch.eye(sigma.shape[-1], dtype=sigma.dtype)
    return {
        "direct": lambda: strict + torch.diag_embed(sigma),
        "detach": lambda: strict + torch.diag_embed(sigma),
        "scaled": lambda: 0.1 * strict + torch.diag_embed(sigma),
        "row": lambda: sigma.unsqueeze(-1) * (eye + strict),
        "col": lambda: (eye + strict) * sigma.unsqueeze(-2),
    }[variant]()


def build(variant: str, seed: int) -> torch.nn.Module:
    from torchlvm.models.posteriors import MIN_SCALE
    from torchlvm.models.vae import VAE, VAEConfig

    torch.manual_seed(seed)
    reference = VAE(VAEConfig(784, latent_dim=LATENT, hidden=HIDDEN))
    model = VAE(VAEConfig(784, latent_dim=LATENT, hidden=HIDDEN, posterior="full"))
    with torch.no_grad():  # the diagonal model's weights; the extra rows (M's outputs) zero
        for p, r in zip(model.parameters(), reference.parameters(), strict=True):
            p.zero_()
            p[tuple(slice(0, n) for n in r.shape)] = r
    # both models built whatever the variant: every variant then draws the same noise
    if variant in ("diag", "family"):
        return reference if variant == "diag" else model
    family, K = model.posterior_family, LATENT

    def forward(params: torch.Tensor) -> MultivariateNormal:
        loc, pre, lower = params.split([K, K, K * (K - 1) // 2], dim=-1)
        strict = loc.new_zeros(*loc.shape, K)  # (B, K, K)
        strict[..., family.rows, family.cols] = lower
        sigma = F.softplus(pre) + MIN_SCALE
        L = lower_factor(variant, sigma, strict)
        return MultivariateNormal(loc, scale_tril=L, validate_args=False)

    family.forward = forward
    if variant == "detach":
        last = [m for m in model.encoder.modules() if isinstance(m, torch.nn.Linear)][-1]

        def no_trunk_gradient(module, inputs, output):
            off = F.linear(inputs[0].detach(), module.weight[2 * K :], module.bias[2 * K :])
            return torch.cat([output[..., : 2 * K], off], -1)

        last.register_forward_hook(no_trunk_gradient)
    return model


def run(variant: str, seed: int, args: argparse.Namespace, train, test) -> dict:
    from torchlvm.inference import elbo

    model = build(variant, seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    order = torch.Generator().manual_seed(seed)
    started = time.process_time()
    for _ in range(args.epochs):
        perm = torch.randperm(len(train), generator=order)
        for i in range(0, len(train), BATCH):
            loss = -elbo(model, train[perm[i : i + BATCH]], num_samples=args.samples).elbo.mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        torch.manual_seed(123)
        terms = elbo(model.eval(), test, num_samples=20)
        sd = model.encode(test).variance.sqrt().median()
    return {
        "variant": variant,
        "seed": seed,
        "cpu_s": round(time.process_time() - started, 1),
        "elbo": terms.elbo.tolist(),
        "log_lik": terms.log_lik.mean().item(),
        "kl": terms.kl.mean().item(),
        "median_sd": sd.item(),
    }


def main() -> None:
    from torchlvm.data import load_dataset

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variants", default="diag,direct,family")
    parser.add_argument("--seeds", default="1")
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--samples", type=int, default=1, help="draws of z per training step")
    args = parser.parse_args()
    torch.set_num_threads(1)
    train = load_dataset("fashion-mnist", "train", binarize="threshold", seed=0).x[: args.n]
    test = load_dataset("fashion-mnist", "test", binarize="threshold", seed=0).x[:1000]
    train, test = train.float(), test.float()
    for seed in (int(s) for s in args.seeds.split(",")):
        reference = None
        for variant in args.variants.split(","):
            r = run(variant, seed, args, train, test)
            values = torch.tensor(r["elbo"], dtype=torch.float64)
            line = {k: v for k, v in r.items() if k != "elbo"} | {"test_elbo": values.mean().item()}
            if variant == "diag":
                reference = values
            elif reference is not None:
                diff = values - reference
                line["minus_diag"] = diff.mean().item()
                line["paired_se"] = (diff.std() / math.sqrt(len(diff))).item()
            print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
