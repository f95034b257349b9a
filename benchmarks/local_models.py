"""Rate saved by the image-dependent entropy models (per-tile coding modes), on Kodak and flat graphics.

    .venv/bin/python benchmarks/local_models.py [--kodak ../shared/data/kodak] [--quality 50]

The coding mode changes only the entropy coding, never the reconstruction, so
the comparison is at exactly equal PSNR: each image is coded with the default
model three times -- in the plain mode, with per-channel table offsets only
(what format 1 could do), and with the modes chosen per tile (offsets and/or
adaptive contexts for y, adaptive or not for z) -- and the file sizes are compared.
It also prints how much longer the chosen modes take to encode (they price each
mode) and to decode, against the plain mode, image by image in the same run.
The low-complexity set (a slide, a screenshot-like layout, a bar chart, a
gradient) is drawn with Pillow (:mod:`licodec.eval.synthetic`).

It also prints a bound: the file size if y's symbols cost their empirical
conditional entropy given (channel, table index), as if every context had a
table fitted to this very image, with that side information free. It is loose:
a table fitted to the ~20 symbols of a context flatters itself.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import licodec
from licodec.entropy import latent_coding
from licodec.entropy.table_offsets import symbol_bits
from licodec.eval.synthetic import low_complexity_images

ROOT = Path(__file__).resolve().parent.parent
CHOOSE_MODE = latent_coding.choose_mode
SETTINGS = {
    "plain": lambda chunks, tables, offsets=True, classes=None: latent_coding.PLAIN,
    "offsets only": lambda chunks, tables, offsets=True, classes=None: CHOOSE_MODE(chunks, tables, offsets, adaptive=False),
    "chosen": CHOOSE_MODE,
}


def code_all(image: Image.Image, quality: int) -> tuple[dict[str, tuple[bytes, float]], int, list[int]]:
    """Per setting, the file and its encode seconds; the bound's bytes; the modes chosen (z, y per tile)."""
    files, modes, y_chunks = {}, [], []

    def chosen(chunks, tables, offsets=True, classes=None):
        mode = CHOOSE_MODE(chunks, tables, offsets, classes=classes)
        modes.append(mode.number)
        if offsets:  # y: keep its symbols for the bound, computed after the timing
            y_chunks.append((chunks, tables))
        return mode

    for name, choose in SETTINGS.items():
        latent_coding.choose_mode = chosen if name == "chosen" else choose
        start = time.perf_counter()
        try:
            data = licodec.compress(image, quality=quality)
        finally:
            latent_coding.choose_mode = CHOOSE_MODE
        files[name] = data, time.perf_counter() - start
    coded_bits = sum(symbol_bits(s, i, tables).sum() for chunks, tables in y_chunks for s, i in chunks)
    bound_bits = sum(conditional_entropy_bits(chunks) for chunks, _ in y_chunks)
    return files, round(len(files["plain"][0]) - (coded_bits - bound_bits) / 8), modes


def decode_seconds(data: bytes, repeats: int = 3) -> float:
    """The fastest of ``repeats`` decodes: the least disturbed by other work on the machine."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        licodec.decompress(data)
        times.append(time.perf_counter() - start)
    return min(times)


def conditional_entropy_bits(chunks: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """Empirical entropy of y's symbols given (channel, table index), in bits, over all chunks."""
    channels = chunks[0][0].shape[1]
    symbols = np.concatenate([s.reshape(channels, -1) for s, _ in chunks], 1).astype(np.int64)
    indexes = np.concatenate([i.reshape(channels, -1) for _, i in chunks], 1).astype(np.int64)
    contexts = (np.arange(channels).reshape(-1, 1) * (indexes.max() + 1) + indexes).ravel()
    _, pair_counts = np.unique(np.stack([contexts, symbols.ravel()], 1), axis=0, return_counts=True)
    _, context_counts = np.unique(contexts, return_counts=True)
    # H(S | C) = sum over contexts of n_c log n_c  -  sum over (c, s) of n_cs log n_cs
    return float(np.sum(context_counts * np.log2(context_counts)) - np.sum(pair_counts * np.log2(pair_counts)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kodak", type=Path, default=ROOT.parent / "shared" / "data" / "kodak")
    parser.add_argument("--quality", type=int, default=50)
    args = parser.parse_args()
    torch.set_num_threads(2)
    sets = {
        "kodak": {p.stem: Image.open(p).convert("RGB") for p in sorted(args.kodak.glob("*.png"))},
        "low-complexity": low_complexity_images(),
    }
    print(f"quality {args.quality}; change = bytes / plain-mode bytes - 1, at identical reconstruction")
    licodec.decompress(licodec.compress(sets["low-complexity"]["slide"]))  # warm-up
    for set_name, images in sets.items():
        changes: dict[str, list[float]] = {"offsets only": [], "chosen": [], "bound": []}
        encode_ratios, decode_ratios, used = [], [], []
        for stem, image in images.items():
            files, bound, modes = code_all(image, args.quality)
            plain = len(files["plain"][0])
            for name in ("offsets only", "chosen"):
                changes[name].append(len(files[name][0]) / plain - 1)
            changes["bound"].append(bound / plain - 1)
            encode_ratios.append(files["chosen"][1] / files["plain"][1])
            decode_ratios.append(decode_seconds(files["chosen"][0]) / decode_seconds(files["plain"][0]))
            used += modes
            if set_name != "kodak":
                print(
                    f"  {stem:>12}: plain {plain} bytes; offsets only {100 * (len(files['offsets only'][0]) / plain - 1):+.1f}%; "
                    f"chosen {len(files['chosen'][0])} bytes ({100 * (len(files['chosen'][0]) / plain - 1):+.1f}%, modes z, y {modes}); "
                    f"bound {100 * (bound / plain - 1):+.1f}%"
                )
        for name, values in changes.items():
            label = "bound, side information free" if name == "bound" else name
            print(f"{set_name}: {label}: mean {100 * np.mean(values):+.2f}%, best {100 * min(values):+.2f}%, worst {100 * max(values):+.2f}%")
        z_modes, y_modes = np.bincount(used[0::2], minlength=4), np.bincount(used[1::2], minlength=4)
        print(f"{set_name}: tiles per y mode (plain, offsets, adaptive, both): {y_modes.tolist()}, z adaptive in {z_modes[2]} of {sum(z_modes)}")
        print(
            f"{set_name}: time of the chosen modes / the plain mode, median over images: encode x{np.median(encode_ratios):.2f}, "
            f"decode x{np.median(decode_ratios):.2f} (range x{min(decode_ratios):.2f}-{max(decode_ratios):.2f})"
        )


if __name__ == "__main__":
    main()
