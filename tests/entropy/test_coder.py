import numpy as np
import pytest

from licodec.entropy.coder import SymbolDecoder, SymbolEncoder, escape_bits, stable_argsort
from licodec.entropy.tables import build_gaussian_tables
from licodec.errors import CorruptBitstreamError

TABLES = build_gaussian_tables()


def ideal_bits(symbols, indexes):
    relative = symbols - TABLES.offsets[indexes]
    freqs = TABLES.frequencies[indexes, relative]
    return float(-np.log2(freqs / 2**16).sum())


def test_chunks_round_trip_exactly():
    rng = np.random.default_rng(0)
    encoder = SymbolEncoder()
    chunks = []
    for _ in range(3):
        indexes = rng.integers(0, TABLES.num_tables, size=(4, 9, 9)).astype(np.int32)
        symbols = np.round(rng.normal(0, 0.11 * 1.13**indexes)).astype(np.int32)
        encoder.encode(symbols, indexes, TABLES)
        chunks.append((symbols, indexes))
    decoder = SymbolDecoder(encoder.finish())
    for symbols, indexes in chunks:
        np.testing.assert_array_equal(decoder.decode(indexes, TABLES), symbols)


def test_out_of_range_symbols_are_escaped_not_clipped():
    symbols = np.array([0, 10**6, -(10**7), 3, 2**31 - 1], dtype=np.int64)
    indexes = np.zeros(5, dtype=np.int32)  # the narrowest table
    encoder = SymbolEncoder()
    encoder.encode(symbols, indexes, TABLES)
    coded, escapes = encoder.finish()
    assert len(escapes) > 0
    np.testing.assert_array_equal(SymbolDecoder([coded, escapes]).decode(indexes, TABLES), symbols)


def test_escape_bits_are_the_escape_stream_bytes():
    values = np.array([200, -200, 8191, 8192, -8193, 10**6, 2**31 - 1, -(2**31)], dtype=np.int64)
    for value, bits in zip(values, escape_bits(values)):
        encoder = SymbolEncoder()
        encoder.encode(np.array([value]), np.zeros(1, dtype=np.int32), TABLES)  # far outside the narrowest table
        assert bits == 8 * len(encoder.finish()[1])


def test_coded_size_is_within_one_percent_of_the_table_entropy():
    rng = np.random.default_rng(1)
    indexes = rng.integers(10, 40, size=200_000).astype(np.int32)
    symbols = np.round(rng.normal(0, 0.11 * 1.131**indexes)).astype(np.int32)
    encoder = SymbolEncoder()
    encoder.encode(symbols, indexes, TABLES)
    coded, _ = encoder.finish()
    assert len(coded) * 8 == pytest.approx(ideal_bits(symbols, indexes), rel=0.01)


def test_missing_escape_data_raises_corrupt_bitstream():
    encoder = SymbolEncoder()
    encoder.encode(np.array([10**6]), np.array([0], dtype=np.int32), TABLES)
    coded, _ = encoder.finish()
    with pytest.raises(CorruptBitstreamError):
        SymbolDecoder([coded, b""]).decode(np.array([0], dtype=np.int32), TABLES)


def test_partial_word_stream_raises_corrupt_bitstream():
    with pytest.raises(CorruptBitstreamError):
        SymbolDecoder([b"abc", b""])


def test_per_symbol_rows_round_trip_across_width_classes():
    """``rows`` replace the tables' frequencies; tables of different lengths share zero-padded rows."""
    rng = np.random.default_rng(2)
    indexes = rng.integers(0, TABLES.num_tables, size=300).astype(np.int32)
    symbols = np.round(rng.normal(0, 0.11 * 1.13**indexes)).astype(np.int32)
    symbols[:3] = 10**5  # escapes

    def rows(positions, width):
        lengths = TABLES.lengths[indexes[positions]]
        entries = np.arange(width)[None, :]
        return np.where(entries <= lengths[:, None], 1.0 + entries, 0.0)  # a ramp: unlike any table

    widths = []
    encoder = SymbolEncoder()
    encoder.encode(symbols, indexes, TABLES, lambda p, w: widths.append(w) or rows(p, w))
    decoder = SymbolDecoder(encoder.finish())
    np.testing.assert_array_equal(decoder.decode(indexes, TABLES, rows), symbols)
    assert widths == sorted(set(widths)) and all(w & (w - 1) == 0 for w in widths)


@pytest.mark.parametrize(
    "low, high, dtype",
    [(0, 64, np.int32), (-5000, 5000, np.int64), (70_000, 70_040, np.int64), (0, 1 << 20, np.int64), (0, 200, np.uint8)],
)
def test_stable_argsort_is_numpys_stable_permutation(low, high, dtype):
    # Narrow and wide key ranges, negative and offset keys: the coding order both sides agree on must not move.
    keys = np.random.default_rng(low & 0xFF).integers(low, high, 5000).astype(dtype)
    np.testing.assert_array_equal(stable_argsort(keys), np.argsort(keys, kind="stable"))
    assert stable_argsort(np.array([], dtype=np.int32)).size == 0
