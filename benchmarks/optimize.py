"""BD-rate and encode-time cost of encoder-side latent optimisation (--optimize), on Kodak.

    .venv/bin/python benchmarks/optimize.py [--kodak ../shared/data/kodak] [--images 6] [--steps 100]

Codes each image at several qualities with and without optimisation (same model,
same decoder) and prints the PSNR BD-rate of the optimised curve against the plain
one, and the mean encode time of each.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from PIL import Image

import licodec
from licodec.eval.bdrate import bd_rate
from licodec.eval.runner import psnr_curve

ROOT = Path(__file__).resolve().parent.parent
QUALITIES = (10, 30, 50, 70, 90)


def curve(images: list[Image.Image], steps: int) -> tuple[dict, float]:
    return psnr_curve(lambda image, q: licodec.compress(image, quality=q, optimize_steps=steps), licodec.decompress, images, QUALITIES)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kodak", type=Path, default=ROOT.parent / "shared" / "data" / "kodak")
    parser.add_argument("--images", type=int, default=6)
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args()
    torch.set_num_threads(2)
    images = [Image.open(p).convert("RGB") for p in sorted(args.kodak.glob("*.png"))[: args.images]]
    plain, plain_s = curve(images, 0)
    optimised, optimised_s = curve(images, args.steps)
    for q, b0, p0, b1, p1 in zip(QUALITIES, plain["bpp"], plain["psnr-rgb"], optimised["bpp"], optimised["psnr-rgb"]):
        print(f"q{q:>3}: plain {b0:.4f} bpp {p0:.2f} dB | optimised {b1:.4f} bpp {p1:.2f} dB")
    print(f"PSNR BD-rate of --optimize {args.steps} against plain: {bd_rate(plain, optimised):+.2f}% ({len(images)} images)")
    print(f"encode time per image: plain {plain_s:.2f} s, optimised {optimised_s:.2f} s")


if __name__ == "__main__":
    main()
