"""Coding one tile losslessly with the integer networks of a multi-scale progressive model (numpy only).

Order (:mod:`licodec.lossless.order`): the coarsest scale's single pixel, each channel a
uniform byte; then every finer scale, step by step. A step runs the integer ``entries``
and ``head`` networks on the blocks decoded so far (``context`` once per scale) and codes
its entries, in (entry, row, column) order, each as its difference from its mean rounded
to a whole pixel value, under the discretised logistic table of its scale (64 scales,
chosen by integer thresholds as the Gaussian tables are). Encoder and decoder compute the
same integers on any machine, so the same tables.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from licodec.entropy.coder import SymbolDecoder, SymbolEncoder
from licodec.entropy.mixture_coding import ONE, MixtureLatentTables
from licodec.entropy.tables import CategoricalTables
from licodec.errors import CorruptBitstreamError
from licodec.lossless.order import ENTRIES, PIXEL_STEP, PROFILES, existing_entries, from_grid, known_before, pyramid, scale_shapes, steps, to_grid
from licodec.nn.integer_network import FixedPointNetwork

BYTE_TABLES = CategoricalTables.from_pmfs([np.full(256, 1 / 256)], [0])
"""The coarsest pixel's bytes: uniform, exact binary fractions."""
PIXEL_FIXED = ONE // PIXEL_STEP  # a pixel value's step on the networks' fixed grid


@dataclass(frozen=True, eq=False)
class LosslessCoder:
    context: FixedPointNetwork
    entries: FixedPointNetwork
    head: FixedPointNetwork
    tables: MixtureLatentTables

    def encode(self, x: np.ndarray, profile: str) -> list[bytes]:
        """The streams of a tile ``x`` (C, H, W) uint8, C = 1 or 3."""
        encoder = SymbolEncoder()
        scales = pyramid(x)
        encoder.encode(scales[-1].reshape(-1).astype(np.int64), np.zeros(x.shape[0], dtype=np.int32), BYTE_TABLES)
        for scale in reversed(scales[:-1]):
            grid = to_grid(scale)
            self._code_scale(grid, existing_entries(*scale.shape[1:], x.shape[0]), x.shape[0], profile, encoder=encoder)
        return encoder.finish()

    def decode(self, streams: list[bytes], channels: int, height: int, width: int, profile: str) -> np.ndarray:
        """Inverse of :meth:`encode`: the tile (channels, height, width) uint8."""
        decoder = SymbolDecoder(streams)
        shapes = scale_shapes(height, width)
        coarse = decoder.decode(np.zeros(channels, dtype=np.int32), BYTE_TABLES).astype(np.int64).reshape(channels, 1, 1)
        for h, w in reversed(shapes[:-1]):
            exists = existing_entries(h, w, channels)
            grid = np.zeros(exists.shape, dtype=np.int64)
            grid[:channels] = coarse
            self._code_scale(grid, exists, channels, profile, decoder=decoder)
            coarse = from_grid(grid, channels, h, w).astype(np.int64)
        return coarse.astype(np.uint8)

    def _code_scale(self, grid: np.ndarray, exists: np.ndarray, channels: int, profile: str, encoder=None, decoder=None) -> None:
        """Code the entries of one scale's ``grid`` after phase 0, step by step; the decoder fills ``grid`` in."""
        pixels = ((grid - 128) * PIXEL_FIXED).astype(np.float64)[None]
        features = self.context(pixels[:, [0, 1, 2] if channels == 3 else [0, 0, 0]])  # a grey image as R = G = B
        for entries, known in zip(steps(profile, channels), known_before(profile, channels)):
            flags = np.broadcast_to(known[None, :, None, None] * float(ONE), pixels.shape)
            values = np.where(known[None, :, None, None], ((grid - 128) * PIXEL_FIXED)[None], 0.0)
            out = self.head(np.concatenate([features, self.entries(np.concatenate([values, flags], 1))], 1))[0]
            where = exists[entries]
            means = _whole_pixels(out[entries][where])
            rows = np.searchsorted(self.tables.scale_thresholds, out[ENTRIES + entries][where].astype(np.int64) * PIXEL_STEP, side="right")
            part = grid[entries]
            if encoder is not None:
                encoder.encode(part[where] - means, rows, self.tables.table)
                continue
            decoded = decoder.decode(rows, self.tables.table) + means
            if decoded.size and (decoded.min() < 0 or decoded.max() > 255):
                raise CorruptBitstreamError("lossless tile decodes to values outside 0..255")
            part[where] = decoded
            grid[entries] = part


def _whole_pixels(means: np.ndarray) -> np.ndarray:
    """The networks' means (fixed grid, in the inputs' units) as whole pixel values, rounded half up (int64)."""
    return ((means.astype(np.int64) * PIXEL_STEP + 128 * ONE + ONE // 2) // ONE).astype(np.int64)


NETWORKS = ("context", "entries", "head")
TABLES_NAME = "pixels"


def coder_arrays(coder: LosslessCoder) -> dict[str, np.ndarray]:
    """The named integer arrays a weights file stores for ``coder``."""
    arrays = coder.tables.to_arrays(TABLES_NAME)
    for name in NETWORKS:
        arrays |= getattr(coder, name).to_arrays(f"integers.{name}")
    return arrays


def coder_from_arrays(arrays: dict[str, np.ndarray]) -> LosslessCoder:
    networks = {name: FixedPointNetwork.from_arrays(arrays, f"integers.{name}") for name in NETWORKS}
    return LosslessCoder(**networks, tables=MixtureLatentTables.from_arrays(arrays, TABLES_NAME))


def image_digest(planes: np.ndarray, alpha: np.ndarray | None) -> bytes:
    """SHA-256 of the decoded samples, (H, W, C) uint8 in C order, then the alpha plane's: the file's promise."""
    digest = hashlib.sha256(np.ascontiguousarray(planes).tobytes())
    if alpha is not None:
        digest.update(np.ascontiguousarray(alpha).tobytes())
    return digest.digest()


def pack_info(profile: str, digest: bytes) -> bytes:
    """The lossless stream: the profile's index in :data:`~licodec.lossless.order.PROFILES`, then the image digest."""
    return bytes([list(PROFILES).index(profile)]) + digest


def unpack_info(data: bytes) -> tuple[str, bytes]:
    if len(data) != 33 or data[0] >= len(PROFILES):
        raise CorruptBitstreamError("lossless stream is damaged")
    return list(PROFILES)[data[0]], data[1:]
