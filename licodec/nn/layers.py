"""Convolutions used by the transforms and the context models."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def conv(in_channels: int, out_channels: int, kernel_size: int = 5, stride: int = 2) -> nn.Conv2d:
    """'Same' convolution that divides the resolution by ``stride``."""
    return nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=kernel_size // 2)


def deconv(in_channels: int, out_channels: int, kernel_size: int = 5, stride: int = 2) -> nn.ConvTranspose2d:
    """Transposed convolution that multiplies the resolution by ``stride`` exactly."""
    return nn.ConvTranspose2d(
        in_channels,
        out_channels,
        kernel_size,
        stride=stride,
        padding=kernel_size // 2,
        output_padding=stride - 1,
    )


class MaskedConv2d(nn.Conv2d):
    """Causal (raster-order) convolution of PixelCNN: type "A" excludes the centre tap.

    Used by the serial autoregressive context of Minnen et al. 2018.
    """

    def __init__(self, *args, mask_type: str = "A", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if mask_type not in ("A", "B"):
            raise ValueError(f"mask_type must be 'A' or 'B', not {mask_type!r}")
        _, _, h, w = self.weight.shape
        mask = torch.ones_like(self.weight)
        mask[:, :, h // 2, w // 2 + (mask_type == "B") :] = 0
        mask[:, :, h // 2 + 1 :] = 0
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.mask, self.bias, self.stride, self.padding)


def checkerboard_anchor_mask(height: int, width: int) -> torch.Tensor:
    """Boolean (H, W) mask of the anchor positions: those with (row + col) odd.

    He et al. 2021 code the anchors first with the hyperprior alone, then the
    non-anchors conditioned on them. Which half is the anchor is part of the format.
    """
    rows = torch.arange(height).view(-1, 1)
    cols = torch.arange(width).view(1, -1)
    return (rows + cols) % 2 == 1


class CheckerboardMaskedConv2d(nn.Conv2d):
    """Context convolution that only sees anchor positions around a non-anchor.

    With an odd kernel centred on a non-anchor position, the taps at odd
    Manhattan distance from the centre land on anchors; all others are masked.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _, _, h, w = self.weight.shape
        rows = torch.arange(h).view(-1, 1) - h // 2
        cols = torch.arange(w).view(1, -1) - w // 2
        tap_mask = ((rows + cols) % 2 != 0).to(self.weight.dtype)
        self.register_buffer("mask", tap_mask.expand_as(self.weight).clone(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.mask, self.bias, self.stride, self.padding)
