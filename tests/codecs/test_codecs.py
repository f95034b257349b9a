import pytest
from PIL import Image

from licodec.codecs import CODECS
from licodec.errors import CodecUnavailableError
from licodec.eval.codecs import resolve
from licodec.metrics import psnr
from tests.conftest import smooth_image

IMAGE = Image.fromarray(smooth_image(48, 64))


@pytest.mark.parametrize("name", list(CODECS))
def test_each_available_codec_round_trips_at_a_useful_quality(name):
    module = CODECS[name]
    if not module.is_available():
        pytest.skip(f"{name} is not installed here")
    data = module.encode(IMAGE, 90)
    decoded = module.decode(data)
    assert decoded.size == IMAGE.size and decoded.mode == "RGB"
    assert psnr(IMAGE, decoded) > 25
    assert module.version()


@pytest.mark.parametrize("name", ["jpeg", "webp", "avif", "heic"])
def test_higher_quality_costs_more_bytes(name):
    module = CODECS[name]
    if not module.is_available():
        pytest.skip(f"{name} is not installed here")
    assert len(module.encode(IMAGE, 20)) < len(module.encode(IMAGE, 90))


def test_an_unavailable_codec_is_reported_not_crashed(monkeypatch):
    monkeypatch.setattr(CODECS["heic"], "is_available", lambda: False)
    with pytest.raises(CodecUnavailableError, match="heic support is not installed on this machine"):
        resolve("heic")


def test_jpeg_with_fitted_huffman_tables_keeps_every_pixel_in_fewer_bytes_and_stays_baseline():
    from licodec.codecs import jpeg
    from licodec.jpeg_tools.qtables import load_table_set

    image = Image.fromarray(smooth_image(96, 128))
    tables = load_table_set("psnr")
    for encode in (lambda *a: jpeg.encode(image, 50, *a), lambda *a: tables.encode(image, 50, *a)):
        standard, fitted = encode(None, False), encode(None, True)
        assert len(fitted) < len(standard)
        assert CODECS["jpeg"].decode(fitted).tobytes() == CODECS["jpeg"].decode(standard).tobytes()
        assert b"\xff\xc0" in fitted and b"\xff\xc2" not in fitted  # SOF0 baseline, not progressive
    with_comment = jpeg.encode(image, 50, b"note", True)
    assert b"note" in with_comment and len(with_comment) < len(jpeg.encode(image, 50, b"note"))
