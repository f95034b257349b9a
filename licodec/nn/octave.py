"""Generalised octave convolutions (GoConv, GoTConv; Akbari et al. 2020): a latent in two frequencies.

A feature map is split into a high-frequency part at full resolution and a
low-frequency part at half resolution. Each layer has four paths, high to high, low to
low, and across (high to low through a 2× downsampling, low to high through a 2×
upsampling), and a GDN (IGDN when transposed) on each output. The low part costs a
quarter of the high's pixels, so the codec spends fewer bits and operations on the
smooth content of an image.

    (high, low) -> GoConv(stride 2) -> (high / 2, low / 2)        analysis
    (high, low) -> GoTConv(stride 2) -> (high * 2, low * 2)       synthesis

``alpha_in`` and ``alpha_out`` are the low part's share of the channels; 0 means a
plain tensor on that side (the image in, the image out).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from licodec.nn.gdn import GDN
from licodec.nn.layers import conv, deconv

Octave = tuple[torch.Tensor, torch.Tensor | None]
"""(high (N, C_h, H, W), low (N, C_l, H/2, W/2) or None)."""


def split_channels(channels: int, alpha: float) -> tuple[int, int]:
    """(high, low) channel counts for a low share of ``alpha``."""
    low = round(alpha * channels)
    return channels - low, low


class OctaveConv(nn.Module):
    """One generalised octave layer, strided (GoConv) or transposed (GoTConv), with GDN on each output."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        alpha_in: float = 0.5,
        alpha_out: float = 0.5,
        kernel_size: int = 5,
        stride: int = 2,
        transposed: bool = False,
        normalise: bool = True,
    ) -> None:
        super().__init__()
        self.transposed = transposed
        high_in, low_in = split_channels(in_channels, alpha_in)
        self.high_out, self.low_out = split_channels(out_channels, alpha_out)
        layer = deconv if transposed else conv

        def path(channels_in: int, channels_out: int, scale: int) -> nn.Module | None:
            return layer(channels_in, channels_out, kernel_size, scale) if channels_in and channels_out else None

        self.high_to_high = path(high_in, self.high_out, stride)
        self.low_to_low = path(low_in, self.low_out, stride)
        # across: conv downsamples high by 2 more; deconv upsamples low by 2 more
        self.high_to_low = path(high_in, self.low_out, stride if transposed else 2 * stride)
        self.low_to_high = path(low_in, self.high_out, 2 * stride if transposed else stride)
        self.norm_high = GDN(self.high_out, inverse=transposed) if normalise and self.high_out else None
        self.norm_low = GDN(self.low_out, inverse=transposed) if normalise and self.low_out else None

    def forward(self, x: Octave | torch.Tensor) -> Octave:
        high, low = x if isinstance(x, tuple) else (x, None)
        out_high = self.high_to_high(high)
        if low is not None and self.low_to_high is not None:
            across = self.low_to_high(low)
            if not self.transposed:
                across = F.interpolate(across, size=out_high.shape[-2:], mode="nearest")
            out_high = out_high + across
        out_low = None
        if self.low_out:
            source = F.avg_pool2d(high, 2) if self.transposed else high
            out_low = self.high_to_low(source)
            if low is not None:
                out_low = out_low + self.low_to_low(low)
        if self.norm_high is not None:
            out_high = self.norm_high(out_high)
        if out_low is not None and self.norm_low is not None:
            out_low = self.norm_low(out_low)
        return out_high, out_low
