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


ARTEFACT_PERIOD = 16
"""The stride of a 4-layer decoder's upsampling (2^4): its checkerboard artefacts repeat every 2, 4, 8 or 16 pixels."""


def periodic_error_ratio(reference, decoded, period: int = ARTEFACT_PERIOD) -> float:
    """How much the error peaks at the frequencies of a ``period``-pixel grid: checkerboard and blocking artefacts.

    The Hann-windowed error's power spectrum (mean of RGB) at the frequencies of every
    pattern that repeats each ``period`` pixels (3x3 bins: the window's main lobe), over
    the power of as many bins in the ring 3 to 4 bins around them (the constant term
    left out). A smooth spectrum (noise, blur) scores about 1; upsampling checkerboards
    and JPEG's 8x8 blocks score above it.
    """
    a, b = _rgb(reference), _rgb(decoded)
    if a.shape != b.shape:
        raise ValueError(f"images differ in size: {a.shape} vs {b.shape}")
    h, w = a.shape[0] // period * period, a.shape[1] // period * period
    if h < 8 * period or w < 8 * period:
        raise ValueError(f"images need sides of at least {8 * period} pixels")
    window = np.outer(np.hanning(h), np.hanning(w))  # no edges where the spectrum wraps round
    power = np.abs(np.fft.fft2((b - a)[:h, :w].mean(axis=2) * window)) ** 2
    peaks, around = 0.0, 0.0
    for i in range(0, h, h // period):
        for j in range(0, w, w // period):
            if i == 0 and j == 0:
                continue
            peaks += _square_sum(power, i, j, 1)  # the window's main lobe
            around += (_square_sum(power, i, j, 4) - _square_sum(power, i, j, 2)) / (81 - 25) * 9
    return math.inf if around == 0 else peaks / around


def _square_sum(values: np.ndarray, i: int, j: int, radius: int) -> float:
    """The sum of the (2 radius + 1)^2 entries around (i, j), wrapping round the edges (as a spectrum does)."""
    rows = np.arange(i - radius, i + radius + 1) % values.shape[0]
    cols = np.arange(j - radius, j + radius + 1) % values.shape[1]
    return float(values[np.ix_(rows, cols)].sum())
