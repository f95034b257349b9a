import math

import numpy as np
import pytest

from licodec.metrics import bits_per_pixel, ms_ssim, psnr
from tests.conftest import smooth_image


def test_psnr_matches_its_definition():
    a = smooth_image(20, 30)
    b = np.clip(a.astype(int) + 3, 0, 255).astype(np.uint8)
    mse = np.mean((a.astype(float) - b) ** 2)
    assert psnr(a, b) == pytest.approx(10 * math.log10(255**2 / mse))
    assert psnr(a, a) == math.inf


def test_ms_ssim_is_one_for_identical_and_nan_for_tiny_images():
    a = smooth_image(200, 200)
    assert ms_ssim(a, a) == pytest.approx(1.0)
    assert math.isnan(ms_ssim(smooth_image(50, 50), smooth_image(50, 50)))


def test_bits_per_pixel_counts_whole_bytes():
    assert bits_per_pixel(100, 10, 20) == 4.0


def test_size_mismatch_is_refused():
    with pytest.raises(ValueError):
        psnr(smooth_image(4, 4), smooth_image(4, 5))
