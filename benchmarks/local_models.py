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

And it prices the baseline of Minnen et al. (ICIP 2018), whose local entropy
models saved 17.8% on Kodak and 70-98% on low-complexity images: a fixed, global
entropy model. Here that is one pmf per channel of round(y), fitted on training
images at the same quality (``--train``), with no hyperprior and no z: the
file's overhead plus y's ideal code length under those pmfs. Its reconstruction
is g_s(round(y)) instead of the file's round(y - mean) + mean; the PSNR change is
printed beside it. Our transform was trained with a hyperprior, not with a fixed
prior, so this baseline is weaker than theirs was.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import licodec
from licodec.api import _pad, to_uint8
from licodec.entropy import latent_coding
from licodec.entropy.table_offsets import symbol_bits
from licodec.eval.synthetic import low_complexity_images
from licodec.image_folders import find_images
from licodec.metrics import psnr

ROOT = Path(__file__).resolve().parent.parent
CHOOSE_MODE = latent_coding.choose_mode


def offsets_only(chunks, tables, offsets=True, classes=None) -> latent_coding.CodingMode:
    """What format 1 could do: per-channel table offsets, no adaptive contexts."""
    return CHOOSE_MODE(chunks, tables, offsets, adaptive=False)


def code_all(image: Image.Image, quality: int) -> tuple[dict[str, tuple[bytes, float]], int, float, list[int]]:
    """Per setting, the file and its encode seconds; the bound's bytes; the plain file's overhead bytes
    (all but y's and z's ideal code lengths); the modes chosen (z, y per tile)."""
    files, modes, y_chunks, plain_chunks = {}, [], [], []

    def plain(chunks, tables, offsets=True, classes=None):
        plain_chunks.extend((s, i, tables) for s, i in chunks)
        return latent_coding.PLAIN

    def chosen(chunks, tables, offsets=True, classes=None):
        mode = CHOOSE_MODE(chunks, tables, offsets, classes=classes)
        modes.append(mode.number)
        if offsets:  # y: keep its symbols for the bound, computed after the timing
            y_chunks.append((chunks, tables))
        return mode

    for name, choose in {"plain": plain, "offsets only": offsets_only, "chosen": chosen}.items():
        latent_coding.choose_mode = choose
        start = time.perf_counter()
        try:
            data = licodec.compress(image, quality=quality)
        finally:
            latent_coding.choose_mode = CHOOSE_MODE
        files[name] = data, time.perf_counter() - start
    coded_bits = sum(symbol_bits(s, i, tables).sum() for chunks, tables in y_chunks for s, i in chunks)
    bound_bits = sum(conditional_entropy_bits(chunks) for chunks, _ in y_chunks)
    plain_bits = sum(symbol_bits(s, i, tables).sum() for s, i, tables in plain_chunks)
    plain_bytes = len(files["plain"][0])
    return files, round(plain_bytes - (coded_bits - bound_bits) / 8), plain_bytes - plain_bits / 8, modes


FIXED_PRIOR_RANGE = 64
"""The fixed pmfs cover round(y) in [-64, 64]; a symbol outside costs as much as the least likely inside, plus 16 bits."""


def latent_of(image: Image.Image, quality: int) -> tuple[torch.Tensor, float]:
    """(y, rate position) of a one-tile image with the default model, padded as compress pads it."""
    codec = licodec.load_model()
    x = _pad(torch.from_numpy(np.array(image.convert("RGB"))).permute(2, 0, 1).unsqueeze(0).float() / 255.0, codec.pad_multiple)
    position = codec.rate_position(quality)
    with torch.no_grad():
        return codec.encode_latent(x, position), position


