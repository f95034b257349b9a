import numpy as np
import pytest
from PIL import Image

import licodec
from licodec.adapt.roi import decode_roi, encode_roi, roi_map, tile_rate_map
from licodec.errors import CorruptBitstreamError, InvalidImageError
from licodec.metrics import psnr
from tests.conftest import KODAK, smooth_image


def mask_of(width, height, box):
    mask = np.zeros((height, width), dtype=np.uint8)
    left, top, right, bottom = box
    mask[top:bottom, left:right] = 255
    return Image.fromarray(mask)


def test_a_cell_is_in_the_region_if_any_of_its_pixels_is():
    cells = roi_map(mask_of(40, 20, (17, 0, 18, 1)), 40, 20)
    assert cells.shape == (2, 3)
    assert cells.sum() == 1 and cells[0, 1]


def test_map_round_trips_through_its_stream():
    cells = np.random.default_rng(0).random((7, 11)) > 0.5
    np.testing.assert_array_equal(decode_roi(encode_roi(cells), 170, 100), cells)
    with pytest.raises(CorruptBitstreamError):
        decode_roi(encode_roi(cells), 500, 500)


def test_mask_of_another_size_or_empty_is_refused():
    with pytest.raises(InvalidImageError, match="mask is 10x10"):
        roi_map(mask_of(10, 10, (0, 0, 5, 5)), 20, 20)
    with pytest.raises(InvalidImageError, match="empty"):
        roi_map(mask_of(20, 20, (0, 0, 0, 0)), 20, 20)


def test_an_unreadable_mask_is_named_as_the_mask_not_the_image():
    with pytest.raises(InvalidImageError, match="^ROI mask: not an image"):
        roi_map(b"not an image", 20, 20)


def test_tile_rate_map_pads_with_edge_cells():
    cells = np.array([[True, False]])
    rate = tile_rate_map(cells, 1.0, 4.0, 0, 0, 64, 64)
    assert rate.shape == (1, 1, 4, 4)
    assert rate[0, 0, 0, 0] == 4.0 and rate[0, 0, 3, 3] == 1.0


def test_roi_files_round_trip_with_tiny_models(checkerboard_model):
    image = smooth_image(50, 70)
    data = licodec.compress(image, quality=20, model=checkerboard_model, roi=mask_of(70, 50, (0, 0, 30, 30)), roi_quality=90)
    header = licodec.bitstream.read_header(data)
    assert header.roi_quality == 90
    assert licodec.decompress(data, model=checkerboard_model).size == (70, 50)


@pytest.mark.skipif(not KODAK.exists(), reason="needs ../shared/data/kodak")
def test_region_gets_more_bits_and_better_quality_than_uniform_coding_at_the_same_base_quality():
    """The size of the gain depends on the model (benchmarks/roi.py measures it at equal file size)."""
    photo = Image.open(KODAK / "kodim05.png").convert("RGB").crop((0, 0, 256, 256))
    box = (64, 64, 192, 192)
    uniform_data = licodec.compress(photo, quality=10)
    focused_data = licodec.compress(photo, quality=10, roi=mask_of(256, 256, box), roi_quality=100)
    uniform, focused = licodec.decompress(uniform_data), licodec.decompress(focused_data)
    assert len(focused_data) > len(uniform_data)
    assert psnr(photo.crop(box), focused.crop(box)) > psnr(photo.crop(box), uniform.crop(box))
