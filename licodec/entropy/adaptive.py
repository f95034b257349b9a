"""Adaptive per-context coding: each image teaches the coder its own statistics, with no side information.

The hyperprior gives every symbol of y a table index (its predicted scale). For
some images -- flat graphics, text, screenshots -- the model's tables are wrong
in a consistent way within a *context*, a (group, table index) pair, where a
group is a channel or a part of one: say, nearly every symbol is 0 where the
table expects spread. Adaptive coding learns
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
Each stage is one vectorised call per width class of tables
(:mod:`licodec.entropy.coder`), and a context of 10,000 symbols takes 40 stages. Ranks follow the order the model codes the symbols in (chunk by chunk,
C order within a chunk). All of it is integer arithmetic, so encoder and decoder
agree bit for bit.

The two constants were chosen on the low-complexity set of
``benchmarks/local_models.py``: growth 5/4 against doubling or 11/10, weight 8 against
2 to 64, and updating after every symbol against stages (measured in docs/results.md,
"Measurements behind design choices").
"""

from __future__ import annotations

import numpy as np

from licodec.entropy.coder import RowsFunction, SymbolDecoder, SymbolEncoder, escape_bits, stable_argsort
from licodec.entropy.tables import PRECISION_BITS, CategoricalTables

PRIOR_WEIGHT = 8
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


def _stage(rank: np.ndarray) -> np.ndarray:
    """The stage of each rank: the number of stage starts at or below it."""
    return np.searchsorted(_STAGE_STARTS, rank, side="right")


