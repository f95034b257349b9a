"""JPEG 2000 through Pillow (OpenJPEG). Quality is mapped to a compression ratio."""

from __future__ import annotations

import PIL
from PIL import Image, features

from licodec.codecs._pillow import load, save

QUALITIES = (10, 20, 30, 40, 50, 60, 70, 80, 90)


def is_available() -> bool:
    return bool(features.check("jpg_2000"))


def version() -> str:
    return f"OpenJPEG {features.version('jpg_2000') or '?'} (Pillow {PIL.__version__})"


def compression_ratio(quality: int) -> float:
    """Quality 1..100 to a ratio from 400:1 down to 4:1, geometrically (higher quality, more bits)."""
    q = min(max(int(quality), 1), 100)
    return 400.0 * (4.0 / 400.0) ** ((q - 1) / 99)


def encode(image: Image.Image, quality: int) -> bytes:
    return save(image, "JPEG2000", quality_mode="rates", quality_layers=[compression_ratio(quality)], irreversible=True)


def decode(data: bytes) -> Image.Image:
    return load(data)
