"""HEIC (HEVC intra, x265) through pillow-heif."""

from __future__ import annotations

import io

from PIL import Image

from licodec.errors import CodecUnavailableError

QUALITIES = (10, 20, 30, 40, 50, 60, 70, 80, 90)


def _module():
    try:
        import pillow_heif  # the eval extra: imported where used, so licodec works without it
    except ImportError:
        raise CodecUnavailableError("HEIC", "pillow-heif") from None
    return pillow_heif


def is_available() -> bool:
    try:
        return bool(_module().libheif_info().get("HEIF"))
    except CodecUnavailableError:
        return False


def version() -> str:
    heif = _module()
    return f"libheif {heif.libheif_version()} (pillow-heif {heif.__version__})"


def encode(image: Image.Image, quality: int) -> bytes:
    heif = _module()
    buffer = io.BytesIO()
    heif.from_pillow(image.convert("RGB")).save(buffer, quality=int(quality))
    return buffer.getvalue()


def decode(data: bytes) -> Image.Image:
    heif = _module()
    return heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=True).to_pillow().convert("RGB")
