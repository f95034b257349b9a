"""Baseline JPEG through Pillow with full-resolution (4:4:4) chroma."""

from __future__ import annotations

from PIL import Image

from licodec.codecs._pillow import load, save
from licodec.codecs.jpeg import QUALITIES, is_available, version

__all__ = ["QUALITIES", "decode", "encode", "is_available", "version"]


def encode(image: Image.Image, quality: int) -> bytes:
    return save(image, "JPEG", quality=int(quality), subsampling=0)


def decode(data: bytes) -> Image.Image:
    return load(data)
