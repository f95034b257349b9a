"""JPEG XL through imagecodecs (libjxl)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from licodec.errors import CodecUnavailableError

QUALITIES = (10, 20, 30, 40, 50, 60, 70, 80, 90)


def _module():
    try:
        import imagecodecs  # the eval extra: imported where used, so licodec works without it
    except ImportError:
        raise CodecUnavailableError("JPEG XL", "imagecodecs") from None
    return imagecodecs


def is_available() -> bool:
    try:
        return bool(_module().JPEGXL.available)
    except CodecUnavailableError:
        return False


def version() -> str:
    codecs = _module()
    return f"{codecs.jpegxl_version()} (imagecodecs {codecs.__version__})"


def encode(image: Image.Image, quality: int) -> bytes:
    return bytes(_module().jpegxl_encode(np.asarray(image.convert("RGB")), level=int(quality)))


def decode(data: bytes) -> Image.Image:
    return Image.fromarray(np.asarray(_module().jpegxl_decode(data))[..., :3].astype(np.uint8), "RGB")
