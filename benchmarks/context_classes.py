"""Where y's bytes go on the drawn low-complexity images, and what richer adaptive contexts would save.

    .venv/bin/python benchmarks/context_classes.py [--quality 50]

For each image of :mod:`licodec.eval.synthetic` (coded with the default model),
prints y's bytes under the model's tables split into zero and nonzero symbols, and
the adaptive code length (:func:`licodec.entropy.adaptive.code_length_bits`, exact
for the staged counts, no coding) of two context splits tried beside the shipped
one (:data:`licodec.coding.procedures.NEIGHBOUR_CLASSES`):

- "activity": the non-anchor classes also split by how many anchors are nonzero
  at the 4 neighbouring positions summed over all channels, in buckets;
- "channel halves": the anchors coded in two channel halves, the second split by
  how many of the first half's anchors are nonzero at the same position.

Changes are against the shipped classes' adaptive size of y, offsets aside.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

import licodec
from licodec.coding.procedures import NEIGHBOUR_CLASSES, checkerboard_anchor_mask
from licodec.entropy import latent_coding
from licodec.entropy.adaptive import code_length_bits
from licodec.entropy.latent_coding import context_groups
from licodec.entropy.table_offsets import symbol_bits
from licodec.eval.synthetic import low_complexity_images

ACTIVITY_BUCKETS = ([1], [1, 8], [1, 4, 16], [1, 3, 10, 30])
"""Bucket edges of the summed neighbouring nonzero anchors (np.searchsorted, right)."""


def y_of(image, quality: int):
    """(chunks, tables, non-anchor classes) of y of a one-tile image, as the encoder prices them."""
    captured = []
    choose = latent_coding.choose_mode

    def capture(chunks, tables, offsets=True, classes=None):
        if offsets:  # y, not z
            captured.append((chunks, tables, classes[1][1]))
        return choose(chunks, tables, offsets, classes=classes)

    latent_coding.choose_mode = capture
    try:
        licodec.compress(image, quality=quality)
    finally:
        latent_coding.choose_mode = choose
    if len(captured) != 1:
        raise SystemExit(f"expected one tile, got {len(captured)}")
    return captured[0]


def adaptive_bits(tables, parts) -> float:
    """Code length of y given as (symbols, indexes, classes, number of classes, channel offset) parts."""
    return code_length_bits(tables, [(s, i, context_groups(i, c, n) + first * n) for s, i, c, n, first in parts])


def activity_changes(image, chunks, tables, classes, shipped: float) -> list[float]:
    """Change of each :data:`ACTIVITY_BUCKETS` split of the non-anchor classes."""
    (anchors, anchor_indexes), (rest, rest_indexes) = chunks
    anchor = checkerboard_anchor_mask(image.height // 16, image.width // 16)
    anchor_nonzero = np.zeros(anchor.shape, dtype=np.int64)
    anchor_nonzero[anchor] = (anchors[0] != 0).sum(0)
    padded = np.pad(anchor_nonzero, 1)
    activity = (padded[:-2, 1:-1] + padded[2:, 1:-1] + padded[1:-1, :-2] + padded[1:-1, 2:])[~anchor]
    changes = []
    for edges in ACTIVITY_BUCKETS:
        k = len(edges) + 1
        split = 1 + (classes - 1) * k + np.searchsorted(edges, activity, side="right")[None, None]
        n = 1 + (NEIGHBOUR_CLASSES - 1) * k
        parts = [(anchors, anchor_indexes, None, n, 0), (rest, rest_indexes, split, n, 0)]
        changes.append(adaptive_bits(tables, parts) / shipped - 1)
    return changes


def channel_halves_change(chunks, tables, classes, shipped: float) -> float:
    """Change when the second half of the anchors' channels is split by the first half's nonzeros (0, 1-2, 3+)."""
    (anchors, anchor_indexes), (rest, rest_indexes) = chunks
    half = anchors.shape[1] // 2
    first_nonzero = np.searchsorted([1, 3], (anchors[0, :half] != 0).sum(0), side="right")
    second = np.broadcast_to(4 + first_nonzero, (1, anchors.shape[1] - half, first_nonzero.size))
    parts = [
        (anchors[:, :half], anchor_indexes[:, :half], None, 8, 0),
        (anchors[:, half:], anchor_indexes[:, half:], second, 8, half),
        (rest, rest_indexes, classes, 8, 0),
    ]
    return adaptive_bits(tables, parts) / shipped - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quality", type=int, default=50)
    args = parser.parse_args()
    torch.set_num_threads(2)
    print(f"quality {args.quality}; changes are of y's adaptive size against the shipped contexts")
    for name, image in low_complexity_images().items():
        chunks, tables, classes = y_of(image, args.quality)
        (anchors, anchor_indexes), (rest, rest_indexes) = chunks
        shipped_parts = [(anchors, anchor_indexes, None, NEIGHBOUR_CLASSES, 0), (rest, rest_indexes, classes, NEIGHBOUR_CLASSES, 0)]
        shipped = adaptive_bits(tables, shipped_parts)
        symbols = np.concatenate([s.ravel() for s, _ in chunks])
        bits = np.concatenate([symbol_bits(s, i, tables).ravel() for s, i in chunks])
        nonzero = symbols != 0
        activity = activity_changes(image, chunks, tables, classes, shipped)
        print(
            f"{name:>11}: y {bits.sum() / 8:.0f} bytes under the model's tables, nonzeros {nonzero.mean():.1%} of symbols "
            f"and {bits[nonzero].sum() / bits.sum():.0%} of bytes ({bits[nonzero].mean():.2f} bits each, zeros {bits[~nonzero].mean():.2f}); "
            f"adaptive {shipped / 8:.0f} bytes; activity buckets {', '.join(f'{100 * c:+.1f}%' for c in activity)}; "
            f"channel halves {100 * channel_halves_change(chunks, tables, classes, shipped):+.1f}%"
        )


if __name__ == "__main__":
    main()
