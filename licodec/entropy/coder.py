"""The binding to constriction's range coder, with escape coding for rare symbols.

Symbols are coded in *chunks*: each call to :meth:`SymbolEncoder.encode` codes a
set of symbols, each with the index of its table; the decoder makes the same
calls with the same indexes, in the same order. Within a chunk, symbols are
grouped by table so that constriction codes each group in one vectorised call.
A chunk may instead give each symbol its own frequency row (``rows``): then
symbols are grouped by *width class* (their table's length rounded up to a power
of two, rows zero-padded to it), so tables of similar length share one call.
That is how adaptive coding (:mod:`licodec.entropy.adaptive`) runs.

A symbol outside its table's range is coded as the table's escape entry, and its
value goes to a second byte stream as a zig-zag varint: nothing is ever clipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import constriction
import numpy as np

from licodec.entropy.tables import CategoricalTables
from licodec.errors import CorruptBitstreamError

RowsFunction = Callable[[np.ndarray, int], np.ndarray]
"""``rows(positions, width)``: the (len(positions), width) frequencies of the symbols at ``positions``
of the chunk (integer-valued float64, any positive total), each over its table's entries and escape,
zero beyond them."""
ROWS_PER_CALL_ENTRIES = 1 << 22
"""At most this many frequencies are built per constriction call (32 MiB), whatever the tables' width."""


class SymbolEncoder:
    """Codes chunks of symbols into a range-coded stream and an escape stream."""

    def __init__(self) -> None:
        self._coder = constriction.stream.queue.RangeEncoder()
        self._family = constriction.stream.model.Categorical(perfect=False)
        self._escapes = bytearray()

    def encode(self, symbols: np.ndarray, indexes: np.ndarray, tables: CategoricalTables, rows: RowsFunction | None = None) -> None:
        """Code int32 ``symbols`` under ``tables`` row ``indexes`` (same shape, flattened in C order).

        With ``rows``, each symbol is coded under the frequencies it returns instead;
        ``tables`` still gives each symbol's range and escape entry.
        """
        symbols = np.ascontiguousarray(symbols, dtype=np.int64).ravel()
        indexes = np.ascontiguousarray(indexes, dtype=np.int32).ravel()
        if symbols.shape != indexes.shape:
            raise ValueError("symbols and indexes must have the same shape")
        entries, escaped = tables.entries(symbols, indexes)
        relative = entries.astype(np.int32)
        if rows is None:
            for index, positions in _groups(indexes):
                self._coder.encode(relative[positions], tables.model(index))
        else:
            for width, positions in _width_groups(tables.lengths[indexes]):
                for block in _blocks(positions, width):
                    self._coder.encode(relative[block], self._family, rows(block, width))
        for value in _zigzag(symbols[escaped]):
            _write_varint(self._escapes, int(value))

    def finish(self) -> list[bytes]:
        """The two streams: range-coded words (uint32 little-endian) and escaped values."""
        words = self._coder.get_compressed().astype("<u4")
        return [words.tobytes(), bytes(self._escapes)]


