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


def test_periodic_error_ratio_finds_a_checkerboard_and_not_noise_or_blur():
    from PIL import Image, ImageFilter

    from licodec.metrics import periodic_error_ratio

    image = smooth_image(256, 256)
    rng = np.random.default_rng(0)
    noisy = np.clip(image + rng.normal(0, 4, image.shape), 0, 255).astype(np.uint8)
    blurred = np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(1.5)))
    grid = np.indices((256, 256)).sum(0) % 2 * 6 - 3  # a +-3 checkerboard, as a stride-2 upsampling leaves
    checkered = np.clip(noisy.astype(np.int64) + grid[:, :, None], 0, 255).astype(np.uint8)
    assert 0.7 < periodic_error_ratio(image, noisy) < 1.4
    assert 0.5 < periodic_error_ratio(image, blurred) < 2
    assert periodic_error_ratio(image, checkered) > 10
    with pytest.raises(ValueError, match="at least 128"):
        periodic_error_ratio(image[:64], noisy[:64])
