import io

import numpy as np
import pytest
from PIL import Image

from licodec.errors import InvalidImageError
from licodec.image import decode_alpha, encode_alpha, finish, open_image, prepare
from tests.conftest import smooth_image


def test_exif_orientation_is_applied():
    image = Image.fromarray(smooth_image(20, 30))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    prepared = prepare(open_image(buffer.getvalue()))
    assert prepared.rgb.shape == (30, 20, 3)


def test_sixteen_bit_grayscale_is_rounded_to_eight_bits():
    values = np.array([[0, 257, 65535, 32896]], dtype=np.uint16)
    prepared = prepare(Image.fromarray(values))
    assert prepared.bit_depth == 16 and prepared.colour_mode == "L"
    np.testing.assert_array_equal(prepared.rgb[0, :, 0], [0, 1, 255, 128])


def test_palette_with_transparency_keeps_alpha():
    image = Image.new("P", (4, 4))
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.info["transparency"] = 0
    prepared = prepare(image)
    assert prepared.colour_mode == "RGBA" and prepared.alpha is not None


def test_float_images_are_refused():
    with pytest.raises(InvalidImageError, match="floating-point"):
        prepare(Image.new("F", (2, 2)))


@pytest.mark.parametrize("payload", [b"", b"not an image", b"\x89PNG\r\n\x1a\n" + b"\0" * 20])
def test_unreadable_bytes_raise_invalid_image(payload):
    with pytest.raises(InvalidImageError):
        open_image(payload)


def test_missing_file_raises_invalid_image(tmp_path):
    with pytest.raises(InvalidImageError, match="no such file"):
        open_image(tmp_path / "absent.png")


def test_alpha_stream_round_trips_losslessly():
    alpha = np.random.default_rng(0).integers(0, 256, (13, 7)).astype(np.uint8)
    np.testing.assert_array_equal(decode_alpha(encode_alpha(alpha), 7, 13), alpha)


def test_gray_output_is_single_channel():
    rgb = np.full((2, 2, 3), 9, dtype=np.uint8)
    assert finish(rgb, "L", None).mode == "L"


def test_pillow_decompression_bomb_limit_is_a_user_error(monkeypatch):
    buffer = io.BytesIO()
    Image.fromarray(smooth_image(64, 64)).save(buffer, format="PNG")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 64*64 > 2 * 100: Pillow refuses
    with pytest.raises(InvalidImageError, match="decompression bomb"):
        open_image(buffer.getvalue())


@pytest.mark.parametrize("source", [None, [[1, 2], [3, 4]], 3.5])
def test_a_source_of_the_wrong_type_is_a_type_error_naming_it(source):
    with pytest.raises(TypeError, match=f"not {type(source).__name__}"):
        open_image(source)
