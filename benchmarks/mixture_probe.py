"""Would a mixture entropy model (GMM, or the Gaussian-Laplacian-logistic GLLMM) code y in fewer bits?

    .venv/bin/python benchmarks/mixture_probe.py [--steps 3000] [--crops 1200] [--models gaussian,gmm3,gllmm3,gllmm6]

Figures it measured: docs/results.md.

Every shipped weight stays frozen, and so does the quantisation: y's symbols are
``round(y - mean)`` with the shipped model's means, so the reconstruction, and the
distortion, are exactly what they were. Only the probability of each symbol changes.
For the anchors and the non-anchors of the checkerboard, the probe takes the features
the shipped entropy-parameter networks compute before their last layer and trains a new
last layer (a 1x1 convolution, one per half) that outputs the parameters of:

- ``gaussian``: one Gaussian, as shipped, but retrained (the control: the same freedom
  and training as the mixtures, so what they gain beyond it is the mixture's);
- ``gmm3``: three Gaussians (Cheng et al. 2020);
- ``gllmm3``: a Gaussian, a Laplacian and a logistic; ``gllmm6``: two of each (Fu et al. 2023).

Each starts from the shipped scales (means 0, equal weights; the components' scales
spread by factors of 2^(1/4), so that they can learn different things), on crops of the training
photographs at random rungs, and is measured on held-out crops: y's rate change per
rung against the shipped model, z's rate unchanged. A lower bound on what a mixture
would give: joint training would also reshape the latent.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from licodec.api import load_model
from licodec.entropy.gaussian import gaussian_likelihood
from licodec.entropy.mixture import mixture_likelihood
from licodec.nn.layers import checkerboard_anchor_mask
from licodec.train.data import load_split, sample_batch

ROOT = Path(__file__).resolve().parent.parent
MIXTURES = {
    "gaussian": ("gaussian",),
    "gmm3": ("gaussian",) * 3,
    "gllmm3": ("gaussian", "laplacian", "logistic"),
    "gllmm6": ("gaussian", "laplacian", "logistic") * 2,
}


def latent_features(model, x: torch.Tensor, position: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(symbols round(y - mean), shipped scales, hidden features of the anchor and non-anchor networks) of one batch."""
    positions = torch.full((x.shape[0],), float(position))
    y = model.encode_latent(x, positions)
    z_hat, _ = model.z_density(model.h_a(y))
    params = model.h_s(z_hat)
    anchor = checkerboard_anchor_mask(*y.shape[-2:])
    hidden_a = model.ep_anchor[:-1](params)
    scales_a, means_a = model.ep_anchor[-1](hidden_a).chunk(2, 1)
    y_hat_anchor = (torch.round(y - means_a) + means_a) * anchor
    hidden_n = model.ep_nonanchor[:-1](torch.cat([params, model.context(y_hat_anchor)], 1))
    scales_n, means_n = model.ep_nonanchor[-1](hidden_n).chunk(2, 1)
    symbols = torch.round(y - torch.where(anchor, means_a, means_n))
    return symbols, torch.where(anchor, scales_a, scales_n), hidden_a, hidden_n


