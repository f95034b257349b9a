"""Quantisation surrogates shared by training and coding.

Training needs a differentiable stand-in for rounding; coding needs the real thing.
Both are small pure functions so that each can be tested on its own.
"""

from __future__ import annotations

import torch


def round_ste(x: torch.Tensor) -> torch.Tensor:
    """Round in the forward pass, identity gradient in the backward pass (straight-through)."""
    return x + (torch.round(x) - x).detach()


def add_uniform_noise(x: torch.Tensor) -> torch.Tensor:
    """Additive U(-1/2, 1/2) noise: the training proxy for rounding that the rate term sees (Ballé 2017)."""
    return x + torch.empty_like(x).uniform_(-0.5, 0.5)


def quantize_around(x: torch.Tensor, center: torch.Tensor, training: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(x_noisy, x_hat)``: the rate proxy and the value the decoder will see.

    The decoder side is rounded around ``center`` (the median or the predicted mean)
    with a straight-through gradient, as in Minnen & Singh 2020 ("mixed" quantisation);
    the rate side uses noise while training and the rounded value otherwise.
    """
    x_hat = round_ste(x - center) + center
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
