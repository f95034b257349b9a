"""Baseline JPEG through Pillow (libjpeg-turbo), 4:2:0 chroma: the web's default."""

from __future__ import annotations

import math

import PIL
from PIL import Image, features

from licodec.codecs._pillow import load, save

QUALITIES = (5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95)
SUBSAMPLING = 2  # Pillow's code for 4:2:0
JPEG_OPTIONS = True  # encode() also takes a COM-segment payload (post-filter choices) and optimize_huffman


def is_available() -> bool:
    return bool(features.check("jpg"))


def version() -> str:
    return f"libjpeg-turbo {features.version('libjpeg_turbo') or '?'} (Pillow {PIL.__version__})"


def encode(image: Image.Image, quality: int, comment: bytes | None = None, optimize_huffman: bool = False) -> bytes:
    """Baseline JPEG; ``comment`` goes into a COM segment, which decoders ignore.

    ``optimize_huffman`` has libjpeg fit the Huffman tables to this image (a second
    pass): the same coefficients and decoded pixels in fewer bytes, still baseline.
    """
    return save(image, "JPEG", quality=int(quality), subsampling=SUBSAMPLING, **jpeg_save_options(comment, optimize_huffman))


def jpeg_save_options(comment: bytes | None, optimize_huffman: bool) -> dict:
    """Pillow's save options for a COM segment and image-fitted Huffman tables."""
    options: dict = {"comment": comment} if comment else {}
    if optimize_huffman:
        options["optimize"] = True
    return options


def decode(data: bytes) -> Image.Image:
    return load(data)


def jpeg_strength(luma_table) -> float:
    """Compression strength in [0, 1] from a luma quantisation table (64 steps): log of its mean step.

    What the learned pre- and post-filters are conditioned on: it reads the same
    from libjpeg's tables at a quality and from learned tables.
    """
    steps = [float(v) for v in luma_table]
    return min(max(math.log(sum(steps) / len(steps)) / math.log(255.0), 0.0), 1.0)
