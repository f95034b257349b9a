"""Shared Pillow round trip: the conventional codecs differ only in their save options."""

from __future__ import annotations

import io

from PIL import Image


def save(image: Image.Image, format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format=format, **options)
    return buffer.getvalue()


def load(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB")
