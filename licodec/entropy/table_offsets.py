"""Image-dependent entropy models as side information: per-channel table offsets.

The hyperprior predicts a scale for every latent symbol; for a given image it
can be systematically too wide or too narrow in some channels (flat graphics,
screenshots, unusual textures). The encoder, which knows every symbol, can
measure the exact coded cost of shifting each channel's table index by
``d`` in [-8, 7] and send the best shift per channel (4 bits each) ahead of
the latents. The decoder adds the same shifts. All of it is integer table
arithmetic, so it stays bit-exact. Whether a tile sends offsets at all is its
coding mode's business (:mod:`licodec.entropy.latent_coding`).
"""

from __future__ import annotations

import numpy as np

from licodec.entropy.coder import SymbolDecoder, SymbolEncoder, escape_bits
from licodec.entropy.tables import PRECISION_BITS, CategoricalTables

OFFSET_MIN, OFFSET_MAX = -8, 7
OFFSET_TABLES = CategoricalTables.from_pmfs([np.full(OFFSET_MAX - OFFSET_MIN + 1, 1.0 / (OFFSET_MAX - OFFSET_MIN + 1))], [OFFSET_MIN])
"""A uniform table for the offsets (exact binary fractions, so built identically everywhere)."""


def offsets_bits(channels: int) -> float:
    """What sending ``channels`` offsets costs: each is uniform over the 16 shifts."""
    return channels * float(np.log2(OFFSET_MAX - OFFSET_MIN + 1))


def symbol_bits(symbols: np.ndarray, indexes: np.ndarray, tables: CategoricalTables) -> np.ndarray:
    """Exact cost in bits of each symbol under its table (an escaped one's with its varint), same shape."""
    entries, escaped = tables.entries(symbols, indexes)
    bits = PRECISION_BITS - np.log2(tables.frequencies[indexes, entries].astype(np.float64))
    return np.where(escaped, bits + escape_bits(symbols), bits)


def choose_offsets(chunks: list[tuple[np.ndarray, np.ndarray]], tables: CategoricalTables) -> np.ndarray | None:
    """Per-channel offsets (int32, M) that minimise the coded size, or None if they do not pay.

    ``chunks`` are (symbols, indexes) arrays of shape (1, M, ...) that will be coded.
    """
    channels = chunks[0][0].shape[1]
    last = tables.num_tables - 1
    candidates = np.arange(OFFSET_MIN, OFFSET_MAX + 1)
    # Each distinct (channel, table index, symbol) is priced once, weighted by how often it occurs.
    symbols = np.concatenate([s.reshape(channels, -1) for s, _ in chunks], 1).astype(np.int64)
    indexes = np.concatenate([i.reshape(channels, -1) for _, i in chunks], 1).astype(np.int64)
    low, span = symbols.min(), symbols.max() - symbols.min() + 1
    keys = (np.arange(channels)[:, None] * tables.num_tables + indexes) * span + (symbols - low)
    unique, weight = np.unique(keys, return_counts=True)
    context, symbol = np.divmod(unique, span)
    channel, base = np.divmod(context, tables.num_tables)
    symbol += low
    cost = np.stack([np.bincount(channel, weight * symbol_bits(symbol, np.clip(base + d, 0, last), tables), channels) for d in candidates])
    best = cost.argmin(axis=0)
    if cost[best, np.arange(channels)].sum() + offsets_bits(channels) >= cost[candidates == 0].sum():
        return None
    return candidates[best].astype(np.int32)


def apply_offsets(indexes: np.ndarray, offsets: np.ndarray | None, tables: CategoricalTables) -> np.ndarray:
    """Shift (1, M, ...) table indexes per channel, clamped to the table range."""
    if offsets is None:
        return indexes
    shape = (1, -1) + (1,) * (indexes.ndim - 2)
    return np.clip(indexes + offsets.reshape(shape), 0, tables.num_tables - 1).astype(np.int32)


def encode_offsets(encoder: SymbolEncoder, offsets: np.ndarray) -> None:
    encoder.encode(offsets, np.zeros(len(offsets), dtype=np.int32), OFFSET_TABLES)


def decode_offsets(decoder: SymbolDecoder, channels: int) -> np.ndarray:
    return decoder.decode(np.zeros(channels, dtype=np.int32), OFFSET_TABLES)
