"""Periodic (checkerboard) artefacts of licodec models: the error's spectral peaks on a 16-pixel grid.

    .venv/bin/python benchmarks/checkerboard.py FOLDER MODEL [MODEL ...] [--qualities 1,50,100] [--count N]

For each model (a shipped name or a ``.safetensors`` file) and quality, codes the
images of FOLDER through the real coder and prints the mean bpp, PSNR and
:func:`licodec.metrics.periodic_error_ratio` (about 1 for an error without periodic
structure; upsampling checkerboards raise it). Compares decoders before and after
``licodec train model --adversarial``.
"""

from __future__ import annotations

import argparse
import platform
from pathlib import Path

import numpy as np
from PIL import Image

import licodec
from licodec.image_folders import find_images
from licodec.metrics import bits_per_pixel, periodic_error_ratio, psnr


def measure(paths: list[Path], model: str, quality: int) -> tuple[float, float, float]:
    rows = []
    for path in paths:
        with Image.open(path) as image:
            original = image.convert("RGB")
        data = licodec.compress(original, quality, model=model)
        decoded = licodec.decompress(data, model=model).convert("RGB")
        rows.append((bits_per_pixel(len(data), *original.size), psnr(original, decoded), periodic_error_ratio(original, decoded)))
    return tuple(np.mean(rows, axis=0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("models", nargs="+")
    parser.add_argument("--qualities", default="1,50,100")
    parser.add_argument("--count", type=int, default=12, help="the first N images of the folder")
    args = parser.parse_args()
    paths = find_images([args.folder])[: args.count]
    print(f"{len(paths)} images of {args.folder}; {platform.processor() or platform.machine()}")
    print("| model | quality | bpp | PSNR | periodic error ratio |\n|---|---|---|---|---|")
    for model in args.models:
        for quality in map(int, args.qualities.split(",")):
            bpp, quality_db, ratio = measure(paths, model, quality)
            print(f"| {Path(model).stem} | {quality} | {bpp:.3f} | {quality_db:.2f} | {ratio:.2f} |", flush=True)


if __name__ == "__main__":
    main()
