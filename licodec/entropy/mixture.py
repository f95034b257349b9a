"""Discretised mixtures of Gaussian, Laplacian and logistic densities (the GLLMM of Fu et al. 2023).

A latent element's probability is the mass its quantisation bin, ``[x - 1/2, x + 1/2]``,
receives from a weighted sum of components, each a symmetric density with its own
mean and scale. Gaussians have light tails, Laplacians sharp peaks and heavy tails,
logistics sit between; mixing them lets each image region pick the shape its
residuals have, where a single Gaussian must compromise.

These are the training-time densities; :mod:`licodec.entropy.mixture_coding` codes
with their integer tables, and ``benchmarks/mixture_probe.py`` measures what they save.
"""

from __future__ import annotations

import torch

from licodec.entropy.gaussian import LIKELIHOOD_BOUND
from licodec.entropy.mixture_coding import FAMILIES
from licodec.entropy.quantize import lower_bound
from licodec.entropy.tables import SCALE_MIN


def _cdf(family: str, t: torch.Tensor) -> torch.Tensor:
    """The standard CDF of ``family`` at ``t``, in forms that keep relative precision for t < 0."""
    if family == "gaussian":
        return 0.5 * torch.erfc(-t * (2.0**-0.5))
    if family == "laplacian":
        half_tail = 0.5 * torch.exp(-torch.abs(t))
        return torch.where(t <= 0, half_tail, 1 - half_tail)
    if family == "logistic":
        return torch.sigmoid(t)
    raise ValueError(f"unknown family {family!r}; known: {', '.join(FAMILIES)}")


def bin_probability(family: str, x: torch.Tensor, means: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    """P(X in [x - 1/2, x + 1/2]) for X of ``family`` with these means and scales (any broadcastable shapes).

    The densities are symmetric, so the bin is folded onto the lower tail (as
    :func:`licodec.entropy.gaussian.gaussian_likelihood` does): far from the mean the
    difference of two CDFs near 1 would lose every digit.
    """
    scales = lower_bound(scales, SCALE_MIN)
    distance = torch.abs(x - means)
    return _cdf(family, (0.5 - distance) / scales) - _cdf(family, (-0.5 - distance) / scales)


def mixture_likelihood(
    x: torch.Tensor, weight_logits: torch.Tensor, means: torch.Tensor, scales: torch.Tensor, families: tuple[str, ...]
) -> torch.Tensor:
    """P(bin of x) under the mixture, (N, C, H, W), floored at LIKELIHOOD_BOUND as the Gaussian's is.

    ``weight_logits``, ``means`` and ``scales`` are (N, C, K, H, W), component k of family
    ``families[k]``; the weights are the softmax of the logits over the K components.
    """
    if weight_logits.shape[2] != len(families):
        raise ValueError(f"{weight_logits.shape[2]} components given, {len(families)} families named")
    weights = torch.softmax(weight_logits, dim=2)
    probability = sum(weights[:, :, k] * bin_probability(family, x, means[:, :, k], scales[:, :, k]) for k, family in enumerate(families))
    return torch.clamp(probability, min=LIKELIHOOD_BOUND)
