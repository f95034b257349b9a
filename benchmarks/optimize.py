"""BD-rate and encode-time cost of per-image encoder adaptation (--optimize, --adapt-decoder), on Kodak.

    .venv/bin/python benchmarks/optimize.py [--kodak ../shared/data/kodak] [--images 6] [--steps 100] [--adapt-decoder 40]

Codes each image at several qualities with and without the adaptation (same model,
same decoder) and prints the PSNR and MS-SSIM BD-rates of the adapted curve against the plain
one, and the mean encode time of each. ``--steps`` sets the latent optimisation
(0: none); ``--adapt-decoder`` adds per-image decoder bias updates, whose bytes
count in the file, so the BD-rate is their net gain.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from PIL import Image

import licodec
from licodec.eval.bdrate import bd_rate
from licodec.eval.runner import quick_curve

ROOT = Path(__file__).resolve().parent.parent
QUALITIES = (10, 30, 50, 70, 90)


def curve(images: list[Image.Image], steps: int, adapt_steps: int) -> tuple[dict, float]:
    def encode(image: Image.Image, quality: int) -> bytes:
        return licodec.compress(image, quality=quality, optimize_steps=steps, adapt_decoder_steps=adapt_steps)

    return quick_curve(encode, licodec.decompress, images, QUALITIES)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kodak", type=Path, default=ROOT.parent / "shared" / "data" / "kodak")
    parser.add_argument("--images", type=int, default=6)
    parser.add_argument("--steps", type=int, default=100, help="latent optimisation steps (0: none)")
    parser.add_argument("--adapt-decoder", type=int, default=0, metavar="STEPS", help="decoder bias update steps (0: none)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    images = [Image.open(p).convert("RGB") for p in sorted(args.kodak.glob("*.png"))[: args.images]]
    plain, plain_s = curve(images, 0, 0)
    optimised, optimised_s = curve(images, args.steps, args.adapt_decoder)
    label = " ".join(f"{flag} {n}" for flag, n in (("--optimize", args.steps), ("--adapt-decoder", args.adapt_decoder)) if n)
    for q, b0, p0, b1, p1 in zip(QUALITIES, plain["bpp"], plain["psnr-rgb"], optimised["bpp"], optimised["psnr-rgb"]):
        print(f"q{q:>3}: plain {b0:.4f} bpp {p0:.2f} dB | adapted {b1:.4f} bpp {p1:.2f} dB")
    for metric, name in (("psnr-rgb", "PSNR"), ("ms-ssim-rgb", "MS-SSIM")):
        print(f"{name} BD-rate of {label} against plain: {bd_rate(plain, optimised, metric):+.2f}% ({len(images)} images)")
    print(f"encode time per image: plain {plain_s:.2f} s, adapted {optimised_s:.2f} s")


if __name__ == "__main__":
    main()
