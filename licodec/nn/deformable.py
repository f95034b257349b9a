"""A deformable convolution (Dai et al. 2017) built on ``grid_sample``, for the analysis transform.

Each of the k×k taps of every output position samples the input at its regular place
plus a learned offset, predicted from the input by a plain convolution; the sampled
values are then combined by the layer's weights as an ordinary convolution would. The
offsets start at zero, so a new layer is exactly a convolution. No compiled operator
is needed (torchvision's is not available here): the taps are bilinear
``grid_sample`` reads, which costs k² samples of the input per layer.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class DeformableConv2d(nn.Module):
    """``kernel_size`` × ``kernel_size`` deformable convolution; shapes as ``nn.Conv2d``'s."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1, padding: int = 1) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        self.offsets = nn.Conv2d(in_channels, 2 * kernel_size * kernel_size, kernel_size, stride, padding)
        nn.init.zeros_(self.offsets.weight)
        nn.init.zeros_(self.offsets.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        k = self.kernel_size
        offsets = self.offsets(x)  # (N, 2 k², H_out, W_out): (dy, dx) per tap, in pixels
        h_out, w_out = offsets.shape[-2:]
        rows = torch.arange(h_out, dtype=x.dtype, device=x.device) * self.stride - self.padding
        cols = torch.arange(w_out, dtype=x.dtype, device=x.device) * self.stride - self.padding
        taps = torch.arange(k, dtype=x.dtype, device=x.device)
        y = rows.view(1, 1, h_out, 1) + taps.repeat_interleave(k).view(1, k * k, 1, 1) + offsets[:, 0::2]
        x_ = cols.view(1, 1, 1, w_out) + taps.repeat(k).view(1, k * k, 1, 1) + offsets[:, 1::2]
        grid = torch.stack([2 * x_ / max(w - 1, 1) - 1, 2 * y / max(h - 1, 1) - 1], dim=-1)  # (N, k², H_out, W_out, 2)
        sampled = F.grid_sample(x, grid.view(n, k * k * h_out, w_out, 2), mode="bilinear", padding_mode="zeros", align_corners=True)
        columns = sampled.view(n, c, k * k, h_out, w_out).reshape(n, c * k * k, h_out, w_out)
        return torch.einsum("nkhw,ok->nohw", columns, self.weight.reshape(self.weight.shape[0], -1)) + self.bias.view(1, -1, 1, 1)
