"""Adaptive per-context coding: each image teaches the coder its own statistics, with no side information.

The hyperprior gives every symbol of y a table index (its predicted scale). For
some images -- flat graphics, text, screenshots -- the model's tables are wrong
in a consistent way within a *context*, a (channel, table index) pair: say,
nearly every symbol is 0 where the table expects spread. Adaptive coding learns
each context's distribution while coding it. A symbol is coded under the
frequencies

    PRIOR_WEIGHT * f_table(s) + 2**PRECISION_BITS * count(s)

where ``f_table`` is its table's row (summing to 2**PRECISION_BITS) and
``count`` counts the symbols of the same context coded before it. The decoder
sees the same symbols, so it keeps the same counts. It is a Dirichlet prior of
weight PRIOR_WEIGHT centred on the model's own table.

Counts are not updated after every symbol. That would make the decoder one
serial step per symbol. Instead, a context's symbols go in *stages* by their rank
in the context: ranks 0, 1, ..., 7 one by one, then 8-9, 10-11, 12-14, 15-17, ...,
each stage about a quarter longer than the one before. Counts are updated between stages.
Each stage is one vectorised call per table, and a tile needs at most about 60
stages. Ranks follow the order the model codes the symbols in (chunk by chunk,
C order within a chunk). All of it is integer arithmetic, so encoder and decoder
agree bit for bit.

The two constants were chosen on the low-complexity set of
``benchmarks/table_offsets.py``: weight 16 and growth 5/4 beat weights 1-8 and
32, and doubling stages, by 1-8 points of y's size; growth 11/10 gains about one
point more for twice the stages.
"""

from __future__ import annotations

import numpy as np

from licodec.entropy.coder import RowsFunction, SymbolDecoder, SymbolEncoder
from licodec.entropy.tables import PRECISION_BITS, CategoricalTables

PRIOR_WEIGHT = 16
"""Weight of the model's table against one observed symbol. Part of the format."""


def stage_starts(limit: int = 1 << 40) -> np.ndarray:
    """First rank of every stage after the first: 1, 2, ..., 8, 10, 12, 15, ... (next = max(start + 1, start * 5 // 4)).

    Part of the format. A symbol's stage is the number of starts at or below its rank.
    """
    starts = [1]
    while starts[-1] < limit:
        starts.append(max(starts[-1] + 1, starts[-1] * 5 // 4))
    return np.array(starts, dtype=np.int64)


_STAGE_STARTS = stage_starts()


class AdaptiveContexts:
    """The running symbol counts of one tile's contexts. The encoder and the decoder each keep one.

    Both call :meth:`encode` / :meth:`decode` once per chunk, in the same order,
    with the same (1, M, ...) table indexes.
    """

    def __init__(self, tables: CategoricalTables, channels: int) -> None:
        self.tables = tables
        self._starts = np.concatenate([[0], np.cumsum(tables.lengths.astype(np.int64) + 1)])  # of each table's counts
        self._counts = np.zeros((channels, int(self._starts[-1])), dtype=np.int32)  # per channel: every table's row
        self._seen = np.zeros((channels, tables.num_tables), dtype=np.int64)  # symbols coded per context

    def encode(self, encoder: SymbolEncoder, symbols: np.ndarray, indexes: np.ndarray) -> None:
        channels, flat_indexes = _channels_and_indexes(indexes)
        flat_symbols = np.ascontiguousarray(symbols, dtype=np.int64).ravel()
        for stage in self._stages(channels, flat_indexes):
            encoder.encode(flat_symbols[stage], flat_indexes[stage], self.tables, self._rows(channels[stage]))
            self._count(channels[stage], flat_indexes[stage], flat_symbols[stage])

    def decode(self, decoder: SymbolDecoder, indexes: np.ndarray) -> np.ndarray:
        channels, flat_indexes = _channels_and_indexes(indexes)
        symbols = np.empty(flat_indexes.shape, dtype=np.int32)
        for stage in self._stages(channels, flat_indexes):
            symbols[stage] = decoder.decode(flat_indexes[stage], self.tables, self._rows(channels[stage]))
            self._count(channels[stage], flat_indexes[stage], symbols[stage])
        return symbols.reshape(np.shape(indexes))

    def _stages(self, channels: np.ndarray, indexes: np.ndarray) -> list[np.ndarray]:
        """Positions of the chunk in each stage, stages ascending, positions in C order within one."""
        contexts = channels * self.tables.num_tables + indexes
        order = np.argsort(contexts, kind="stable")
        ordered = contexts[order]
        run_starts = np.flatnonzero(np.diff(ordered, prepend=ordered[:1] - 1))
        run_lengths = np.diff(np.append(run_starts, len(ordered)))
        local_rank = np.empty(len(order), dtype=np.int64)
        local_rank[order] = np.arange(len(order)) - np.repeat(run_starts, run_lengths)
        rank = self._seen[channels, indexes] + local_rank
        stage = np.searchsorted(_STAGE_STARTS, rank, side="right")
        by_stage = np.argsort(stage, kind="stable")
        bounds = np.flatnonzero(np.diff(stage[by_stage])) + 1
        return np.split(by_stage, bounds)

    def _rows(self, channels: np.ndarray) -> RowsFunction:
        """The frequencies of the symbols of one stage, whose channels are ``channels``."""

        def rows(index: int, positions: np.ndarray) -> np.ndarray:
            start, width = int(self._starts[index]), int(self.tables.lengths[index]) + 1
            counts = self._counts[channels[positions], start : start + width].astype(np.int64)
            prior = PRIOR_WEIGHT * self.tables.frequencies[index, :width].astype(np.int64)
            return (prior + (counts << PRECISION_BITS)).astype(np.float64)

        return rows

    def _count(self, channels: np.ndarray, indexes: np.ndarray, symbols: np.ndarray) -> None:
        relative = symbols.astype(np.int64) - self.tables.offsets[indexes]
        lengths = self.tables.lengths[indexes]
        entry = np.where((relative >= 0) & (relative < lengths), relative, lengths)  # out of range: the escape
        np.add.at(self._counts, (channels, self._starts[indexes] + entry), 1)
        np.add.at(self._seen, (channels, indexes), 1)


def _channels_and_indexes(indexes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat (C order) channel numbers and table indexes of a (1, M, ...) chunk."""
    indexes = np.asarray(indexes)
    channels = np.broadcast_to(np.arange(indexes.shape[1]).reshape((1, -1) + (1,) * (indexes.ndim - 2)), indexes.shape)
    return channels.ravel().astype(np.int64), indexes.ravel().astype(np.int64)
