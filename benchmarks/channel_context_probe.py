"""Would a channel-conditional context on top of the checkerboard pay? A probe with the shipped weights frozen.

    .venv/bin/python benchmarks/channel_context_probe.py [WEIGHTS.safetensors] [--groups 16,32,112] [--steps 200]

y's channels are ordered by their rate (rung 3, on training crops) and split into
groups; within each checkerboard half, group g's (scales, means) are refined from the
decoded values of groups < g (a 3x3 convolution) and its own predicted parameters, as
in ELIC's space-channel context (He et al. 2022). The refinement starts as the
identity (zero last layer), so step 0 is the shipped model (its parameters from
``CheckerboardContext.latent_parameters``, as training computes them). Only the new networks
train, on g_a outputs of 320 training crops computed once; every shipped weight,
g_a included, stays fixed. Printed: the change of y's estimated rate on the 16
held-out crops (rounded latents) per rung of the ladder, every 100 steps.

What it bounds: the gain with the transforms frozen. Joint training would also
reshape the latent, so it is a lower bound; its size, and where on the ladder it
falls, say whether the architecture change is worth a training run.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from licodec.entropy.gaussian import gaussian_likelihood
from licodec.entropy.quantize import round_ste
from licodec.models import load_weights
from licodec.nn.layers import checkerboard_anchor_mask
from licodec.train.data import load_split, sample_batch

ROOT = Path(__file__).resolve().parent.parent


class GroupRefinement(nn.Module):
    """(scales, means) of one channel group, refined from the groups decoded before it; identity at start."""

    def __init__(self, prior_channels: int, group_channels: int, hidden: int = 128) -> None:
        super().__init__()
        self.spatial = nn.Conv2d(prior_channels, hidden, 3, padding=1)
        self.refine = nn.Sequential(
            nn.Conv2d(hidden + 2 * group_channels, hidden, 1), nn.ReLU(),
            nn.Conv2d(hidden, hidden, 1), nn.ReLU(),
            nn.Conv2d(hidden, 2 * group_channels, 1),
        )  # fmt: skip
        nn.init.zeros_(self.refine[-1].weight)
        nn.init.zeros_(self.refine[-1].bias)

    def forward(self, prior: torch.Tensor, scales: torch.Tensor, means: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = torch.relu(self.spatial(prior))
        delta_scales, delta_means = self.refine(torch.cat([features, scales, means], 1)).chunk(2, 1)
        return scales + delta_scales, means + delta_means


def y_bits(model, refinements: nn.ModuleDict, groups: list[torch.Tensor], y: torch.Tensor, noisy: bool) -> torch.Tensor:
    """Estimated bits of y, coded half by half and group by group; ``noisy``: the training proxy."""
    scales, means, _ = model.latent_parameters(y)
    anchor = checkerboard_anchor_mask(*y.shape[-2:])
    y_hat = torch.zeros_like(y)
    total = y.new_zeros(())
    for half_name, half in (("anchor", anchor), ("rest", ~anchor)):
        for g, channels in enumerate(groups):
            group_scales, group_means = scales[:, channels], means[:, channels]
            if g:
                decoded = torch.cat(groups[:g])
                prior = y_hat[:, decoded] * anchor if half_name == "anchor" else y_hat[:, decoded]
                refined_scales, refined_means = refinements[f"{half_name}{g}"](prior, group_scales, group_means)
                group_scales = torch.where(half, refined_scales, group_scales)
                group_means = torch.where(half, refined_means, group_means)
            values = y[:, channels]
            rounded = round_ste(values - group_means) + group_means
            at = values + torch.empty_like(values).uniform_(-0.5, 0.5) if noisy else rounded
            total = total - (torch.log2(gaussian_likelihood(at, group_scales, group_means)) * half).sum()
            y_hat[:, channels] = torch.where(half, rounded, y_hat[:, channels])
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("weights", nargs="?", default=str(ROOT / "licodec/weights/licodec-mse.safetensors"))
    parser.add_argument("--data", default=str(ROOT.parent / "shared/data/train"))
    parser.add_argument("--groups", default="16,32,112", help="channel group sizes, summing to the latent's channels")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    model, _ = load_weights(Path(args.weights))
    model.requires_grad_(False)
    sizes = [int(v) for v in args.groups.split(",")]
    if sum(sizes) != model.config.latent_channels:
        parser.error(f"--groups must sum to {model.config.latent_channels}")
    train, held_out = load_split([args.data], 0.03, 256, 256)
    with torch.no_grad():
        crops = torch.cat([sample_batch(train, 123, step, 8, 256) for step in range(40)])
        train_y = torch.cat([model.g_a(crops[i : i + 16]) for i in range(0, len(crops), 16)])
        held_y = torch.cat([model.g_a(img[:, :256, :256].float().unsqueeze(0) / 255) for img in held_out.images])
        y = train_y[:64] * model.gains.gain(torch.full((64,), 3.0))
        scales, means, _ = model.latent_parameters(y)
        channel_bits = -torch.log2(gaussian_likelihood(torch.round(y - means) + means, scales, means)).sum(dim=(0, 2, 3))
    order = torch.argsort(channel_bits, descending=True)
    starts = np.cumsum([0] + sizes)
    groups = [order[starts[g] : starts[g + 1]] for g in range(len(sizes))]
    print(f"rate share of the groups at rung 3: {', '.join(f'{float(channel_bits[c].sum() / channel_bits.sum()):.1%}' for c in groups)}")
    refinements = nn.ModuleDict(
        {f"{half}{g}": GroupRefinement(int(starts[g]), sizes[g]) for half in ("anchor", "rest") for g in range(1, len(sizes))}
    )
    print(f"new parameters: {sum(p.numel() for p in refinements.parameters()):,}")

    def held_out_bits() -> list[float]:
        with torch.no_grad():
            return [
                float(y_bits(model, refinements, groups, held_y * model.gains.gain(torch.full((len(held_y),), float(rung))), noisy=False))
                for rung in range(model.config.num_rates)
            ]

    baseline = held_out_bits()  # the refinements start as the identity: the shipped model
    optimizer = torch.optim.Adam(refinements.parameters(), 1e-3)
    rng = np.random.default_rng(0)
    start = time.time()
    for step in range(args.steps + 1):
        if step % 100 == 0 or step == args.steps:
            changes = ", ".join(f"{100 * (bits / base - 1):+.2f}%" for bits, base in zip(held_out_bits(), baseline))
            print(f"step {step}: y's held-out rate per rung {changes} ({time.time() - start:.0f} s)", flush=True)
        if step == args.steps:
            break
        pick = torch.from_numpy(rng.integers(len(train_y), size=16))
        rungs = torch.from_numpy(rng.integers(model.config.num_rates, size=16)).float()
        y = train_y[pick] * model.gains.gain(rungs)
        loss = y_bits(model, refinements, groups, y, noisy=True) / (16 * 256 * 256)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


if __name__ == "__main__":
    main()
