"""How a latent is entropy-coded: with the model's tables, or with one of the image-dependent entropy models.

There are two image-dependent models, and they combine:

- per-channel table offsets, sent as side information (:mod:`licodec.entropy.table_offsets`),
  for a latent whose table index is a predicted scale (y of the hyperprior models);
- adaptive contexts, learned from the image while it is coded (:mod:`licodec.entropy.adaptive`),
  for any latent (y, and z, whose tables are one per channel).

The encoder prices the latent in every mode by its exact ideal code length
(:func:`mode_bits`, a few sorts, no coding) and codes it once, in the cheapest.
The prices come within a few bytes of the coded sizes, so whatever an image is,
a tile costs at most the mode symbols and those few bytes more than the plain model's.

Syntax, at the head of each latent in a tile's range-coded stream:

- format version 2: a mode symbol, uniform over 4 (bit 0: offsets follow; bit 1: adaptive),
  then the offsets if bit 0 is set;
- format version 1: y had a binary flag (uniform), then the offsets if it was set; z had nothing.
  There was no adaptive mode.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from licodec.entropy.adaptive import AdaptiveContexts, code_length_bits
from licodec.entropy.coder import SymbolDecoder, SymbolEncoder
from licodec.entropy.table_offsets import apply_offsets, choose_offsets, decode_offsets, encode_offsets, offsets_bits, symbol_bits
from licodec.entropy.tables import CategoricalTables
from licodec.errors import CorruptBitstreamError

MODE_TABLES = CategoricalTables.from_pmfs([np.full(2, 0.5), np.full(4, 0.25)], [0, 0])
"""Row 0: version 1's offsets flag; row 1: version 2's mode. Exact binary fractions, so built identically everywhere."""
_FLAG_ROW, _MODE_ROW = np.zeros(1, dtype=np.int32), np.ones(1, dtype=np.int32)

Chunks = list[tuple[np.ndarray, np.ndarray]]
"""(symbols, table indexes) of a latent, each (1, C, ...), in the order the model codes them."""
Classes = tuple[int, list[np.ndarray | None]] | None
"""(number of classes, each chunk's classes or None for all 0) when a model splits the adaptive contexts, see :class:`LatentCoder`."""


@dataclass(frozen=True, eq=False)
class CodingMode:
    offsets: np.ndarray | None = None  # per-channel table offsets (int32, C), or none
    adaptive: bool = False

    @property
    def number(self) -> int:
        return int(self.offsets is not None) | int(self.adaptive) << 1


PLAIN = CodingMode()


class LatentCoder:
    """Codes one latent's chunks in one mode; keeps the adaptive counts from chunk to chunk.

    A model may split each channel's adaptive contexts into ``num_classes`` by what
    is already decoded (the checkerboard: by the decoded neighbours); it then gives
    each chunk's ``classes`` (ints below ``num_classes``, shaped like its indexes).
    """

    def __init__(self, mode: CodingMode, tables: CategoricalTables, channels: int, num_classes: int = 1) -> None:
        self.mode = mode
        self.tables = tables
        self._num_classes = num_classes
        self._contexts = AdaptiveContexts(tables, channels * num_classes) if mode.adaptive else None

    def encode(self, encoder: SymbolEncoder, symbols: np.ndarray, indexes: np.ndarray, classes: np.ndarray | None = None) -> None:
        indexes = apply_offsets(indexes, self.mode.offsets, self.tables)
        if self._contexts is None:
            encoder.encode(symbols, indexes, self.tables)
        else:
            self._contexts.encode(encoder, symbols, indexes, self._groups(indexes, classes))

    def decode(self, decoder: SymbolDecoder, indexes: np.ndarray, classes: np.ndarray | None = None) -> np.ndarray:
        indexes = apply_offsets(indexes, self.mode.offsets, self.tables)
        if self._contexts is None:
            return decoder.decode(indexes, self.tables)
        return self._contexts.decode(decoder, indexes, self._groups(indexes, classes))

    def _groups(self, indexes: np.ndarray, classes: np.ndarray | None) -> np.ndarray:
        return context_groups(indexes, classes, self._num_classes)


def context_groups(indexes: np.ndarray, classes: np.ndarray | None, num_classes: int) -> np.ndarray:
    """Adaptive context group of each symbol of a (1, C, ...) chunk: channel * num_classes + class."""
    channels = np.arange(indexes.shape[1]).reshape((1, -1) + (1,) * (indexes.ndim - 2))
    groups = channels * num_classes + (0 if classes is None else np.asarray(classes))
    return np.broadcast_to(groups, indexes.shape)


def choose_mode(chunks: Chunks, tables: CategoricalTables, offsets: bool = True, adaptive: bool = True, classes: Classes = None) -> CodingMode:
    """The mode that codes ``chunks`` in the fewest bits (the first on a tie), by :func:`mode_bits`.

    ``offsets=False`` for tables that are not indexed by scale; ``adaptive=False``
    leaves the adaptive modes out (what format 1 could do).
    """
    shifts = choose_offsets(chunks, tables) if offsets else None
    modes = [PLAIN] + ([CodingMode(shifts)] if shifts is not None else [])
    if adaptive:
        modes += [CodingMode(mode.offsets, adaptive=True) for mode in modes]
    return min(modes, key=lambda mode: mode_bits(mode, chunks, tables, classes))


def encode_latent(
    encoder: SymbolEncoder, chunks: Chunks, tables: CategoricalTables, *, local_models: bool, offsets: bool = True, classes: Classes = None
) -> CodingMode:
    """Code ``chunks`` in the mode :func:`choose_mode` picks (the plain one without ``local_models``),
    led by that mode (format version 2); returns it.

    ``classes``: (number of classes, each chunk's classes), see :class:`LatentCoder`.
    """
    mode = choose_mode(chunks, tables, offsets=offsets, classes=classes) if local_models else PLAIN
    write_latent(encoder, chunks, tables, mode, classes)
    return mode


def write_latent(encoder: SymbolEncoder, chunks: Chunks, tables: CategoricalTables, mode: CodingMode, classes: Classes = None) -> None:
    """Write ``mode`` and then ``chunks`` coded in it (format version 2)."""
    encoder.encode(np.array([mode.number]), _MODE_ROW, MODE_TABLES)
    if mode.offsets is not None:
        encode_offsets(encoder, mode.offsets)
    num_classes, per_chunk = _classes_of_chunks(classes, chunks)
    coder = LatentCoder(mode, tables, chunks[0][0].shape[1], num_classes)
    for (symbols, indexes), chunk_classes in zip(chunks, per_chunk):
        coder.encode(encoder, symbols, indexes, chunk_classes)


def read_mode(
    decoder: SymbolDecoder, tables: CategoricalTables, channels: int, *, format_version: int, offsets: bool = True, num_classes: int = 1
) -> LatentCoder:
    """Read a latent's mode in the syntax of the file's ``format_version``; returns the coder for its chunks.

    ``offsets`` and ``num_classes``: as given to :func:`encode_latent`.
    """
    if format_version == 1:
        number = int(decoder.decode(_FLAG_ROW, MODE_TABLES)[0]) if offsets else 0
    else:
        number = int(decoder.decode(_MODE_ROW, MODE_TABLES)[0])
        if number & 1 and not offsets:
            raise CorruptBitstreamError("coding mode sends table offsets for a latent that has none")
    shifts = decode_offsets(decoder, channels) if number & 1 else None
    return LatentCoder(CodingMode(shifts, adaptive=bool(number & 2)), tables, channels, num_classes)


def write_flags(encoder: SymbolEncoder, flags: np.ndarray) -> None:
    """Write booleans at one bit each (uniform): the syntax of small side information such as a channel mask."""
    flags = np.asarray(flags, dtype=np.int64)
    encoder.encode(flags, np.zeros(flags.shape, dtype=np.int32), MODE_TABLES)


def read_flags(decoder: SymbolDecoder, count: int) -> np.ndarray:
    """The ``count`` booleans :func:`write_flags` wrote."""
    return decoder.decode(np.zeros(count, dtype=np.int32), MODE_TABLES) != 0


def mode_bits(mode: CodingMode, chunks: Chunks, tables: CategoricalTables, classes: Classes = None) -> float:
    """The bits :func:`write_latent` spends on ``chunks`` in ``mode`` (the mode symbol aside), priced without coding.

    The symbols' ideal code lengths under the frequencies they would be coded
    with (:func:`~licodec.entropy.table_offsets.symbol_bits`,
    :func:`~licodec.entropy.adaptive.code_length_bits`) plus the offsets' 4 bits
    per channel: within a few bytes of the coded size, for a fraction of a coding.
    """
    indexes = [apply_offsets(i, mode.offsets, tables) for _, i in chunks]
    side = 0.0 if mode.offsets is None else offsets_bits(len(mode.offsets))
    if not mode.adaptive:
        return side + sum(float(symbol_bits(s, i, tables).sum()) for (s, _), i in zip(chunks, indexes))
    num_classes, per_chunk = _classes_of_chunks(classes, chunks)
    groups = [context_groups(i, c, num_classes) for i, c in zip(indexes, per_chunk)]
    return side + code_length_bits(tables, [(s, i, g) for (s, _), i, g in zip(chunks, indexes, groups)])


def _classes_of_chunks(classes: Classes, chunks: Chunks) -> tuple[int, list[np.ndarray | None]]:
    """``classes`` spelled out: without any, one class and every chunk's symbols in it."""
    return classes if classes is not None else (1, [None] * len(chunks))
