import contextlib
import struct
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from licodec.bitstream import FORMAT_VERSION, MAGIC, OLDEST_VERSION, Header, LicFile, pack, read_header, tile_count, tile_grid, unpack
from licodec.errors import CorruptBitstreamError, UnsupportedFormatVersionError

HEADER = Header("licodec-mse", b"\x01" * 8, 75.0, 768, 512, "RGB", 8, 0)


def sample_file() -> bytes:
    return pack(HEADER, (b"abc", b"", b"\x00" * 17))


def test_round_trip_preserves_header_and_streams():
    assert unpack(sample_file()) == (HEADER, (b"abc", b"", b"\x00" * 17))


def test_file_starts_with_magic_and_version():
    data = sample_file()
    assert data.startswith(MAGIC)
    assert data[len(MAGIC)] == FORMAT_VERSION


@pytest.mark.parametrize("cut", range(0, 100, 10))
def test_truncated_file_raises_corrupt_bitstream(cut):
    data = sample_file()
    with pytest.raises(CorruptBitstreamError):
        unpack(data[: len(data) * cut // 100])


def test_every_single_byte_flip_is_detected():
    data = sample_file()
    for i in range(len(data)):
        damaged = bytearray(data)
        damaged[i] ^= 0x5A
        with pytest.raises((CorruptBitstreamError, UnsupportedFormatVersionError)):
            unpack(bytes(damaged))


def test_newer_format_version_is_refused_with_upgrade_hint():
    data = bytearray(sample_file())
    data[len(MAGIC)] = FORMAT_VERSION + 1
    with pytest.raises(UnsupportedFormatVersionError, match="upgrade"):
        unpack(bytes(data))


def test_older_format_versions_are_read_and_reported():
    """A reader decodes every version from OLDEST_VERSION; the header says which one a file uses."""
    old = Header("licodec-mse", b"\x01" * 8, 75.0, 768, 512, format_version=OLDEST_VERSION)
    data = pack(old, (b"abc",))
    assert data[len(MAGIC)] == OLDEST_VERSION
    assert unpack(data)[0].format_version == OLDEST_VERSION
    assert unpack(sample_file())[0].format_version == FORMAT_VERSION


def test_version_zero_is_corruption():
    data = bytearray(sample_file())
    data[len(MAGIC)] = 0
    with pytest.raises(CorruptBitstreamError, match="version"):
        unpack(bytes(data))


def test_png_bytes_are_not_a_lic_file():
    png_magic = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
    with pytest.raises(CorruptBitstreamError, match="magic"):
        unpack(png_magic)


def test_extra_trailing_bytes_are_refused():
    with pytest.raises(CorruptBitstreamError):
        unpack(sample_file() + b"\x00")


def test_stream_table_larger_than_file_is_refused_even_with_valid_crc():
    body = MAGIC + bytes([FORMAT_VERSION, 3]) + b"abc" + struct.pack("<8sHIIBBHHBH", b"\0" * 8, 100, 1, 1, 0, 8, 0, 0, 0, 1)
    body += struct.pack("<I", 2**31)
    with pytest.raises(CorruptBitstreamError):
        unpack(body + struct.pack("<I", zlib.crc32(body)))


def test_read_header_needs_only_the_header():
    data = sample_file()
    assert read_header(data[:60]) == HEADER


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_never_crash_the_reader(data):
    for candidate in (data, MAGIC + data, MAGIC + bytes([FORMAT_VERSION]) + data):
        with contextlib.suppress(CorruptBitstreamError, UnsupportedFormatVersionError):
            unpack(candidate)


headers = st.builds(
    Header,
    model_name=st.from_regex(r"[a-z0-9][a-z0-9.-]{0,20}", fullmatch=True),
    weights_hash=st.binary(min_size=8, max_size=8),
    quality=st.integers(100, 10000).map(lambda v: v / 100),
    width_px=st.integers(1, 70000),
    height_px=st.integers(1, 50000),
    colour_mode=st.sampled_from(["RGB", "L", "RGBA", "LA"]),
    bit_depth=st.sampled_from([8, 16]),
    tile_px=st.sampled_from([0, 64, 1024]),
    roi_quality=st.sampled_from([0.0, 1.0, 55.5, 100.0]),
    flags=st.sampled_from([0, 1]),
)


@settings(max_examples=200, deadline=None)
@given(headers, st.lists(st.binary(max_size=50), max_size=6))
def test_any_valid_file_round_trips(header, streams):
    assert unpack(pack(header, tuple(streams))) == (header, tuple(streams))


def test_invalid_header_values_are_rejected_at_construction():
    with pytest.raises(ValueError):
        Header("Bad Name", b"\0" * 8, 75, 1, 1)
    with pytest.raises(ValueError):
        Header("ok", b"\0" * 8, 0.5, 1, 1)
    with pytest.raises(ValueError):
        Header("ok", b"\0" * 8, 75, 0, 1)


@pytest.mark.parametrize("data", ["file.lic", None])
def test_anything_but_bytes_is_a_type_error_naming_it(data):
    with pytest.raises(TypeError, match=f"not {type(data).__name__}"):
        unpack(data)


def test_streams_take_their_roles_in_file_order():
    """Tiles in raster order, then alpha, ROI cells and decoder updates, each where the header says so."""
    header = Header("licodec-mse", b"\x01" * 8, 75.0, 2000, 1500, "RGBA", 8, 1024, roi_quality=90.0, flags=1)
    tiles = tuple((f"t{i}".encode(), f"e{i}".encode()) for i in range(4))
    lic = LicFile(header, tiles, alpha=b"alpha", roi=b"roi", decoder_updates=b"updates")
    assert unpack(lic.to_bytes())[1] == (b"t0", b"e0", b"t1", b"e1", b"t2", b"e2", b"t3", b"e3", b"alpha", b"roi", b"updates")
    assert LicFile.from_bytes(lic.to_bytes()) == lic


def test_a_stream_count_the_header_does_not_describe_is_corruption():
    with pytest.raises(CorruptBitstreamError, match="3 streams where 2 were expected"):
        LicFile.from_bytes(sample_file())
    with pytest.raises(ValueError, match="alpha"):
        LicFile(HEADER, ((b"", b""),), alpha=b"not in the header")


@pytest.mark.parametrize("height, width, tile_px", [(1, 1, 0), (5000, 300, 0), (1024, 1024, 1024), (1025, 2049, 1024), (2000, 1500, 64)])
def test_the_tile_count_is_that_of_the_grid(height, width, tile_px):
    assert tile_count(height, width, tile_px) == len(tile_grid(height, width, tile_px))
