"""Region-of-interest coding: spend more bits where a mask says the user cares.

The mask becomes a binary map at the latent resolution (one cell per 16 x 16
pixels; a cell is in the region if any of its pixels is). Each cell gets its own
rate position on the model's ladder, so the gain units quantise region cells
more finely. The map travels in the file as a zlib-compressed bitmap, a few
hundred bytes for a photo; the decoder applies the matching inverse gains.
"""

from __future__ import annotations

import contextlib
import zlib

import numpy as np
from PIL import ImageOps

from licodec.errors import CorruptBitstreamError, InvalidImageError
from licodec.image import open_image

CELL_PX = 16


def roi_map(mask_source, width: int, height: int) -> np.ndarray:
    """(ceil(H/16), ceil(W/16)) bool map from a mask image (nonzero = region) of the image's size."""
    mask = open_image(mask_source, label="ROI mask")
    with contextlib.suppress(Exception):
        mask = ImageOps.exif_transpose(mask)
    if mask.size != (width, height):
        raise InvalidImageError(f"ROI mask is {mask.width}x{mask.height} but the image is {width}x{height}")
    pixels = np.asarray(mask.convert("L")) > 127
    if not pixels.any():
        raise InvalidImageError("ROI mask is empty: mark the region with nonzero pixels")
    cells_h, cells_w = -(-height // CELL_PX), -(-width // CELL_PX)
    padded = np.zeros((cells_h * CELL_PX, cells_w * CELL_PX), dtype=bool)
    padded[:height, :width] = pixels
    return padded.reshape(cells_h, CELL_PX, cells_w, CELL_PX).any(axis=(1, 3))


def encode_roi(cells: np.ndarray) -> bytes:
    return zlib.compress(np.packbits(cells.ravel()).tobytes(), 9)


def decode_roi(data: bytes, width: int, height: int) -> np.ndarray:
    cells_h, cells_w = -(-height // CELL_PX), -(-width // CELL_PX)
    try:
        packed = zlib.decompress(data)
    except zlib.error:
        raise CorruptBitstreamError("ROI map stream is damaged") from None
    if len(packed) != -(-(cells_h * cells_w) // 8):
        raise CorruptBitstreamError("ROI map does not match the image size")
    return np.unpackbits(np.frombuffer(packed, dtype=np.uint8))[: cells_h * cells_w].reshape(cells_h, cells_w).astype(bool)


def tile_rate_map(cells: np.ndarray, background: float, region: float, top: int, left: int, padded_h: int, padded_w: int) -> np.ndarray:
    """Rate map (1, 1, padded_h/16, padded_w/16) of one tile; padding repeats the edge cells."""
    rows, cols = padded_h // CELL_PX, padded_w // CELL_PX
    block = cells[top // CELL_PX : top // CELL_PX + rows, left // CELL_PX : left // CELL_PX + cols]
    block = np.pad(block, ((0, rows - block.shape[0]), (0, cols - block.shape[1])), mode="edge")
    return np.where(block, region, background).astype(np.float32)[None, None]
