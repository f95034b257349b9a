"""AVIF through Pillow (libavif), speed 6, 4:2:0."""

from __future__ import annotations

import PIL
from PIL import Image, features

from licodec.codecs._pillow import load, save

QUALITIES = (10, 20, 30, 40, 50, 60, 70, 80, 90)


def is_available() -> bool:
    return bool(features.check("avif"))


def version() -> str:
    return f"libavif {features.version('avif') or '?'} (Pillow {PIL.__version__})"


def encode(image: Image.Image, quality: int) -> bytes:
    return save(image, "AVIF", quality=int(quality), speed=6)


def decode(data: bytes) -> Image.Image:
    return load(data)