def _frequency(prior: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``PRIOR_WEIGHT * prior + 2**PRECISION_BITS * counts`` in int64: an entry's frequency from its table's and its count.

    Given a whole row's sum (2**PRECISION_BITS) and its context's count, the row's total.
    """
    return PRIOR_WEIGHT * np.asarray(prior, dtype=np.int64) + (np.asarray(counts, dtype=np.int64) << PRECISION_BITS)


class AdaptiveContexts:
    """The running symbol counts of one tile's contexts. The encoder and the decoder each keep one.

    A context is a (group, table index) pair; the caller gives each symbol's group
    (:class:`licodec.entropy.latent_coding.LatentCoder`: its channel, or a part of
    it). Both sides call :meth:`encode` / :meth:`decode` once per chunk, in the
    same order, with the same table indexes and groups (same shape).
    """

    def __init__(self, tables: CategoricalTables, num_groups: int) -> None:
        self.tables = tables
        self._starts = np.concatenate([[0], np.cumsum(tables.lengths.astype(np.int64) + 1)])  # of each table's counts
        self._counts = np.zeros((num_groups, int(self._starts[-1])), dtype=np.int32)  # per group: every table's row
        self._seen = np.zeros((num_groups, tables.num_tables), dtype=np.int64)  # symbols coded per context

    def encode(self, encoder: SymbolEncoder, symbols: np.ndarray, indexes: np.ndarray, groups: np.ndarray) -> None:
        flat_groups, flat_indexes = _flat(groups), _flat(indexes)
        flat_symbols = np.ascontiguousarray(symbols, dtype=np.int64).ravel()
        for stage in self._stages(flat_groups, flat_indexes):
            encoder.encode(flat_symbols[stage], flat_indexes[stage], self.tables, self._rows(flat_groups[stage], flat_indexes[stage]))
            self._count(flat_groups[stage], flat_indexes[stage], flat_symbols[stage])

    def decode(self, decoder: SymbolDecoder, indexes: np.ndarray, groups: np.ndarray) -> np.ndarray:
        flat_groups, flat_indexes = _flat(groups), _flat(indexes)
        symbols = np.empty(flat_indexes.shape, dtype=np.int32)
        for stage in self._stages(flat_groups, flat_indexes):
            symbols[stage] = decoder.decode(flat_indexes[stage], self.tables, self._rows(flat_groups[stage], flat_indexes[stage]))
            self._count(flat_groups[stage], flat_indexes[stage], symbols[stage])
        return symbols.reshape(np.shape(indexes))

    def _stages(self, groups: np.ndarray, indexes: np.ndarray) -> list[np.ndarray]:
        """Positions of the chunk in each stage, stages ascending, positions in C order within one."""
        rank = self._seen[groups, indexes] + _ranks(groups * self.tables.num_tables + indexes)
        stage = _stage(rank)
        by_stage = stable_argsort(stage)
        bounds = np.flatnonzero(np.diff(stage[by_stage])) + 1
        return np.split(by_stage, bounds)

    def _rows(self, groups: np.ndarray, indexes: np.ndarray) -> RowsFunction:
        """The frequencies of the symbols of one stage, whose groups and table indexes are given."""

        def rows(positions: np.ndarray, width: int) -> np.ndarray:
            tables, entries = indexes[positions, None], np.arange(width)[None, :]
            inside = entries <= self.tables.lengths[tables]  # the table's entries and its escape
            columns = np.where(inside, self._starts[tables] + entries, 0)
            counts = self._counts[groups[positions, None], columns]
            prior = self.tables.frequencies[tables, np.minimum(entries, self.tables.frequencies.shape[1] - 1)]
            return np.where(inside, _frequency(prior, counts), 0).astype(np.float64)

        return rows

    def _count(self, groups: np.ndarray, indexes: np.ndarray, symbols: np.ndarray) -> None:
        entry, _ = self.tables.entries(symbols, indexes)  # out of range: the escape entry
        np.add.at(self._counts, (groups, self._starts[indexes] + entry), 1)
        np.add.at(self._seen, (groups, indexes), 1)


def code_length_bits(tables: CategoricalTables, chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> float:
    """What fresh contexts would spend coding ``chunks`` -- (symbols, indexes, groups), in coding order -- in bits.

    The ideal code length of exactly the frequencies :class:`AdaptiveContexts`
    would code each symbol under, plus escaped values' varints, computed in
    a few sorts instead of coding: the mode choice
    (:mod:`licodec.entropy.latent_coding`) prices every mode this way and codes
    only the one it picks. A symbol sees the counts of its context's symbols
    ranked before its stage's start, and all of those in earlier chunks.
    """
    symbols = np.concatenate([np.ravel(s) for s, _, _ in chunks]).astype(np.int64)
    indexes = np.concatenate([_flat(i) for _, i, _ in chunks])
    contexts = np.concatenate([_flat(g) for _, _, g in chunks]) * tables.num_tables + indexes
    chunk_of = np.repeat(np.arange(len(chunks)), [np.size(s) for s, _, _ in chunks])
    rank = _ranks(contexts)
    chunk_start_rank = rank - _ranks(chunk_of * (int(contexts.max(initial=0)) + 1) + contexts)
    stage_start = np.concatenate([[0], _STAGE_STARTS])[_stage(rank)]
    seen = np.maximum(stage_start, chunk_start_rank)  # the context's symbols counted when this one is coded
    entries, escaped = tables.entries(symbols, indexes)
    # Per symbol: how many of its context's symbols ranked below ``seen`` had its entry.
    keys = contexts * tables.frequencies.shape[1] + entries
    order = stable_argsort(keys)  # by key, then rank (coding order)
    span = len(keys) + 1
    sorted_keys = keys[order] * span + rank[order]
    key_start = np.searchsorted(sorted_keys, keys * span, side="left")
    count = np.searchsorted(sorted_keys, keys * span + seen, side="left") - key_start
    frequency = _frequency(tables.frequencies[indexes, entries], count)
    total = _frequency(1 << PRECISION_BITS, seen)
    bits = np.log2(total.astype(np.float64)) - np.log2(frequency.astype(np.float64))
    return float(bits.sum() + escape_bits(symbols[escaped]).sum())


def _ranks(keys: np.ndarray) -> np.ndarray:
    """Each element's rank among the elements with its key, in array order."""
    order = stable_argsort(keys)
    ordered = keys[order]
    run_starts = np.flatnonzero(np.diff(ordered, prepend=ordered[:1] - 1))
    rank = np.empty(len(keys), dtype=np.int64)
    rank[order] = np.arange(len(keys)) - np.repeat(run_starts, np.diff(np.append(run_starts, len(keys))))
    return rank


def _flat(array: np.ndarray) -> np.ndarray:
    return np.asarray(array).ravel().astype(np.int64)