class MixtureHead(nn.Module):
    """New last layers of the two entropy-parameter networks, emitting a mixture's (logits, means, scales)."""

    def __init__(self, model, families: tuple[str, ...]) -> None:
        super().__init__()
        self.families = families
        m, k = model.config.latent_channels, len(families)
        self.heads = nn.ModuleList()
        for shipped in (model.ep_anchor[-1], model.ep_nonanchor[-1]):
            head = nn.Conv2d(shipped.in_channels, 3 * k * m, 1)
            with torch.no_grad():  # start from the shipped scales, spread a little so that components can differ
                head.weight.zero_()
                head.bias.zero_()
                for c in range(k):
                    factor = 2 ** (0.25 * (c - (k - 1) / 2))  # 1 for a single component: exactly the shipped model
                    head.weight[(2 * k + c) * m : (2 * k + c + 1) * m] = factor * shipped.weight[:m]
                    head.bias[(2 * k + c) * m : (2 * k + c + 1) * m] = factor * shipped.bias[:m]
            self.heads.append(head)

    def likelihood(self, symbols: torch.Tensor, hidden_a: torch.Tensor, hidden_n: torch.Tensor) -> torch.Tensor:
        n, m, h, w = symbols.shape
        anchor = checkerboard_anchor_mask(h, w)
        out = torch.where(anchor, self.heads[0](hidden_a), self.heads[1](hidden_n))
        logits, means, scales = out.view(n, 3, len(self.families), m, h, w).transpose(2, 3).unbind(1)
        return mixture_likelihood(symbols, logits, means, scales, self.families)


def precompute(model, data, count: int, crop: int, seed: int):
    """Symbols, shipped scales, hidden features and rungs of ``count`` crops at random rungs."""
    rng = np.random.default_rng(seed)
    parts = [[], [], [], [], []]
    with torch.no_grad():
        for start in range(0, count, 8):
            x = sample_batch(data, seed, start, min(8, count - start), crop)
            for i, rung in enumerate(rng.integers(model.config.num_rates, size=len(x))):
                for part, value in zip(parts, (*latent_features(model, x[i : i + 1], float(rung)), torch.tensor([rung]))):
                    part.append(value)
    return [torch.cat(part) for part in parts]


def bits_per_rung(likelihoods: torch.Tensor, rungs: torch.Tensor, num_rates: int) -> np.ndarray:
    bits = -torch.log2(likelihoods).sum(dim=(1, 2, 3))
    return np.array([float(bits[rungs == r].sum()) for r in range(num_rates)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "train"))
    parser.add_argument("--models", default=",".join(MIXTURES))
    parser.add_argument("--crops", type=int, default=1200, help="training crops, precomputed once")
    parser.add_argument("--held-out", type=int, default=96)
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    model = load_model()
    model.eval().requires_grad_(False)
    train, held_out = load_split([args.data], 0.03, args.crop, args.crop)
    start = time.time()
    symbols, _, hidden_a, hidden_n, _ = precompute(model, train, args.crops, args.crop, args.seed)
    test_symbols, test_scales, test_a, test_n, test_rungs = precompute(model, held_out, args.held_out, args.crop, args.seed + 1)
    shipped = bits_per_rung(gaussian_likelihood(test_symbols, test_scales, torch.zeros_like(test_scales)), test_rungs, model.config.num_rates)
    print(f"precomputed {len(symbols)} training and {len(test_symbols)} held-out crops in {time.time() - start:.0f} s", flush=True)
    print(f"held-out y bits per rung, shipped model: {' '.join(f'{b:.0f}' for b in shipped)}", flush=True)
    rng = np.random.default_rng(args.seed)
    for name in args.models.split(","):
        head = MixtureHead(model, MIXTURES[name])
        optimizer = torch.optim.Adam(head.parameters(), lr=args.lr)
        for step in range(args.steps + 1):
            if step % 500 == 0 or step == args.steps:
                with torch.no_grad():
                    bits = bits_per_rung(head.likelihood(test_symbols, test_a, test_n), test_rungs, model.config.num_rates)
                change = 100 * (bits / shipped - 1)
                total = 100 * (bits.sum() / shipped.sum() - 1)
                print(f"{name} step {step}: y's held-out rate {total:+.2f}% (per rung {' '.join(f'{c:+.2f}' for c in change)}%)", flush=True)
            if step == args.steps:
                break
            pick = torch.from_numpy(rng.integers(len(symbols), size=args.batch_size))
            loss = -torch.log2(head.likelihood(symbols[pick], hidden_a[pick], hidden_n[pick])).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    print(f"({time.time() - start:.0f} s)")


if __name__ == "__main__":
    main()
