"""Gaussian conditional: latents coded under N(mean, scale^2) convolved with a unit box."""

from __future__ import annotations

import torch
from torch import nn

from licodec.entropy.quantize import lower_bound, quantize_around
from licodec.entropy.tables import SCALE_MIN

LIKELIHOOD_BOUND = 1e-9


def gaussian_likelihood(x: torch.Tensor, scales: torch.Tensor, means: torch.Tensor) -> torch.Tensor:
    """P(x in [x - 1/2, x + 1/2]) under N(mean, scale^2), computed on the lower tail for precision."""
    scales = lower_bound(scales, SCALE_MIN)
    values = torch.abs(x - means)
    upper = _standard_cumulative((0.5 - values) / scales)
    lower = _standard_cumulative((-0.5 - values) / scales)
    return torch.clamp(upper - lower, min=LIKELIHOOD_BOUND)


def _standard_cumulative(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * torch.erfc(-x * (2.0**-0.5))


class GaussianConditional(nn.Module):
    """Rate model for latents whose scale (and mean) come from side information."""

    def forward(self, y: torch.Tensor, scales: torch.Tensor, means: torch.Tensor | None = None):
        """Return ``(y_hat, likelihoods)``; ``means=None`` is the zero-mean scale hyperprior."""
        if means is None:
            means = torch.zeros_like(y)
        y_noisy, y_hat = quantize_around(y, means, self.training)
        return y_hat, gaussian_likelihood(y_noisy, scales, means)
