"""Quantisation surrogates shared by training and coding.

Training needs a differentiable stand-in for rounding; coding needs the real thing.
Both are small pure functions so that each can be tested on its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import torch

_annealing_temperature: ContextVar[float | None] = ContextVar("annealing_temperature", default=None)


def round_ste(x: torch.Tensor) -> torch.Tensor:
    """Round in the forward pass, identity gradient in the backward pass (straight-through).

    Inside :func:`annealed_rounding`, a stochastic soft rounding instead.
    """
    temperature = _annealing_temperature.get()
    if temperature is not None:
        return gumbel_round(x, temperature)
    return x + (torch.round(x) - x).detach()


def gumbel_round(x: torch.Tensor, temperature: float) -> torch.Tensor:
    """Stochastic Gumbel annealing (Yang, Bamler & Mandt 2020): a relaxed random pick of floor or ceil.

    The nearer integer is the likelier pick; as ``temperature`` falls towards 0 the
    pick becomes hard rounding. Unlike noise or straight-through rounding, the value
    the loss sees is always (nearly) an integer, so optimising through it does not
    drift away from the true, rounded cost.
    """
    floor = torch.floor(x).detach()
    fraction = x - floor
    inside = 1 - 1e-5  # atanh(1) is infinite
    logits = torch.stack([-torch.atanh(fraction.clamp(max=inside)), -torch.atanh((1 - fraction).clamp(max=inside))], -1)
    gumbel = -torch.log(-torch.log(torch.rand_like(logits).clamp(1e-10, 1 - 1e-10)))
    weights = torch.softmax((logits / temperature + gumbel) / temperature, -1)
    return floor + weights[..., 1]


@contextmanager
def annealed_rounding(temperature: float) -> Iterator[None]:
    """Every rounding in the forward passes run inside becomes :func:`gumbel_round` at ``temperature``."""
    token = _annealing_temperature.set(temperature)
    try:
        yield
    finally:
        _annealing_temperature.reset(token)


def add_uniform_noise(x: torch.Tensor) -> torch.Tensor:
    """Additive U(-1/2, 1/2) noise: the training proxy for rounding that the rate term sees (Ballé 2017)."""
    return x + torch.empty_like(x).uniform_(-0.5, 0.5)


def quantize_around(x: torch.Tensor, center: torch.Tensor, training: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(x_noisy, x_hat)``: the rate proxy and the value the decoder will see.

    The decoder side is rounded around ``center`` (the median or the predicted mean)
    with a straight-through gradient, as in Minnen & Singh 2020 ("mixed" quantisation);
    the rate side uses noise while training and the rounded value otherwise. Inside
    :func:`annealed_rounding` both sides see the same soft-rounded value.
    """
    x_hat = round_ste(x - center) + center
    if _annealing_temperature.get() is not None:
        return x_hat, x_hat
    x_noisy = add_uniform_noise(x) if training else x_hat
    return x_noisy, x_hat


class _LowerBound(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, bound: float) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.bound = bound
        return torch.clamp(x, min=bound)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (x,) = ctx.saved_tensors
        # Let gradients through where they would push x back above the bound.
        passes = (x >= ctx.bound) | (grad < 0)
        return grad * passes, None


def lower_bound(x: torch.Tensor, bound: float) -> torch.Tensor:
    """``max(x, bound)`` whose gradient does not die below the bound."""
    return _LowerBound.apply(x, bound)