class SymbolDecoder:
    """Decodes what :class:`SymbolEncoder` coded, given the same chunks' indexes in the same order."""

    def __init__(self, streams: list[bytes]) -> None:
        coded, escapes = streams
        if len(coded) % 4:
            raise CorruptBitstreamError("entropy-coded stream is not a whole number of 32-bit words")
        words = np.frombuffer(coded, dtype="<u4").astype(np.uint32)
        self._coder = constriction.stream.queue.RangeDecoder(words)
        self._family = constriction.stream.model.Categorical(perfect=False)
        self._escapes = memoryview(escapes)
        self._escape_pos = 0

    def decode(self, indexes: np.ndarray, tables: CategoricalTables, rows: RowsFunction | None = None) -> np.ndarray:
        """Decode one chunk coded with the same ``indexes`` (and ``rows``); returns int32 of their shape."""
        shape = np.shape(indexes)
        indexes = np.ascontiguousarray(indexes, dtype=np.int32).ravel()
        relative = np.empty(indexes.shape, dtype=np.int64)
        try:
            if rows is None:
                for index, positions in _groups(indexes):
                    relative[positions] = self._coder.decode(tables.model(index), len(positions))
            else:
                for width, positions in _width_groups(tables.lengths[indexes]):
                    for block in _blocks(positions, width):
                        relative[block] = self._coder.decode(self._family, rows(block, width))
        except (ValueError, RuntimeError, AssertionError, OverflowError) as exc:
            raise CorruptBitstreamError(f"entropy-coded data is invalid ({exc})") from exc
        lengths = tables.lengths[indexes]
        if np.any(relative > lengths):
            raise CorruptBitstreamError("entropy-coded data decodes to a padding entry")
        symbols = relative + tables.offsets[indexes]
        for position in np.flatnonzero(relative == lengths):
            symbols[position] = _unzigzag(self._read_varint())
        if np.any(np.abs(symbols) > np.iinfo(np.int32).max):
            raise CorruptBitstreamError("escaped symbol out of range")
        return symbols.astype(np.int32).reshape(shape)

    def _read_varint(self) -> int:
        value, shift = 0, 0
        while True:
            if self._escape_pos >= len(self._escapes) or shift > 35:
                raise CorruptBitstreamError("escape stream ends early or holds an invalid number")
            byte = self._escapes[self._escape_pos]
            self._escape_pos += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value


def _groups(indexes: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """(table index, its positions in C order) for each table present, ascending: the order both sides code them in.

    One stable sort instead of a comparison of the whole chunk per table.
    """
    order = stable_argsort(indexes)
    ordered = indexes[order]
    starts = np.flatnonzero(np.diff(ordered, prepend=ordered[:1] - 1))
    for start, end in zip(starts, np.append(starts[1:], len(order))):
        yield int(ordered[start]), order[start:end]


def stable_argsort(keys: np.ndarray) -> np.ndarray:
    """``np.argsort(keys, kind="stable")`` of an integer array, the same permutation, faster when the keys span < 2**16.

    NumPy radix-sorts 16-bit keys (linear time) and merge-sorts wider ones; table
    indexes, stages and context numbers span a few thousand values. Shifting by the
    minimum keeps the order, and a stable sort's permutation depends on the order alone.
    """
    keys = np.asarray(keys)
    if keys.size and keys.dtype.kind in "iu":
        low, high = int(keys.min()), int(keys.max())
        if high - low < 1 << 16:
            keys = (keys - low).astype(np.uint16) if low else keys.astype(np.uint16)
    return np.argsort(keys, kind="stable")


_POWERS_OF_TWO = 1 << np.arange(40, dtype=np.int64)


def _width_groups(lengths: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """(row width, positions in C order) per width class, ascending: a row of a table of length L has 2**ceil(log2(L + 1)) entries."""
    bit_lengths = np.searchsorted(_POWERS_OF_TWO, lengths, side="right")  # of L, in integers: 2**it >= L + 1
    for bits, positions in _groups(bit_lengths):
        yield 1 << bits, positions


def _blocks(positions: np.ndarray, width: int) -> list[np.ndarray]:
    """``positions`` cut into consecutive runs of at most ROWS_PER_CALL_ENTRIES // width."""
    size = max(1, ROWS_PER_CALL_ENTRIES // width)
    return [positions[start : start + size] for start in range(0, len(positions), size)]


def escape_bits(symbols: np.ndarray) -> np.ndarray:
    """Bits each symbol's value would take in the escape stream (its zig-zag varint), same shape."""
    zigzag = _zigzag(symbols)
    return 8.0 * (1 + sum((zigzag >> 7 * k) > 0 for k in range(1, 10)))


def _zigzag(values: np.ndarray) -> np.ndarray:
    """Signed to unsigned, small magnitudes first (0, -1, 1, -2, ... -> 0, 1, 2, 3, ...), as int64."""
    values = np.asarray(values, dtype=np.int64)
    return np.where(values >= 0, 2 * values, -2 * values - 1)


def _unzigzag(value: int) -> int:
    return value // 2 if value % 2 == 0 else -(value + 1) // 2


def _write_varint(out: bytearray, value: int) -> None:
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
