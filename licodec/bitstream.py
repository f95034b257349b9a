"""The .lic container: a small header, length-prefixed streams, and a CRC32. No torch here.

The byte layout is specified in ``docs/bitstream.md``; :meth:`LicFile.to_bytes`
and :meth:`LicFile.from_bytes` are the only code that knows it, the order of the
streams included. All integers are little-endian. The reader checks lengths, the
stream count and the checksum before anything is decoded, so damaged files are
refused before a single symbol is read.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from licodec.errors import CorruptBitstreamError, UnsupportedFormatVersionError

MAGIC = b"\x89LIC\r\n\x1a\n"
"""As PNG's: a high first byte and CR LF / EOF bytes expose 7-bit or text-mode mangling."""
FORMAT_VERSION = 3
"""Bump on any layout change, and on any change to a constant that changes the bits. Writers write this one."""
OLDEST_VERSION = 1
"""Readers decode every version from this one up (docs/bitstream.md, "Versions")."""

COLOUR_MODES = ("RGB", "L", "RGBA", "LA")
MAX_STREAMS = 1 << 16
MAX_PIXELS = 1 << 32
MODEL_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{0,62}\Z")

TILE_PX = 1024
"""Encoders cut images larger than this on either side into independent tiles of this size,
which bounds memory (about 1.5 GB at the default model) whatever the image size."""
MAX_TILE_PX = 4096
"""Decoders refuse larger tiles: memory per tile stays bounded whatever a file claims."""
STREAMS_PER_TILE = 2
"""Each tile is a range-coded stream and a stream of escaped values (:mod:`licodec.entropy.coder`)."""

_FIXED = struct.Struct("<8sHIIBBHHBH")  # hash, centi-quality, width, height, colour, depth, tile, centi-ROI-quality, flags, streams
FLAG_DECODER_UPDATES = 1
"""Flag bit: a stream of per-image decoder bias updates follows the other streams."""
FLAG_LOSSLESS = 2
"""Flag bit (format 3): the tiles are coded losslessly (:mod:`licodec.lossless`), and a last stream holds the
profile and the decoded image's digest."""
_CRC = struct.Struct("<I")


@dataclass(frozen=True)
class Header:
    """What a decoder must know before the first entropy-coded byte."""

    model_name: str  # registry key, stored as text, never as a position in a list
    weights_hash: bytes  # 8 bytes: first half of the weights file's SHA-256
    quality: float  # rate control value the encoder used, 1.00 .. 100.00 in steps of 0.01
    width_px: int  # original size, before padding to the model's stride
    height_px: int
    colour_mode: str = "RGB"  # one of COLOUR_MODES; alpha travels as its own stream
    bit_depth: int = 8  # bit depth of the source image (16-bit sources are coded at 8 bits)
    tile_px: int = 0  # side of the square tiles the image was cut into; 0 = one tile
    roi_quality: float = 0.0  # quality inside the region of interest; 0 = no ROI map stream
    flags: int = 0  # bit 0: decoder bias updates present; bit 1: lossless; other bits must be 0
    format_version: int = FORMAT_VERSION  # a parsed file's own version: older ones code side information differently

    def __post_init__(self) -> None:
        if not MODEL_NAME.match(self.model_name):
            raise ValueError(f"invalid model name {self.model_name!r}")
        if len(self.weights_hash) != 8:
            raise ValueError("weights_hash must be 8 bytes")
        if not 1.0 <= self.quality <= 100.0:
            raise ValueError("quality must be within 1..100")
        if not (1 <= self.width_px < 1 << 32 and 1 <= self.height_px < 1 << 32):
            raise ValueError("image dimensions must be positive 32-bit numbers")
        if self.width_px * self.height_px > MAX_PIXELS:
            raise ValueError("image has too many pixels")
        if self.colour_mode not in COLOUR_MODES:
            raise ValueError(f"colour mode must be one of {COLOUR_MODES}")
        if self.bit_depth not in (8, 16):
            raise ValueError("bit depth must be 8 or 16")
        if not 0 <= self.tile_px < 1 << 16 or self.tile_px % 64:
            raise ValueError("tile size must be a multiple of 64 below 65536")
        if self.roi_quality != 0 and not 1.0 <= self.roi_quality <= 100.0:
            raise ValueError("ROI quality must be 0 (none) or within 1..100")
        if self.flags & ~(FLAG_DECODER_UPDATES | FLAG_LOSSLESS):
            raise ValueError("unknown flag bits")
        if self.is_lossless and (self.flags & FLAG_DECODER_UPDATES or self.roi_quality or self.bit_depth != 8 or self.format_version < 3):
            raise ValueError("a lossless file has no decoder updates or ROI, 8-bit samples and format version 3 or later")
        if not OLDEST_VERSION <= self.format_version <= FORMAT_VERSION:
            raise ValueError(f"format version must be within {OLDEST_VERSION}..{FORMAT_VERSION}")

    @property
    def has_alpha(self) -> bool:
        return self.colour_mode in ("RGBA", "LA")

    @property
    def has_roi(self) -> bool:
        return self.roi_quality > 0

    @property
    def has_decoder_updates(self) -> bool:
        return bool(self.flags & FLAG_DECODER_UPDATES)

    @property
    def is_lossless(self) -> bool:
        return bool(self.flags & FLAG_LOSSLESS)