def fixed_prior_entries(y: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Per channel (C, positions): each round(y)'s column in the fixed pmfs, clipped to [-R, R], and whether it lies inside."""
    symbols = torch.round(y)[0].flatten(1).numpy().astype(np.int64)
    return np.clip(symbols, -FIXED_PRIOR_RANGE, FIXED_PRIOR_RANGE) + FIXED_PRIOR_RANGE, np.abs(symbols) <= FIXED_PRIOR_RANGE


def fit_fixed_prior(folder: Path, count: int, quality: int) -> np.ndarray:
    """Per-channel -log2 pmf of round(y) over [-R, R] (C, 2R + 1), from ``count`` training images, add-half smoothed."""
    counts, paths = None, find_images([folder])
    for path in paths[:: max(1, len(paths) // count)][:count]:
        image = Image.open(path).convert("RGB")
        image = image.crop((0, 0, min(image.width, 768), min(image.height, 768)))
        entries, _ = fixed_prior_entries(latent_of(image, quality)[0])
        if counts is None:
            counts = np.zeros((entries.shape[0], 2 * FIXED_PRIOR_RANGE + 1))
        for channel, values in enumerate(entries):
            counts[channel] += np.bincount(values, minlength=counts.shape[1])
    pmfs = (counts + 0.5) / (counts + 0.5).sum(1, keepdims=True)
    return -np.log2(pmfs)


def fixed_prior_bytes(image: Image.Image, quality: int, costs: np.ndarray, overhead_bytes: float) -> tuple[float, float]:
    """(bytes, PSNR) of the image coded with the fixed per-channel pmfs of round(y): overhead plus ideal code length."""
    y, position = latent_of(image, quality)
    entries, inside = fixed_prior_entries(y)
    bits = np.where(inside, np.take_along_axis(costs, entries, 1), costs.max(1, keepdims=True) + 16)
    with torch.no_grad():
        x_hat = licodec.load_model().decode_latent(torch.round(y), position)
    decoded = to_uint8(x_hat[0, :, : image.height, : image.width].numpy())
    return overhead_bytes + bits.sum() / 8, psnr(np.array(image.convert("RGB")), decoded)


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
    parser.add_argument("--train", type=Path, default=ROOT.parent / "shared" / "data" / "train", help="images the fixed prior is fitted on")
    parser.add_argument("--fit-images", type=int, default=60)
    args = parser.parse_args()
    torch.set_num_threads(2)
    sets = {
        "kodak": {p.stem: Image.open(p).convert("RGB") for p in sorted(args.kodak.glob("*.png"))},
        "low-complexity": low_complexity_images(),
    }
    print(f"quality {args.quality}; change = bytes / plain-mode bytes - 1, at identical reconstruction")
    licodec.decompress(licodec.compress(sets["low-complexity"]["slide"]))  # warm-up
    fixed_costs = fit_fixed_prior(args.train, args.fit_images, args.quality)
    for set_name, images in sets.items():
        changes: dict[str, list[float]] = {"offsets only": [], "chosen": [], "bound": []}
        against_fixed: dict[str, list[float]] = {"plain": [], "chosen": [], "psnr": []}
        encode_ratios, decode_ratios, used = [], [], []
        for stem, image in images.items():
            files, bound, overhead, modes = code_all(image, args.quality)
            plain = len(files["plain"][0])
            for name in ("offsets only", "chosen"):
                changes[name].append(len(files[name][0]) / plain - 1)
            changes["bound"].append(bound / plain - 1)
            fixed, fixed_psnr = fixed_prior_bytes(image, args.quality, fixed_costs, overhead)
            against_fixed["plain"].append(plain / fixed - 1)
            against_fixed["chosen"].append(len(files["chosen"][0]) / fixed - 1)
            against_fixed["psnr"].append(psnr(image, licodec.decompress(files["plain"][0])) - fixed_psnr)
            encode_ratios.append(files["chosen"][1] / files["plain"][1])
            decode_ratios.append(decode_seconds(files["chosen"][0]) / decode_seconds(files["plain"][0]))
            used += modes
            if set_name != "kodak":
                print(
                    f"  {stem:>12}: plain {plain} bytes; offsets only {100 * (len(files['offsets only'][0]) / plain - 1):+.1f}%; "
                    f"chosen {len(files['chosen'][0])} bytes ({100 * (len(files['chosen'][0]) / plain - 1):+.1f}%, modes z, y {modes}); "
                    f"bound {100 * (bound / plain - 1):+.1f}%; fixed prior {fixed:.0f} bytes, "
                    f"chosen against it {100 * against_fixed['chosen'][-1]:+.1f}% at {against_fixed['psnr'][-1]:+.2f} dB"
                )
        for name, values in changes.items():
            label = "bound, side information free" if name == "bound" else name
            print(f"{set_name}: {label}: mean {100 * np.mean(values):+.2f}%, best {100 * min(values):+.2f}%, worst {100 * max(values):+.2f}%")
        print(
            f"{set_name}: against a fixed prior for round(y) ({args.fit_images} training images): hyperprior, plain mode "
            f"mean {100 * np.mean(against_fixed['plain']):+.2f}%; with the chosen modes mean {100 * np.mean(against_fixed['chosen']):+.2f}% "
            f"(best {100 * min(against_fixed['chosen']):+.2f}%, worst {100 * max(against_fixed['chosen']):+.2f}%); "
            f"PSNR of the file minus the fixed prior's: mean {np.mean(against_fixed['psnr']):+.3f} dB"
        )
        z_modes, y_modes = np.bincount(used[0::2], minlength=4), np.bincount(used[1::2], minlength=4)
        print(f"{set_name}: tiles per y mode (plain, offsets, adaptive, both): {y_modes.tolist()}, z adaptive in {z_modes[2]} of {sum(z_modes)}")
        print(
            f"{set_name}: time of the chosen modes / the plain mode, median over images: encode x{np.median(encode_ratios):.2f}, "
            f"decode x{np.median(decode_ratios):.2f} (range x{min(decode_ratios):.2f}-{max(decode_ratios):.2f})"
        )


if __name__ == "__main__":
    main()
