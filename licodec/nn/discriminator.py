"""A patch discriminator and the non-saturating GAN losses, for adversarial fine-tuning.

The discriminator scores each patch of about 54x54 pixels as original (positive) or
decoded (negative), so it judges local texture and the periodic patterns upsampling
decoders leave, not the whole image. Spectral normalisation keeps it Lipschitz, which
keeps a small CPU-sized training stable.

A conditional discriminator also sees the quantised latent the decode came from (as in
HiFiC): it then asks whether the texture is plausible *for this latent*, so the decoder
cannot win by inventing detail the latent does not support.
"""

from __future__ import annotations

from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

CONDITION_CHANNELS = 12  # the latent is projected to this many channels and upsampled beside the image


class PatchDiscriminator(nn.Module):
    """Logits (N, 1, H/8, W/8) that each patch of an RGB image in [0, 1] is an original; with ``latent_channels``,
    given also the latent (N, latent_channels, H/16, W/16) the decode came from."""

    def __init__(self, channels: int = 64, latent_channels: int = 0) -> None:
        super().__init__()
        self.condition = spectral_norm(nn.Conv2d(latent_channels, CONDITION_CHANNELS, 1)) if latent_channels else None
        widths = [3 + (CONDITION_CHANNELS if latent_channels else 0), channels, 2 * channels, 4 * channels]
        layers: list[nn.Module] = []
        for inputs, outputs in pairwise(widths):
            layers += [spectral_norm(nn.Conv2d(inputs, outputs, 4, stride=2, padding=1)), nn.LeakyReLU(0.2)]
        layers += [spectral_norm(nn.Conv2d(widths[-1], widths[-1], 3, padding=1)), nn.LeakyReLU(0.2)]
        layers.append(spectral_norm(nn.Conv2d(widths[-1], 1, 3, padding=1)))
        self.layers = nn.Sequential(*layers)

    @property
    def conditional(self) -> bool:
        return self.condition is not None

    def forward(self, x: torch.Tensor, latent: torch.Tensor | None = None) -> torch.Tensor:
        h = x * 2 - 1
        if self.condition is not None:
            if latent is None:
                raise ValueError("a conditional discriminator needs the latent")
            h = torch.cat([h, F.interpolate(self.condition(latent), size=x.shape[-2:], mode="nearest")], 1)
        return self.layers(h)


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The discriminator's loss: originals scored positive, decodes negative (mean over patches)."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The non-saturating generator loss per image (N,): low when the decodes pass for originals."""
    return F.softplus(-fake_logits).mean(dim=(1, 2, 3))