Tile = tuple[int, int, int, int]
"""(top, left, height, width) of a tile, in pixels of the original image."""


def tile_count(height: int, width: int, tile_px: int) -> int:
    """How many tiles :func:`tile_grid` gives, without listing them (a hostile header may describe millions)."""
    return 1 if tile_px == 0 else -(-height // tile_px) * -(-width // tile_px)


def tile_side(height: int, width: int) -> int:
    """The ``tile_px`` an encoder writes for an image: 0 (one tile) up to :data:`TILE_PX` on both sides, else TILE_PX."""
    return TILE_PX if max(height, width) > TILE_PX else 0


def tile_grid(height: int, width: int, tile_px: int) -> list[Tile]:
    """The tiles of an image in raster order: one for ``tile_px`` 0, else squares of ``tile_px`` cut at the edges."""
    if tile_px == 0:
        return [(0, 0, height, width)]
    return [
        (top, left, min(tile_px, height - top), min(tile_px, width - left)) for top in range(0, height, tile_px) for left in range(0, width, tile_px)
    ]


@dataclass(frozen=True)
class LicFile:
    """A parsed file: the header and its streams by role. The file holds them in this order:
    each tile's streams in raster order, then alpha, ROI cells, decoder updates and the lossless stream, each when the
    header says so."""

    header: Header
    tiles: tuple[tuple[bytes, ...], ...]  # per tile (raster order), its STREAMS_PER_TILE coded streams
    alpha: bytes | None = None  # present exactly when header.has_alpha
    roi: bytes | None = None  # present exactly when header.has_roi
    decoder_updates: bytes | None = None  # present exactly when header.has_decoder_updates
    lossless: bytes | None = None  # present exactly when header.is_lossless

    def __post_init__(self) -> None:
        h = self.header
        if not all(len(tile) == STREAMS_PER_TILE for tile in self.tiles):
            raise ValueError(f"each tile needs {STREAMS_PER_TILE} streams")
        for name, stream, expected in (
            ("alpha", self.alpha, h.has_alpha),
            ("roi", self.roi, h.has_roi),
            ("decoder_updates", self.decoder_updates, h.has_decoder_updates),
            ("lossless", self.lossless, h.is_lossless),
        ):
            if (stream is not None) != expected:
                raise ValueError(f"the {name} stream must be given exactly when the header says so")

    @property
    def streams(self) -> tuple[bytes, ...]:
        """Every stream in file order."""
        extra = (s for s in (self.alpha, self.roi, self.decoder_updates, self.lossless) if s is not None)
        return (*(s for tile in self.tiles for s in tile), *extra)

    def to_bytes(self) -> bytes:
        return pack(self.header, self.streams)

    @classmethod
    def from_bytes(cls, data: bytes) -> LicFile:
        """Parse and verify a whole file; raises :class:`CorruptBitstreamError` on any damage."""
        return cls._from_streams(*unpack(data))

    @classmethod
    def _from_streams(cls, header: Header, streams: tuple[bytes, ...]) -> LicFile:
        """Assign the streams their roles, refusing a count the header does not describe."""
        if (header.tile_px == 0 and max(header.width_px, header.height_px) > TILE_PX) or header.tile_px > MAX_TILE_PX:
            raise CorruptBitstreamError("header describes tiles no licodec encoder writes")
        num_tiles = tile_count(header.height_px, header.width_px, header.tile_px)
        expected = num_tiles * STREAMS_PER_TILE + header.has_alpha + header.has_roi + header.has_decoder_updates + header.is_lossless
        if len(streams) != expected:
            raise CorruptBitstreamError(f"file holds {len(streams)} streams where {expected} were expected")
        rest: Iterator[bytes] = iter(streams[num_tiles * STREAMS_PER_TILE :])
        return cls(
            header,
            tuple(tuple(streams[i * STREAMS_PER_TILE : (i + 1) * STREAMS_PER_TILE]) for i in range(num_tiles)),
            alpha=next(rest) if header.has_alpha else None,
            roi=next(rest) if header.has_roi else None,
            decoder_updates=next(rest) if header.has_decoder_updates else None,
            lossless=next(rest) if header.is_lossless else None,
        )


def pack(header: Header, streams: tuple[bytes, ...]) -> bytes:
    """The bytes of a file holding ``streams`` in this order; :class:`LicFile` gives them their roles."""
    name = header.model_name.encode("ascii")
    if len(streams) >= MAX_STREAMS:
        raise ValueError("too many streams")
    parts = [
        MAGIC,
        bytes([header.format_version, len(name)]),
        name,
        _FIXED.pack(
            header.weights_hash,
            round(header.quality * 100),
            header.width_px,
            header.height_px,
            COLOUR_MODES.index(header.colour_mode),
            header.bit_depth,
            header.tile_px,
            round(header.roi_quality * 100),
            header.flags,
            len(streams),
        ),
        struct.pack(f"<{len(streams)}I", *(len(s) for s in streams)),
        *streams,
    ]
    body = b"".join(parts)
    return body + _CRC.pack(zlib.crc32(body))


def unpack(data: bytes) -> tuple[Header, tuple[bytes, ...]]:
    """The header and streams of a whole file, lengths and checksum verified; raises :class:`CorruptBitstreamError`."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"expected the bytes of a .lic file (e.g. Path(...).read_bytes()), not {type(data).__name__}")
    data = bytes(data)
    header, offset, lengths = _parse_header(data)
    expected = offset + sum(lengths) + _CRC.size
    if len(data) != expected:
        raise CorruptBitstreamError(f"file is {len(data)} bytes but its header describes {expected}: truncated or altered")
    (crc,) = _CRC.unpack_from(data, len(data) - _CRC.size)
    if crc != zlib.crc32(data[: -_CRC.size]):
        raise CorruptBitstreamError("checksum mismatch: the file is damaged")
    streams = []
    for length in lengths:
        streams.append(data[offset : offset + length])
        offset += length
    return header, tuple(streams)


def read_header(data: bytes) -> Header:
    """Parse only the header (no checksum): enough to report size and mode without decoding."""
    return _parse_header(bytes(data))[0]


def looks_like_lic(prefix: bytes) -> bool:
    return prefix[: len(MAGIC)] == MAGIC


def _parse_header(data: bytes) -> tuple[Header, int, list[int]]:
    if not looks_like_lic(data):
        raise CorruptBitstreamError("not a .lic file (wrong magic bytes)")
    offset = len(MAGIC)
    if len(data) < offset + 2:
        raise CorruptBitstreamError("file ends inside its header")
    version, name_len = data[offset], data[offset + 1]
    if version > FORMAT_VERSION:
        raise UnsupportedFormatVersionError(f"file uses .lic format version {version}, this licodec reads up to {FORMAT_VERSION}: upgrade licodec")
    if version < OLDEST_VERSION:
        raise CorruptBitstreamError(f"invalid format version {version}")
    offset += 2
    if len(data) < offset + name_len + _FIXED.size:
        raise CorruptBitstreamError("file ends inside its header")
    try:
        name = data[offset : offset + name_len].decode("ascii")
    except UnicodeDecodeError:
        raise CorruptBitstreamError("model name in header is not ASCII") from None
    offset += name_len
    weights_hash, centi_quality, width, height, colour, depth, tile, centi_roi, flags, num_streams = _FIXED.unpack_from(data, offset)
    offset += _FIXED.size
    if colour >= len(COLOUR_MODES):
        raise CorruptBitstreamError(f"unknown colour mode code {colour}")
    try:
        header = Header(name, weights_hash, centi_quality / 100, width, height, COLOUR_MODES[colour], depth, tile, centi_roi / 100, flags, version)
    except ValueError as exc:
        raise CorruptBitstreamError(f"invalid header: {exc}") from None
    if len(data) < offset + 4 * num_streams:
        raise CorruptBitstreamError("file ends inside its stream table")
    lengths = list(struct.unpack_from(f"<{num_streams}I", data, offset))
    return header, offset + 4 * num_streams, lengths
