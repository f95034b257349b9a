import numpy as np

from licodec.entropy.coder import SymbolDecoder, SymbolEncoder
from licodec.entropy.table_offsets import apply_offsets, choose_offsets, decode_offsets, encode_offsets, symbol_bits
from licodec.entropy.tables import build_gaussian_tables

TABLES = build_gaussian_tables()


def chunk(scale_index: int, true_index: int, seed: int = 0):
    """Symbols drawn at ``true_index``'s scale, but labelled with ``scale_index``."""
    rng = np.random.default_rng(seed)
    symbols = np.round(rng.normal(0, 0.11 * 1.131**true_index, size=(1, 4, 300))).astype(np.int32)
    return symbols, np.full(symbols.shape, scale_index, dtype=np.int32)


def test_offsets_correct_a_systematically_wrong_scale():
    offsets = choose_offsets([chunk(20, 26)], TABLES)
    assert offsets is not None and np.all(np.abs(offsets - 6) <= 1)


def test_no_offsets_when_the_model_is_right():
    assert choose_offsets([chunk(20, 20)], TABLES) is None


def test_chosen_offsets_never_cost_more_than_none():
    symbols, indexes = chunk(10, 30)
    offsets = choose_offsets([(symbols, indexes)], TABLES)
    adjusted = symbol_bits(symbols, apply_offsets(indexes, offsets, TABLES), TABLES).sum() + 4 * 4
    assert adjusted < symbol_bits(symbols, indexes, TABLES).sum()


def test_offsets_minimise_each_channels_cost():
    symbols, indexes = chunk(10, 30, seed=1)
    indexes = indexes + np.arange(4).reshape(1, 4, 1)  # channels wrong by different amounts
    offsets = choose_offsets([(symbols, indexes)], TABLES)
    costs = np.stack([symbol_bits(symbols, np.clip(indexes + d, 0, 63), TABLES).sum(axis=(0, 2)) for d in range(-8, 8)])
    np.testing.assert_array_equal(offsets, costs.argmin(axis=0) - 8)


def test_offsets_round_trip_through_the_coder():
    offsets = np.array([-8, 0, 3, 7], dtype=np.int32)
    encoder = SymbolEncoder()
    encode_offsets(encoder, offsets)
    np.testing.assert_array_equal(decode_offsets(SymbolDecoder(encoder.finish()), 4), offsets)


def test_shifted_indexes_stay_in_the_table():
    indexes = np.array([[[0, 63]], [[5, 60]]]).reshape(1, 2, 2)
    shifted = apply_offsets(indexes, np.array([-8, 7]), TABLES)
    assert shifted.min() >= 0 and shifted.max() <= 63
