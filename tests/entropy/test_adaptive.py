import numpy as np
import pytest

from licodec.entropy.adaptive import AdaptiveContexts, code_length_bits
from licodec.entropy.coder import SymbolDecoder, SymbolEncoder, escape_bits
from licodec.entropy.tables import build_gaussian_tables

TABLES = build_gaussian_tables()


def chunks(true_shift: int, channels: int = 6, seed: int = 0):
    """Two chunks whose symbols are drawn ``true_shift`` table indexes narrower than their labels say."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(2):
        indexes = rng.integers(15, 35, size=(1, channels, 500)).astype(np.int32)
        symbols = np.round(rng.normal(0, 0.11 * 1.131 ** (indexes - true_shift))).astype(np.int32)
        out.append((symbols, indexes))
    return out


def channels(indexes: np.ndarray) -> np.ndarray:
    """Each symbol's channel: the context groups when channels are not split."""
    return np.broadcast_to(np.arange(indexes.shape[1])[None, :, None], indexes.shape)


def code(chunk_list, adaptive: bool) -> list[bytes]:
    encoder = SymbolEncoder()
    contexts = AdaptiveContexts(TABLES, chunk_list[0][0].shape[1])
    for symbols, indexes in chunk_list:
        contexts.encode(encoder, symbols, indexes, channels(indexes)) if adaptive else encoder.encode(symbols, indexes, TABLES)
    return encoder.finish()


def test_round_trip_is_exact_across_chunks_with_escapes():
    data = chunks(10)
    data[0][0][0, 2, :4] = [10**6, -(10**6), 2**31 - 1, 77]  # far outside any table: escapes
    data[1][0][0, 0, 7] = -12345
    decoder = SymbolDecoder(code(data, adaptive=True))
    contexts = AdaptiveContexts(TABLES, 6)
    for symbols, indexes in data:
        np.testing.assert_array_equal(contexts.decode(decoder, indexes, channels(indexes)), symbols)


def test_adaptive_coding_learns_a_systematically_wrong_table():
    data = chunks(12)
    adaptive, static = (sum(map(len, code(data, flag))) for flag in (True, False))
    assert adaptive < 0.8 * static


def test_a_symbol_is_coded_before_its_own_context_learns_from_it():
    """Stages by rank in the context: 0 | 1 | ... | 7 | 8-9 | 10-11 ..., counts carried from one chunk to the next."""
    contexts = AdaptiveContexts(TABLES, 1)
    indexes = np.full((1, 1, 5), 20, dtype=np.int32)
    stages = contexts._stages(np.zeros(5, dtype=np.int64), indexes.ravel().astype(np.int64))
    assert [list(s) for s in stages] == [[0], [1], [2], [3], [4]]
    contexts.encode(SymbolEncoder(), np.zeros_like(indexes), indexes, channels(indexes))
    stages = contexts._stages(np.zeros(5, dtype=np.int64), indexes.ravel().astype(np.int64))
    assert [list(s) for s in stages] == [[0], [1], [2], [3, 4]]  # ranks 5, 6, 7, then 8-9


class IdealLengthEncoder:
    """Stands in for :class:`SymbolEncoder`: adds up each symbol's ideal bits under the frequencies it is given."""

    bits = 0.0

    def encode(self, symbols, indexes, tables, rows):
        entries, escaped = tables.entries(symbols.ravel(), indexes.ravel())
        frequencies = rows(np.arange(entries.size), int(tables.lengths.max()) + 1)
        chosen = frequencies[np.arange(entries.size), entries]
        self.bits += float(np.sum(np.log2(frequencies.sum(1)) - np.log2(chosen)) + escape_bits(symbols.ravel()[escaped]).sum())


def test_code_length_is_what_the_contexts_would_spend_symbol_by_symbol():
    """Three chunks of unequal sizes (so stages straddle them), two groups per channel, escapes."""
    rng = np.random.default_rng(3)
    data = []
    for size in (7, 300, 41):
        indexes = rng.integers(15, 19, size=(1, 3, size)).astype(np.int32)
        symbols = np.round(rng.normal(0, 3, size=indexes.shape)).astype(np.int32)
        symbols[0, 1, :2] = [5000, -70000]
        groups = 2 * channels(indexes) + rng.integers(0, 2, size=indexes.shape)
        data.append((symbols, indexes, groups))
    reference, contexts = IdealLengthEncoder(), AdaptiveContexts(TABLES, 6)
    for symbols, indexes, groups in data:
        contexts.encode(reference, symbols, indexes, groups)
    assert code_length_bits(TABLES, data) == pytest.approx(reference.bits, rel=1e-9)
    coded = SymbolEncoder()
    contexts = AdaptiveContexts(TABLES, 6)
    for symbols, indexes, groups in data:
        contexts.encode(coded, symbols, indexes, groups)
    assert sum(map(len, coded.finish())) * 8 == pytest.approx(reference.bits, abs=64)
