"""A patch discriminator and the non-saturating GAN losses, for adversarial fine-tuning.

The discriminator scores each patch of about 54x54 pixels as original (positive) or
decoded (negative), so it judges local texture and the periodic patterns upsampling
decoders leave, not the whole image. Spectral normalisation keeps it Lipschitz, which
keeps a small CPU-sized training stable.
"""

from __future__ import annotations

from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


class PatchDiscriminator(nn.Module):
    """Logits (N, 1, H/8, W/8) that each patch of an RGB image in [0, 1] is an original."""

    def __init__(self, channels: int = 64) -> None:
        super().__init__()
        widths = [3, channels, 2 * channels, 4 * channels]
        layers: list[nn.Module] = []
        for inputs, outputs in pairwise(widths):
            layers += [spectral_norm(nn.Conv2d(inputs, outputs, 4, stride=2, padding=1)), nn.LeakyReLU(0.2)]
        layers += [spectral_norm(nn.Conv2d(widths[-1], widths[-1], 3, padding=1)), nn.LeakyReLU(0.2)]
        layers.append(spectral_norm(nn.Conv2d(widths[-1], 1, 3, padding=1)))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x * 2 - 1)


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The discriminator's loss: originals scored positive, decodes negative (mean over patches)."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The non-saturating generator loss per image (N,): low when the decodes pass for originals."""
    return F.softplus(-fake_logits).mean(dim=(1, 2, 3))
