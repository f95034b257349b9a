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


TaskLoss = Callable[[torch.Tensor], torch.Tensor]
"""A machine's loss on a decoded tile (0 when it does on it what it does on the original): :mod:`licodec.machines.ocr_torch`."""

TASK_WEIGHT = 1000.0
"""The task loss's weight beside 255^2 * MSE, both scaled by the quality's lambda."""


def rd_cost(model: LearnedCodec, x: torch.Tensor, y: torch.Tensor, rate_position, task_loss: TaskLoss | None = None) -> torch.Tensor:
    """bits per pixel + lambda * (255^2 * MSE + task weight * task loss) of decoding ``y``, with the model's current quantisation mode.

    With a rate map, lambda varies per pixel (each latent cell's lambda over its 16 x 16 pixels).
    """
    out = model.forward_latent(y, rate_position)
    bits = sum(-torch.log2(lik).sum() for lik in out["likelihoods"].values())
    bpp = bits / (x.shape[-2] * x.shape[-1])
    lam = model.lagrange_multiplier(rate_position)
    if lam.dim() == 4:
        lam = F.interpolate(lam, size=x.shape[-2:], mode="nearest")
    cost = bpp + 255.0**2 * torch.mean(lam * (out["x_hat"] - x) ** 2)
    if task_loss is not None:
        cost = cost + TASK_WEIGHT * lam.mean() * task_loss(out["x_hat"].clamp(0, 1))
    return cost


def optimize_latent(
    model: LearnedCodec,
    x: torch.Tensor,
    rate_position,
    steps: int = OPTIMIZE_STEPS,
    learning_rate: float = LEARNING_RATE,
    on_step: Callable[[int, float], None] | None = None,
    task_loss: TaskLoss | None = None,
) -> torch.Tensor:
    """A latent for ``x`` (1, 3, H, W) whose true RD cost is no higher than the analysis transform's.

    With ``task_loss``, the cost counts a machine's loss too (coding for machines: the decoder is unchanged).
    """
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
                cost = rd_cost(model, x, y, rate_position, task_loss)
            cost.backward()
            optimizer.step()
            if on_step is not None:
                on_step(step, float(cost.detach()))
    with _frozen(model), torch.no_grad():
        start_cost = float(rd_cost(model, x, y_start, rate_position, task_loss))
        final_cost = float(rd_cost(model, x, y.detach(), rate_position, task_loss))
    return y.detach() if final_cost < start_cost else y_start


def task_loss_for(task: str, x: torch.Tensor) -> TaskLoss:
    """The loss of machine ``task`` (one of :data:`licodec.options.TASKS`) against its outputs on ``x``."""
    if task != "ocr":
        raise ValueError(f"no task loss for {task!r}")
    from licodec.machines.ocr_torch import ocr_task_loss  # the machines extra, imported where used

    return ocr_task_loss(x)
