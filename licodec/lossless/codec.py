"""Coding one tile losslessly with the integer networks of a multi-scale progressive model (numpy only).

Order (:mod:`licodec.lossless.order`): the coarsest scale's single pixel, each channel a
uniform byte; then every finer scale, step by step. A step runs the integer ``entries``
and ``head`` networks on the blocks decoded so far and the symbols they were coded as
(``context`` once per scale) and codes its entries channel by channel, each as its
*symbol*: its difference from its mean (moved by the symbols of the same pixel's earlier
channels, times the head's coefficients) rounded to a whole pixel value, under the
discretised logistic table of its scale (64 scales, chosen by integer thresholds as the
Gaussian tables are). Encoder and decoder compute the same integers on any machine, so
the same tables.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

import numpy as np

from licodec.entropy.coder import SymbolDecoder, SymbolEncoder
from licodec.entropy.mixture_coding import ONE, MixtureLatentTables
from licodec.entropy.tables import CategoricalTables
from licodec.errors import CorruptBitstreamError, LicodecError
from licodec.lossless.order import (
    CENTRES,
    CHANNELS,
    COEFFICIENTS,
    ENTRIES,
    PIXEL_STEP,
    PROFILES,
    existing_entries,
    from_grid,
    from_ycocg,
    pyramid,
    scale_shapes,
    schedule,
    to_grid,
    to_ycocg,
)
from licodec.nn.integer_network import ACT_FRAC_BITS, FixedPointNetwork

BYTE_TABLES = CategoricalTables.from_pmfs([np.full(256, 1 / 256)], [0])
"""The coarsest pixel's samples, each ``v + 256`` as two bytes: uniform, exact binary fractions."""
LOWEST = np.array([0, -255, -255])
HIGHEST = np.array([255, 255, 255])
"""Each channel's range: Y (or grey) in 0..255, Co and Cg in -255..255."""
PIXEL_FIXED = ONE // PIXEL_STEP  # a pixel value's step on the networks' fixed grid


