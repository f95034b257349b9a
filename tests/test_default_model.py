"""The shipped default model on real photographs (needs ../shared/data/kodak)."""

import pytest
from PIL import Image

import licodec
from licodec.eval.metrics import bits_per_pixel, psnr
from tests.conftest import KODAK

pytestmark = pytest.mark.skipif(not KODAK.exists(), reason="needs ../shared/data/kodak")


def test_kodim23_at_default_quality_is_above_30_db_below_1_bpp():
    original = Image.open(KODAK / "kodim23.png").convert("RGB")
    data = licodec.compress(original)
    decoded = licodec.decompress(data)
    assert bits_per_pixel(len(data), *original.size) < 1.0
    assert psnr(original, decoded) >= 30.0


def test_quality_orders_file_sizes_on_a_photo():
    crop = Image.open(KODAK / "kodim05.png").convert("RGB").crop((0, 0, 256, 256))
    sizes = [len(licodec.compress(crop, quality=q)) for q in (1, 25, 50, 75, 100)]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]
