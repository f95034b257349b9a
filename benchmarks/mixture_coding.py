"""What exact mixture coding costs: the shipped model grown into fu2023-gllmm, against itself, in one run.

    .venv/bin/python benchmarks/mixture_coding.py [--images 3] [--qualities 1,100] [--threads 2]

The mixture starts as the Gaussian (licodec.models.growth), so the two decode the same pixels
up to the tables; what differs is y's coding: the Gaussian model's indexed tables and coding
modes against per-element mixed integer tables. Prints file bytes and the best of three
encode and decode times per quality, summed over the first --images Kodak images.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import licodec
from licodec.image_folders import list_images
from licodec.models import build_coding_tables, create_model
from licodec.models.growth import grow_into

ROOT = Path(__file__).resolve().parent.parent


def best_time(function, repeats: int = 3) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kodak", type=Path, default=ROOT.parent / "shared" / "data" / "kodak")
    parser.add_argument("--images", type=int, default=3)
    parser.add_argument("--qualities", default="1,100")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    gaussian = licodec.load_model()
    mixture = create_model("fu2023-gllmm", gaussian.config)
    grow_into(gaussian, mixture)
    build_coding_tables(mixture.eval())
    mixture.identify("licodec-mse-gllmm", "0" * 16)
    images = [np.asarray(Image.open(p).convert("RGB")) for p in list_images(args.kodak)[: args.images]]
    print(f"{gaussian.name} ({gaussian.weights_hash}) grown into fu2023-gllmm, {len(images)} Kodak images, {args.threads} threads")
    print(f"{'quality':>8} {'model':>9} {'bytes':>9} {'encode s':>9} {'decode s':>9}")
    for quality in (float(q) for q in args.qualities.split(",")):
        for label, model in (("gaussian", gaussian), ("mixture", mixture)):
            size = encode_s = decode_s = 0.0
            for image in images:
                seconds, data = best_time(lambda: licodec.compress(image, quality, model))
                encode_s += seconds
                decode_s += best_time(lambda: licodec.decompress(data, model=model))[0]
                size += len(data)
            print(f"{quality:>8g} {label:>9} {size:>9.0f} {encode_s:>9.3f} {decode_s:>9.3f}")


if __name__ == "__main__":
    main()