@dataclass(frozen=True, eq=False)
class LosslessCoder:
    """A lossless model's integer networks and tables: codes tiles, in any profile."""

    context: FixedPointNetwork
    entries: FixedPointNetwork
    head: FixedPointNetwork
    tables: MixtureLatentTables

    def head_bias_sizes(self) -> dict[str, int]:
        """The head's biases that per-image updates move (:mod:`licodec.coding.decoder_updates`), name to length."""
        return {f"head.{i}": len(layer.bias) for i, layer in enumerate(self.head.layers)}

    def with_bias_updates(self, updates: dict[str, np.ndarray]) -> LosslessCoder:
        """This coder with the head's biases moved by ``updates`` (name to delta, multiples of ``BIAS_STEP``): on the
        integer grid each delta is a whole number, so encoder and decoder still compute the same integers."""
        layers = []
        for i, layer in enumerate(self.head.layers):
            units = np.ldexp(1.0, ACT_FRAC_BITS + layer.shift.astype(np.int64))  # one real unit of this layer's bias
            delta = updates[f"head.{i}"].astype(np.float64) * units
            if not np.array_equal(delta, np.round(delta)):
                raise LicodecError("a bias update finer than this model's integer grid")
            layers.append(replace(layer, bias=layer.bias + delta.astype(np.int64)))
        return replace(self, head=FixedPointNetwork(tuple(layers)))

    def encode(self, x: np.ndarray, profile: str) -> list[bytes]:
        """The streams of a tile ``x`` (C, H, W) uint8, C = 1 or 3 (coded as YCoCg-R)."""
        encoder = SymbolEncoder()
        scales = pyramid(to_ycocg(x) if x.shape[0] == 3 else x.astype(np.int64))
        bytes_of_coarsest = np.stack(np.divmod(scales[-1].reshape(-1) + 256, 256), 1).reshape(-1)  # (high, low) per sample
        encoder.encode(bytes_of_coarsest, np.zeros(2 * x.shape[0], dtype=np.int32), BYTE_TABLES)
        for scale in reversed(scales[:-1]):
            grid = to_grid(scale)
            self._code_scale(grid, existing_entries(*scale.shape[1:], x.shape[0]), x.shape[0], profile, encoder=encoder)
        return encoder.finish()

    def decode(self, streams: list[bytes], channels: int, height: int, width: int, profile: str) -> np.ndarray:
        """Inverse of :meth:`encode`: the tile (channels, height, width) uint8."""
        decoder = SymbolDecoder(streams)
        shapes = scale_shapes(height, width)
        high, low = decoder.decode(np.zeros(2 * channels, dtype=np.int32), BYTE_TABLES).astype(np.int64).reshape(channels, 2).T
        coarse = (256 * high + low - 256).reshape(channels, 1, 1)
        _check_range(coarse, channels)
        for h, w in reversed(shapes[:-1]):
            exists = existing_entries(h, w, channels)
            grid = to_grid(np.zeros((channels, h, w), dtype=np.int64))
            grid[:channels] = coarse
            self._code_scale(grid, exists, channels, profile, decoder=decoder)
            coarse = from_grid(grid, channels, h, w)
        pixels = from_ycocg(coarse) if channels == 3 else coarse
        if pixels.min() < 0 or pixels.max() > 255:
            raise CorruptBitstreamError("lossless tile decodes to colours outside 0..255")
        return pixels.astype(np.uint8)

    def _code_scale(self, grid: np.ndarray, exists: np.ndarray, channels: int, profile: str, encoder=None, decoder=None) -> None:
        """Code the entries of one scale's ``grid`` after phase 0, step by step; the decoder fills ``grid`` in."""
        centres = CENTRES[:, None, None]
        pixels = ((grid - centres) * PIXEL_FIXED).astype(np.float64)[None]
        features = self.context(pixels[:, [0, 1, 2] if channels == 3 else [0, 0, 0]])  # a grey image as R = G = B
        symbols = np.zeros_like(grid)  # each coded sample minus its whole mean; 0 where none
        for known, coded in schedule(profile, channels):
            values = np.where(known[:, None, None], (grid - centres) * PIXEL_FIXED, 0)  # as decoded so far
            flags = np.broadcast_to(known[:, None, None] * ONE, grid.shape)
            seen = self.entries(np.concatenate([values, flags, symbols * PIXEL_FIXED])[None].astype(np.float64))
            out = self.head(np.concatenate([features, seen], 1))[0].astype(np.int64)
            for channel in range(channels):  # Y's symbols move Co's means, then both move Cg's
                entries = np.flatnonzero(coded & (np.arange(ENTRIES) % CHANNELS == channel))
                if len(entries):
                    self._code_entries(grid, symbols, out, entries, exists[entries], encoder, decoder)
                    _check_range(grid[entries][None], channels, entries)

    def _code_entries(self, grid, symbols, out, entries, where, encoder, decoder) -> None:
        """Code ``entries`` (all of one channel) where they exist, under the networks' ``out``; record their symbols."""
        whole = _whole_means(out, symbols, entries)
        rows = np.searchsorted(self.tables.scale_thresholds, out[ENTRIES + entries][where] * PIXEL_STEP, side="right")
        part = grid[entries]
        if encoder is not None:
            encoder.encode(part[where] - whole[where], rows, self.tables.table)
        else:
            part[where] = decoder.decode(rows, self.tables.table) + whole[where]
            grid[entries] = part
        symbols[entries] = np.where(where, part - whole, 0)


