"""DISTS (Ding et al. 2020): structure and texture similarity of VGG16 features, as the authors' package computes it.

VGG16 (the ImageNet backbone LPIPS uses) with its max-pools replaced by L2 pooling
(a 3x3 Hann window, stride 2), on ImageNet-normalised RGB in [0, 1]. For the image and
each stage's features, a channel's texture term compares means and its structure term
compares variances and covariance; DISTS's learned alpha and beta weigh them.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from licodec.perceptual import weights
from licodec.perceptual.lpips import VGG16, VGG16Features

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
STABILITY = 1e-6  # c1 = c2 of the reference


class L2Pooling(nn.Module):
    """sqrt(Hann-weighted mean of x^2) over 3x3 windows, stride 2: pooling without aliasing."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        window = np.hanning(5)[1:-1]
        kernel = torch.tensor(np.outer(window, window) / np.outer(window, window).sum(), dtype=torch.float32)
        self.register_buffer("kernel", kernel.expand(channels, 1, 3, 3).contiguous(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (F.conv2d(x**2, self.kernel, stride=2, padding=1, groups=x.shape[1]) + 1e-12).sqrt()


class DISTS(nn.Module):
    """``DISTS()(x, y)``: the distance (N,) between image batches (N, 3, H, W) in [0, 1]; 0 for equal images."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = VGG16Features(pool=L2Pooling)
        vgg = weights.load("lpips-vgg")
        self.backbone.load_state_dict({k: torch.from_numpy(v) for k, v in vgg.items() if k.startswith("features.")})
        learned = weights.load("dists")
        self.register_buffer("alpha", torch.from_numpy(learned["alpha"].copy()))
        self.register_buffer("beta", torch.from_numpy(learned["beta"].copy()))
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1))
        self.channels = [3, *(block[-1] for block in VGG16)]
        self.eval().requires_grad_(False)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        features_x = [x, *self.backbone((x - self.mean) / self.std)]
        features_y = [y, *self.backbone((y - self.mean) / self.std)]
        total = self.alpha.sum() + self.beta.sum()
        alphas, betas = torch.split(self.alpha / total, self.channels), torch.split(self.beta / total, self.channels)
        similarity = 0
        for a, b, alpha, beta in zip(features_x, features_y, alphas, betas, strict=True):
            mean_a, mean_b = a.mean((2, 3)), b.mean((2, 3))
            texture = (2 * mean_a * mean_b + STABILITY) / (mean_a**2 + mean_b**2 + STABILITY)
            variance_a, variance_b = a.var((2, 3), unbiased=False), b.var((2, 3), unbiased=False)
            covariance = (a * b).mean((2, 3)) - mean_a * mean_b
            structure = (2 * covariance + STABILITY) / (variance_a + variance_b + STABILITY)
            similarity = similarity + (alpha * texture).sum(1) + (beta * structure).sum(1)
        return 1 - similarity
