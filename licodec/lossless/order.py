"""The order of lossless coding: scales from coarse to fine, and the steps of each scale, per profile.

A scale ``x_k`` (C, H, W) is seen as a grid of 2 x 2 blocks: entry ``e = 3 * phase + channel``
of block (i, j) is pixel (2i + dy, 2j + dx) of that channel, for phase (dy, dx) in
:data:`PHASES` order. Phase 0, the even rows and columns, is the coarser scale ``x_{k+1}``,
decoded before. A profile lists which (phases, channels) each step codes: fewer steps run
the networks fewer times (faster); more steps give each pixel more decoded neighbours
(smaller files). Grayscale images use channel 0 alone. numpy only: part of the format.
"""

from __future__ import annotations

import numpy as np

PHASES = ((0, 0), (0, 1), (1, 0), (1, 1))
CHANNELS = 3
ENTRIES = len(PHASES) * CHANNELS
COEFFICIENTS = len(PHASES) * 3
"""Per phase, the channel coefficients: Co's mean on Y's symbol, Cg's on Y's and on Co's."""

PROFILES: dict[str, tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]] = {
    "fast": (((3,), (0, 1, 2)), ((1, 2), (0, 1, 2))),
    "default": tuple(((3,), (c,)) for c in range(3)) + tuple(((1, 2), (c,)) for c in range(3)),
    "max": tuple(((p,), (c,)) for p in (3, 1, 2) for c in range(3)),
}
"""Steps as (phases, channels): ``fast`` codes the diagonal phase, then the other two, all channels at once
(2 steps a scale); ``default`` does the same channel by channel (6); ``max`` codes each phase and channel
on its own (9). The names and their order are part of the format (a file stores the profile's index)."""
DEFAULT_PROFILE = "default"
PIXEL_STEP = 64
"""Samples enter the networks as (v - centre) / 64 (on the integer networks' grid, (v - centre) * 16 exactly), and the
means and scales they emit are in the same units."""
CENTRES = np.array([128, 0, 0] * len(PHASES), dtype=np.int64)
"""Each entry's centre: Y around 128, Co and Cg around 0 (:func:`to_ycocg`); a grey image's one channel around 128."""


def to_ycocg(x: np.ndarray) -> np.ndarray:
    """RGB (3, H, W) to YCoCg-R (int64; Y in 0..255, Co and Cg in -255..255): reversible integer lifting, so that a
    colour image's channels are nearly independent before any network sees them (as JPEG XL and WebP do)."""
    r, g, b = x.astype(np.int64)
    co = r - b
    t = b + (co >> 1)
    cg = g - t
    return np.stack([t + (cg >> 1), co, cg])


def from_ycocg(y: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_ycocg` (int64)."""
    luma, co, cg = y.astype(np.int64)
    t = luma - (cg >> 1)
    g = cg + t
    b = t - (co >> 1)
    return np.stack([b + co, g, b])


def scale_shapes(height: int, width: int) -> list[tuple[int, int]]:
    """(H, W) of every scale, finest first, down to a single pixel."""
    shapes = [(height, width)]
    while shapes[-1] != (1, 1):
        h, w = shapes[-1]
        shapes.append((-(-h // 2), -(-w // 2)))
    return shapes


def pyramid(x: np.ndarray) -> list[np.ndarray]:
    """Every scale of ``x`` (C, H, W), finest first: each the previous one's even rows and columns."""
    scales = [x]
    while scales[-1].shape[1:] != (1, 1):
        scales.append(scales[-1][:, ::2, ::2])
    return scales


def existing_entries(height: int, width: int, channels: int) -> np.ndarray:
    """(ENTRIES, ceil(H/2), ceil(W/2)) bool: the entries that are pixels of a (channels, H, W) scale."""
    h, w = -(-height // 2), -(-width // 2)
    exists = np.zeros((len(PHASES), CHANNELS, h, w), dtype=bool)
    for p, (dy, dx) in enumerate(PHASES):
        exists[p, :channels, : (height - dy + 1) // 2, : (width - dx + 1) // 2] = True
    return exists.reshape(ENTRIES, h, w)


def to_grid(x: np.ndarray) -> np.ndarray:
    """(ENTRIES, h, w) int64 of a scale (C, H, W); entries that are no sample hold their centre."""
    channels, height, width = x.shape
    h, w = -(-height // 2), -(-width // 2)
    grid = np.array(CENTRES.reshape(len(PHASES), CHANNELS, 1, 1).repeat(h, 2).repeat(w, 3))
    for p, (dy, dx) in enumerate(PHASES):
        part = x[:, dy::2, dx::2]
        grid[p, :channels, : part.shape[1], : part.shape[2]] = part
    return grid.reshape(ENTRIES, h, w)


def from_grid(grid: np.ndarray, channels: int, height: int, width: int) -> np.ndarray:
    """Inverse of :func:`to_grid`: the scale (channels, H, W), int64."""
    blocks = grid.reshape(len(PHASES), CHANNELS, *grid.shape[1:])
    x = np.empty((channels, height, width), dtype=np.int64)
    for p, (dy, dx) in enumerate(PHASES):
        rows, cols = (height - dy + 1) // 2, (width - dx + 1) // 2
        x[:, dy::2, dx::2] = blocks[p, :channels, :rows, :cols]
    return x


def steps(profile: str, channels: int) -> list[np.ndarray]:
    """The entries each step of ``profile`` codes, for an image of ``channels`` (1 or 3); empty steps left out."""
    result = []
    for phases, step_channels in PROFILES[profile]:
        entries = [CHANNELS * p + c for p in phases for c in step_channels if c < channels]
        if entries:
            result.append(np.array(entries, dtype=np.int64))
    return result


def schedule(profile: str, channels: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per step, (known, coded): (ENTRIES,) bool masks of the entries known when it runs (phase 0, then what earlier
    steps coded) and of those it codes."""
    known = np.zeros(ENTRIES, dtype=bool)
    known[:channels] = True
    result = []
    for entries in steps(profile, channels):
        coded = np.zeros(ENTRIES, dtype=bool)
        coded[entries] = True
        result.append((known.copy(), coded))
        known |= coded
    return result
