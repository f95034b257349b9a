import io

import pytest
from PIL import Image

import licodec  # noqa: F401  (registers the plugin)
from tests.conftest import smooth_image


def test_pillow_opens_and_saves_lic_files(tmp_path):
    source = Image.fromarray(smooth_image(40, 50))
    path = tmp_path / "x.lic"
    source.save(path, quality=50)
    with Image.open(path) as image:
        assert image.format == "LIC"
        assert image.size == (50, 40) and image.mode == "RGB"
        image.load()
        assert image.getpixel((0, 0)) is not None
        assert image.info["licodec_model"] == "licodec-mse"


def test_open_reads_only_the_header_until_load(tmp_path):
    buffer = io.BytesIO()
    Image.fromarray(smooth_image(16, 16)).save(buffer, format="LIC")
    image = Image.open(io.BytesIO(buffer.getvalue()))
    assert image.size == (16, 16)
    assert image.convert("L").size == (16, 16)


def test_a_damaged_file_raises_an_oserror_on_load(tmp_path):
    buffer = io.BytesIO()
    Image.fromarray(smooth_image(16, 16)).save(buffer, format="LIC")
    data = bytearray(buffer.getvalue())
    data[-10] ^= 0xFF
    with Image.open(io.BytesIO(bytes(data))) as image, pytest.raises(OSError, match="damaged"):
        image.load()


def test_pillows_pixel_limit_applies_to_lic_files(monkeypatch):
    buffer = io.BytesIO()
    Image.fromarray(smooth_image(16, 16)).save(buffer, format="LIC")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # Pillow refuses above twice its limit
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(buffer.getvalue()))
