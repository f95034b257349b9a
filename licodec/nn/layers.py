"""Convolutions used by the transforms and the context models."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from licodec.nn.numpy_layers import subpixel_taps


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


class LatentTransposedConv2d(nn.ConvTranspose2d):
    """The transposed convolution of :func:`deconv` that reads y_hat first in the synthesis transform: without
    gradients it skips the input channels that are zero throughout (the channels a tile's mask turned off,
    :mod:`licodec.coding.channel_mask`), whose products are all zero. Parameters and state dict are
    those of ``nn.ConvTranspose2d``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 5, stride: int = 2) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, kernel_size // 2, output_padding=stride - 1)

    def forward(self, x: torch.Tensor, output_size: list[int] | None = None) -> torch.Tensor:
        if torch.is_grad_enabled() or output_size is not None:
            return super().forward(x, output_size)
        live = x.abs().amax(dim=(0, 2, 3)) > 0
        if live.all() or not live.any():
            return super().forward(x)
        return F.conv_transpose2d(x[:, live], self.weight[live], self.bias, self.stride, self.padding, self.output_padding)


class SubpixelTransposedConv2d(nn.ConvTranspose2d):
    """The transposed convolution of :func:`deconv`, run without gradients as a stride-1
    convolution followed by a pixel shuffle (the same function, summed in another order).

    oneDNN's transposed convolution is slow when it has few output channels: for the
    last synthesis layer (64 -> 3 at full resolution) the sub-pixel form is faster
    (``benchmarks/speed.py`` times both; docs/results.md). Wide layers ran slower this
    way, so only that layer uses it. Parameters and state dict are
    those of ``nn.ConvTranspose2d``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 5, stride: int = 2) -> None:
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, not {kernel_size}")
        padding = kernel_size // 2
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, output_padding=stride - 1)
        # Output pixel s*m + phase sums input pixels m + d with kernel tap phase + padding - s*d.
        self._reach = (padding + stride - 1) // stride  # the largest |d| any phase uses
        self._cache: tuple[torch.UntypedStorage, tuple, torch.Tensor] | None = None

    def forward(self, x: torch.Tensor, output_size: list[int] | None = None) -> torch.Tensor:
        if torch.is_grad_enabled() or output_size is not None:
            return super().forward(x, output_size)
        s = self.stride[0]
        bias = self.bias.repeat_interleave(s * s) if self.bias is not None else None
        y = F.conv2d(x, self._subpixel_weight(), bias, padding=self._reach)
        return F.pixel_shuffle(y, s)

    def _subpixel_weight(self) -> torch.Tensor:
        """(out * s * s, in, 2r + 1, 2r + 1): one stride-1 kernel per output channel and phase.

        Cached per weight storage and version; holding the storage keeps its address
        from being reused, since ``module.to`` swaps a parameter's data in place.
        """
        storage = self.weight.untyped_storage()
        key = (storage.data_ptr(), self.weight._version, self.weight.dtype)
        if self._cache is None or self._cache[1] != key:
            self._cache = (storage, key, self._rearranged_weight())
        return self._cache[2]

    def _rearranged_weight(self) -> torch.Tensor:
        source = self.weight.detach()
        taps = torch.from_numpy(subpixel_taps(source.cpu().numpy(), self.stride[0]))  # (dy, dx, in, py, px, out)
        side = 2 * self._reach + 1
        weight = taps.permute(5, 3, 4, 2, 0, 1).reshape(-1, self.in_channels, side, side)  # output channel = (out, py, px)
        return weight.to(source.device).contiguous(memory_format=torch.channels_last)


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
    return (rows + cols) % 2 == 1  # as licodec.coding.procedures.checkerboard_anchor_mask, for training on any device


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


def strength_conditioned_filter(channels: int, layers: int, init_std: float = 0.0, seed: int = 0) -> nn.Sequential:
    """3x3 convolutions from (RGB, a compression-strength plane) to an RGB residual.

    The shape of the learned pre- and post-filters: small and plain, so it runs fast
    on a CPU. The last layer starts at zero (or within ``init_std`` of it, so the
    members of a bank can specialise), which makes a new filter the identity.
    """
    stack: list[nn.Module] = [nn.Conv2d(4, channels, 3, padding=1), nn.ReLU(inplace=True)]
    for _ in range(layers - 2):
        stack += [nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(inplace=True)]
    stack.append(nn.Conv2d(channels, 3, 3, padding=1))
    with torch.no_grad():
        if init_std:
            stack[-1].weight.normal_(0, init_std, generator=torch.Generator().manual_seed(seed))
        else:
            stack[-1].weight.zero_()
        stack[-1].bias.zero_()
    return nn.Sequential(*stack)


def apply_filter(stack: nn.Sequential, x: torch.Tensor, strength: torch.Tensor) -> torch.Tensor:
    """``x + stack(x, strength)`` clamped to [0, 1], for RGB ``x`` (N, 3, H, W) and one strength per image."""
    plane = strength.to(x.dtype).view(-1, 1, 1, 1).expand(x.shape[0], 1, *x.shape[-2:])
    return (x + stack(torch.cat([x, plane], 1))).clamp(0, 1)
