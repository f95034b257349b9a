"""A differentiable stand-in for baseline JPEG: the rate/distortion proxy learned pre-filters train through.

Mirrors libjpeg's pipeline: JFIF RGB -> YCbCr, 4:2:0 chroma averaging, level
shift, 8x8 orthonormal DCT, quantisation with the IJG tables scaled by quality,
rounding (straight-through, or a soft rounding whose sharpness anneals), then
the inverse. The rate is estimated from the quantised coefficients as
``a * sum(log2(1 + |q|)) + b * count(q != 0) + c * blocks + d`` bits (d: the
headers and tables every file carries), with a, b, c, d fitted to real libjpeg-turbo file sizes by ``benchmarks/jpeg_proxy.py``, which
also reports how well the proxy tracks real files.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

# IJG standard tables (ITU-T T.81 Annex K), in natural (row-major) order.
LUMA_TABLE = torch.tensor([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
], dtype=torch.float32).view(8, 8)  # fmt: skip
CHROMA_TABLE = torch.tensor([
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
], dtype=torch.float32).view(8, 8)  # fmt: skip

RATE_COEFFICIENTS = (1.669, 2.348, 1.325, 5130.3)
"""(a, b, c, d) of the rate estimate in bits; refit with ``benchmarks/jpeg_proxy.py --fit``."""


def scaled_table(table: torch.Tensor, quality: float) -> torch.Tensor:
    """libjpeg's ``jpeg_quality_scaling``: quality 1..100 to a table, clamped to 1..255 (baseline)."""
    q = min(max(float(quality), 1.0), 100.0)
    scale = 5000.0 / q if q < 50 else 200.0 - 2.0 * q
    return torch.clamp(torch.floor((table * scale + 50.0) / 100.0), 1.0, 255.0)


def rgb_to_ycbcr(x: torch.Tensor) -> torch.Tensor:
    """JFIF full-range YCbCr of (N, 3, H, W) RGB in [0, 255]."""
    r, g, b = x.unbind(1)
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = -0.168736 * r - 0.331264 * g + 0.5 * b + 128.0
    cr = 0.5 * r - 0.418688 * g - 0.081312 * b + 128.0
    return torch.stack([y, cb, cr], 1)


def ycbcr_to_rgb(x: torch.Tensor) -> torch.Tensor:
    y, cb, cr = x[:, 0], x[:, 1] - 128.0, x[:, 2] - 128.0
    return torch.stack([y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb], 1)


def _dct_matrix() -> torch.Tensor:
    k = torch.arange(8, dtype=torch.float64).view(-1, 1)
    n = torch.arange(8, dtype=torch.float64).view(1, -1)
    m = torch.cos(math.pi * (2 * n + 1) * k / 16) * math.sqrt(2 / 8)
    m[0] /= math.sqrt(2)
    return m.float()


DCT = _dct_matrix()


def blocks(plane: torch.Tensor) -> torch.Tensor:
    """(N, H, W) with H, W multiples of 8 -> (N, H/8, W/8, 8, 8)."""
    n, h, w = plane.shape
    return plane.view(n, h // 8, 8, w // 8, 8).permute(0, 1, 3, 2, 4)


def unblocks(b: torch.Tensor) -> torch.Tensor:
    n, bh, bw = b.shape[:3]
    return b.permute(0, 1, 3, 2, 4).reshape(n, bh * 8, bw * 8)


def soft_round(x: torch.Tensor, alpha: float) -> torch.Tensor:
    """Agustsson & Theis 2020: tends to rounding as alpha grows, smooth everywhere."""
    if alpha <= 0:
        return x
    m = torch.floor(x) + 0.5
    r = x - m
    return m + torch.tanh(alpha * r) / (2 * math.tanh(alpha / 2))


def _round(x: torch.Tensor, soft_alpha: float | None) -> torch.Tensor:
    if soft_alpha is None:
        return x + (torch.round(x) - x).detach()  # straight-through
    return soft_round(x, soft_alpha)


def jpeg_proxy(x: torch.Tensor, quality: float | tuple[list[int], list[int]], soft_alpha: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Differentiable JPEG of (N, 3, H, W) RGB in [0, 255], H and W multiples of 16.

    ``quality``: libjpeg's quality (its scaled standard tables), or explicit
    ``(luma, chroma)`` tables of 64 steps in natural order, as learned tables are.
    Returns ``(decoded, bits)``: the reconstruction in [0, 255] and the estimated
    file size in bits per image (N,).
    """
    if x.shape[-1] % 16 or x.shape[-2] % 16:
        raise ValueError("jpeg_proxy needs sides that are multiples of 16 (pad first)")
    ycc = rgb_to_ycbcr(x)
    planes = [ycc[:, 0], F.avg_pool2d(ycc[:, 1:2], 2)[:, 0], F.avg_pool2d(ycc[:, 2:3], 2)[:, 0]]
    if isinstance(quality, tuple):
        luma, chroma = (torch.tensor(t, dtype=torch.float32).view(8, 8) for t in quality)
    else:
        luma, chroma = scaled_table(LUMA_TABLE, quality), scaled_table(CHROMA_TABLE, quality)
    tables = [luma, chroma, chroma]
    a, b, c, d = RATE_COEFFICIENTS
    bits = x.new_full((x.shape[0],), d)
    decoded_planes = []
    for plane, table in zip(planes, tables):
        coefficients = DCT @ blocks(plane - 128.0) @ DCT.T
        q = _round(coefficients / table, soft_alpha)
        magnitude = torch.sqrt(q * q + 1e-6)
        nonzero = torch.tanh(4.0 * magnitude)  # smooth count of nonzero coefficients
        bits = bits + (a * torch.log2(1 + magnitude) + b * nonzero).sum(dim=(1, 2, 3, 4))
        bits = bits + c * q.shape[1] * q.shape[2]
        decoded_planes.append(unblocks(DCT.T @ (q * table) @ DCT) + 128.0)
    y = decoded_planes[0]
    cb = F.interpolate(decoded_planes[1][:, None], scale_factor=2, mode="bilinear", align_corners=False)[:, 0]
    cr = F.interpolate(decoded_planes[2][:, None], scale_factor=2, mode="bilinear", align_corners=False)[:, 0]
    return ycbcr_to_rgb(torch.stack([y, cb, cr], 1)).clamp(0, 255), bits
