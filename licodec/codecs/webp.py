"""Lossy WebP through Pillow (libwebp), slowest/best method 6."""

from __future__ import annotations

import PIL
from PIL import Image, features

from licodec.codecs._pillow import load, save

QUALITIES = (5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95)


def is_available() -> bool:
    return bool(features.check("webp"))


def version() -> str:
    return f"libwebp {features.version('webp') or '?'} (Pillow {PIL.__version__})"


def encode(image: Image.Image, quality: int) -> bytes:
    return save(image, "WEBP", quality=int(quality), method=6)


def decode(data: bytes) -> Image.Image:
    return load(data)
