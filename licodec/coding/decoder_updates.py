"""The decoder-update stream: per-image additive updates to the synthesis biases, int8 multiples of a step.

The encoder fits them (:mod:`licodec.adapt.decoder_bias`); this is their format, which both
decoders read. No PyTorch.
"""

from __future__ import annotations

import zlib

import numpy as np

from licodec.errors import CorruptBitstreamError

BIAS_STEP = 2.0**-8
"""Quantisation step of a bias update. Part of the format."""
BIAS_LIMIT = 127


def encode_bias_updates(quantised: np.ndarray) -> bytes:
    return zlib.compress(quantised.astype(np.int8).tobytes(), 9)


def decode_bias_updates(sizes: dict[str, int], data: bytes) -> dict[str, np.ndarray]:
    """{bias name: delta (float32)} from the stream, for biases of ``sizes`` (name to length, in the format's order)."""
    try:
        raw = zlib.decompress(data)
    except zlib.error:
        raise CorruptBitstreamError("decoder-update stream is damaged") from None
    if len(raw) != sum(sizes.values()):
        raise CorruptBitstreamError("decoder-update stream does not fit this model")
    return to_updates(sizes, np.frombuffer(raw, dtype=np.int8))


def to_updates(sizes: dict[str, int], quantised: np.ndarray) -> dict[str, np.ndarray]:
    """int8 vector -> {bias name: delta}, cut in the order of ``sizes``."""
    updates, offset = {}, 0
    for name, size in sizes.items():
        updates[name] = quantised[offset : offset + size].astype(np.float32) * np.float32(BIAS_STEP)
        offset += size
    return updates
