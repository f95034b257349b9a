"""Encoder-side latent optimisation (Campos et al. 2019; Yang, Bamler & Mandt 2020).

A model is trained for the average image, but each image is compressed once, so
the encoder can spend time to find a latent ``y`` with a lower rate-distortion
cost for *this* image: gradient descent on R + lambda D with the decoder frozen.
The decoder and the file format do not change.

Surrogate: stochastic Gumbel annealing (:func:`licodec.entropy.quantize.gumbel_round`),
every rounding relaxed to a random soft pick of floor or ceil whose temperature
falls from 0.5 to 0.2. It beat training's noise surrogate, and straight-through
rounding, whose cost the optimiser exploits, made the true cost worse than the start
(docs/results.md). The result is kept only if its true cost, with real rounding,
beats the starting point.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager

import torch
import torch.nn.functional as F

from licodec.entropy.quantize import annealed_rounding
from licodec.models.base import LearnedCodec
from licodec.options import OPTIMIZE_STEPS

LEARNING_RATE = 5e-3
TEMPERATURES = (0.5, 0.2)  # first and last step's, geometric in between


@contextmanager
def _frozen(model: LearnedCodec):
    """Parameters without gradients and the model in eval mode (real rounding), for the duration."""
    flags = [p.requires_grad for p in model.parameters()]
    was_training = model.training
    for p in model.parameters():
        p.requires_grad_(False)
    model.eval()
    try:
        yield
    finally:
        for p, flag in zip(model.parameters(), flags):
            p.requires_grad_(flag)
        model.train(was_training)


def rd_cost(model: LearnedCodec, x: torch.Tensor, y: torch.Tensor, rate_position) -> torch.Tensor:
    """bits per pixel + lambda * 255^2 * MSE of decoding ``y``, with the model's current quantisation mode.

    With a rate map, lambda varies per pixel (each latent cell's lambda over its 16 x 16 pixels).
    """
    out = model.forward_latent(y, rate_position)
    bits = sum(-torch.log2(lik).sum() for lik in out["likelihoods"].values())
    bpp = bits / (x.shape[-2] * x.shape[-1])
    lam = model.lagrange_multiplier(rate_position)
    if lam.dim() == 4:
        lam = F.interpolate(lam, size=x.shape[-2:], mode="nearest")
    return bpp + 255.0**2 * torch.mean(lam * (out["x_hat"] - x) ** 2)


def optimize_latent(
    model: LearnedCodec,
    x: torch.Tensor,
    rate_position,
    steps: int = OPTIMIZE_STEPS,
    learning_rate: float = LEARNING_RATE,
    on_step: Callable[[int, float], None] | None = None,
) -> torch.Tensor:
    """A latent for ``x`` (1, 3, H, W) whose true RD cost is no higher than the analysis transform's."""
    with torch.no_grad():
        y_start = model.encode_latent(x, rate_position)
    y = y_start.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([y], lr=learning_rate)
    first, last = TEMPERATURES
    with _frozen(model), torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)  # the same image gives the same file; the caller's random state is untouched
        for step in range(steps):
            optimizer.zero_grad(set_to_none=True)
            with annealed_rounding(first * (last / first) ** (step / max(1, steps - 1))):
                cost = rd_cost(model, x, y, rate_position)
            cost.backward()
            optimizer.step()
            if on_step is not None:
                on_step(step, float(cost.detach()))
    with _frozen(model), torch.no_grad():
        start_cost = float(rd_cost(model, x, y_start, rate_position))
        final_cost = float(rd_cost(model, x, y.detach(), rate_position))
    return y.detach() if final_cost < start_cost else y_start
