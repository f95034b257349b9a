import numpy as np
import pytest

from licodec.entropy.coder import SymbolDecoder, SymbolEncoder
from licodec.entropy.latent_coding import MODE_TABLES, PLAIN, CodingMode, LatentCoder, choose_mode, encode_latent, mode_bits, read_mode, write_latent
from licodec.entropy.table_offsets import encode_offsets
from licodec.entropy.tables import build_gaussian_tables
from licodec.errors import CorruptBitstreamError
from tests.entropy.test_adaptive import chunks

TABLES = build_gaussian_tables()
OFFSETS = np.array([3, -1, 0, 7, -8, 2], dtype=np.int32)


def coded_bytes(mode: CodingMode, data) -> int:
    encoder = SymbolEncoder()
    write_latent(encoder, data, TABLES, mode)
    return sum(map(len, encoder.finish()))


@pytest.mark.parametrize("mode", [PLAIN, CodingMode(OFFSETS), CodingMode(adaptive=True), CodingMode(OFFSETS, adaptive=True)])
def test_every_mode_round_trips(mode):
    data = chunks(5)
    encoder = SymbolEncoder()
    write_latent(encoder, data, TABLES, mode)
    decoder = SymbolDecoder(encoder.finish())
    coder = read_mode(decoder, TABLES, channels=6, format_version=2)
    assert coder.mode.number == mode.number
    if mode.offsets is not None:
        np.testing.assert_array_equal(coder.mode.offsets, OFFSETS)
    for symbols, indexes in data:
        np.testing.assert_array_equal(coder.decode(decoder, indexes), symbols)


def test_the_chosen_mode_is_the_cheapest_and_adapts_only_when_it_pays():
    right, wrong = chunks(0), chunks(12)
    assert choose_mode(right, TABLES).number == 0  # the tables fit: nothing to learn, nothing to send
    chosen = choose_mode(wrong, TABLES)
    assert chosen.adaptive
    all_modes = [PLAIN, CodingMode(adaptive=True), CodingMode(chosen.offsets), chosen]
    assert coded_bytes(chosen, wrong) == min(coded_bytes(mode, wrong) for mode in all_modes)
    assert coded_bytes(chosen, wrong) < 0.8 * coded_bytes(PLAIN, wrong)


def test_an_encoder_without_local_models_codes_plainly_even_where_they_would_pay():
    wrong = chunks(12)
    assert choose_mode(wrong, TABLES).adaptive
    encoder = SymbolEncoder()
    assert encode_latent(encoder, wrong, TABLES, local_models=False) is PLAIN
    decoder = SymbolDecoder(encoder.finish())
    assert read_mode(decoder, TABLES, channels=6, format_version=2).mode.number == 0


@pytest.mark.parametrize("mode", [PLAIN, CodingMode(OFFSETS), CodingMode(adaptive=True), CodingMode(OFFSETS, adaptive=True)])
def test_a_mode_is_priced_within_a_few_bytes_of_its_coded_size(mode):
    """The choice prices modes without coding them; the range coder's flush and rounding are all it leaves out."""
    data = chunks(12)
    data[1][0][0, 3, :3] = [900, -4000, 2**20]  # escapes
    classes = (2, [None, np.ones_like(data[1][1])])
    encoder = SymbolEncoder()
    write_latent(encoder, data, TABLES, mode, classes)
    coded = sum(map(len, encoder.finish()))
    assert abs(coded - mode_bits(mode, data, TABLES, classes) / 8) <= 12


def test_format_version_1_reads_a_binary_offsets_flag():
    """Version 1 wrote a uniform binary flag, the offsets if it was set, then static chunks."""
    data = chunks(5)
    for flag, mode in ((0, PLAIN), (1, CodingMode(OFFSETS))):
        encoder = SymbolEncoder()
        encoder.encode(np.array([flag]), np.zeros(1, dtype=np.int32), MODE_TABLES)
        if flag:
            encode_offsets(encoder, OFFSETS)
        writer = LatentCoder(mode, TABLES, 6)
        for symbols, indexes in data:
            writer.encode(encoder, symbols, indexes)
        decoder = SymbolDecoder(encoder.finish())
        coder = read_mode(decoder, TABLES, channels=6, format_version=1)
        assert coder.mode.number == flag
        for symbols, indexes in data:
            np.testing.assert_array_equal(coder.decode(decoder, indexes), symbols)


def test_a_latent_without_offsets_never_chooses_them_and_refuses_them_when_read():
    data = chunks(12)
    encoder = SymbolEncoder()
    mode = encode_latent(encoder, data, TABLES, local_models=True, offsets=False)
    assert mode.offsets is None and mode.adaptive
    decoder = SymbolDecoder(encoder.finish())
    coder = read_mode(decoder, TABLES, channels=6, format_version=2, offsets=False)
    for symbols, indexes in data:
        np.testing.assert_array_equal(coder.decode(decoder, indexes), symbols)
    encoder = SymbolEncoder()
    write_latent(encoder, data, TABLES, CodingMode(OFFSETS))
    with pytest.raises(CorruptBitstreamError, match="offsets"):
        read_mode(SymbolDecoder(encoder.finish()), TABLES, channels=6, format_version=2, offsets=False)


def test_format_version_1_has_no_mode_for_a_latent_without_offsets():
    data = chunks(5)
    encoder = SymbolEncoder()
    for symbols, indexes in data:
        encoder.encode(symbols, indexes, TABLES)
    decoder = SymbolDecoder(encoder.finish())
    coder = read_mode(decoder, TABLES, channels=6, format_version=1, offsets=False)
    assert coder.mode.number == 0
    for symbols, indexes in data:
        np.testing.assert_array_equal(coder.decode(decoder, indexes), symbols)