def _whole_means(out: np.ndarray, symbols: np.ndarray, entries: np.ndarray) -> np.ndarray:
    """The whole means (S, h, w) int64 of ``entries`` (one channel's), rounded half up: the networks' means (fixed
    grid, in the inputs' units) plus the channel terms, each coefficient (fixed grid) times an earlier channel's
    symbol of the same pixel."""
    phases, channel = entries // CHANNELS, int(entries[0] % CHANNELS)
    coefficients = out[2 * ENTRIES :]
    mean = out[entries] * PIXEL_STEP + CENTRES[entries][:, None, None] * ONE
    for coefficient, other in CHANNEL_TERMS[channel]:
        mean += coefficients[3 * phases + coefficient] * symbols[CHANNELS * phases + other]
    return (mean + ONE // 2) // ONE


CHANNEL_TERMS = ((), ((0, 0),), ((1, 0), (2, 1)))
"""Per channel, its (coefficient, earlier channel) pairs: Co's mean moves by a * Y's symbol, Cg's by b * Y's + c * Co's."""


def _check_range(values: np.ndarray, channels: int, entries: np.ndarray | None = None) -> None:
    """A decoded sample outside its channel's range can only come from a damaged stream."""
    which = (np.arange(channels) if entries is None else entries) % 3
    lowest, highest = (LOWEST if channels == 3 else LOWEST[:1] * 0)[which], HIGHEST[which]
    values = values.reshape(1, len(which), -1)
    if ((values < lowest[None, :, None]) | (values > highest[None, :, None])).any():
        raise CorruptBitstreamError("lossless tile decodes to values outside their range")


NETWORKS = ("context", "entries", "head")
TABLES_NAME = "pixels"


def coder_arrays(coder: LosslessCoder) -> dict[str, np.ndarray]:
    """The named integer arrays a weights file stores for ``coder``."""
    arrays = coder.tables.to_arrays(TABLES_NAME)
    for name in NETWORKS:
        arrays |= getattr(coder, name).to_arrays(f"integers.{name}")
    return arrays


def coder_from_arrays(arrays: dict[str, np.ndarray], check_format: bool = True) -> LosslessCoder:
    """The coder the arrays store; with ``check_format``, refused unless its networks read and write what this
    format's do (an earlier format's weights still load without it, to grow from: :mod:`licodec.train.lossless`)."""
    networks = {name: FixedPointNetwork.from_arrays(arrays, f"integers.{name}") for name in NETWORKS}
    context, entries, head = (networks[name].layers for name in NETWORKS)
    if check_format and (
        context[0].weight.shape[1] != CHANNELS
        or entries[0].weight.shape[1] != 3 * ENTRIES
        or head[0].weight.shape[1] != len(context[-1].bias) + len(entries[-1].bias)
        or head[-1].weight.shape[0] != 2 * ENTRIES + COEFFICIENTS
    ):
        raise ValueError("its networks do not read and write what this lossless format's do (weights of another format)")
    return LosslessCoder(**networks, tables=MixtureLatentTables.from_arrays(arrays, TABLES_NAME))


def image_digest(planes: np.ndarray, alpha: np.ndarray | None) -> bytes:
    """SHA-256 of the decoded samples, (H, W, C) uint8 in C order, then the alpha plane's: the file's promise."""
    digest = hashlib.sha256(np.ascontiguousarray(planes).tobytes())
    if alpha is not None:
        digest.update(np.ascontiguousarray(alpha).tobytes())
    return digest.digest()


def pack_info(profile: str, digest: bytes, updates: bytes = b"") -> bytes:
    """The lossless stream: the profile's index in :data:`~licodec.lossless.order.PROFILES`, the image digest, then
    the head's bias updates (:func:`licodec.coding.decoder_updates.encode_bias_updates`), if any."""
    return bytes([list(PROFILES).index(profile)]) + digest + updates


def unpack_info(data: bytes) -> tuple[str, bytes, bytes]:
    """(profile, digest, bias-update bytes, empty where none) of a lossless stream."""
    if len(data) < 33 or data[0] >= len(PROFILES):
        raise CorruptBitstreamError("lossless stream is damaged")
    return list(PROFILES)[data[0]], data[1:33], data[33:]
