"""Image-quality metrics, computed exactly as docs/evaluation.md states.

- bpp: whole file bytes * 8 / pixels.
- PSNR: on 8-bit RGB, 10 log10(255^2 / MSE) over all pixels and channels of one image.
- MS-SSIM: pytorch-msssim, data_range 255, default 5 scales and Gaussian window 11.
"""

from __future__ import annotations

import math

import numpy as np

MS_SSIM_MIN_SIDE = 161
"""pytorch-msssim's 5 scales and 11-px window need a side over (11 - 1) * 2**4 pixels."""


def bits_per_pixel(num_bytes: int, width: int, height: int) -> float:
    return num_bytes * 8 / (width * height)


def _rgb(image) -> np.ndarray:
    array = np.asarray(image.convert("RGB") if hasattr(image, "convert") else image)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    return array.astype(np.float64)


def psnr(reference, decoded) -> float:
    """PSNR in dB between two 8-bit images (PIL or uint8 arrays); inf when identical."""
    a, b = _rgb(reference), _rgb(decoded)
    if a.shape != b.shape:
        raise ValueError(f"images differ in size: {a.shape} vs {b.shape}")
    mse = float(np.mean((a - b) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def ms_ssim(reference, decoded) -> float:
    """MS-SSIM on 8-bit RGB; NaN for images too small for its five scales."""
    a, b = _rgb(reference), _rgb(decoded)
    if min(a.shape[:2]) < MS_SSIM_MIN_SIDE:
        return math.nan
    import torch  # pytorch-msssim computes it; bpp and PSNR need neither, and commands that only read files start faster
    from pytorch_msssim import ms_ssim as _ms_ssim

    ta = torch.from_numpy(a).permute(2, 0, 1).unsqueeze(0).float()
    tb = torch.from_numpy(b).permute(2, 0, 1).unsqueeze(0).float()
    return float(_ms_ssim(ta, tb, data_range=255.0))
