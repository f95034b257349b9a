"""Region-of-interest coding against uniform coding at the same file size, on Kodak.

    .venv/bin/python benchmarks/roi.py [--kodak ../shared/data/kodak] [--images 8] [--qualities 30,45,60,75]

For each image, the region is the central rectangle (half the width and height).
Uniform coding at a quality gives a file of S bytes; ROI coding with the region at
quality 100 searches the background quality for the largest file of at most S
bytes. When even background quality 1 does not fit, the region's quality is
lowered in steps of 5 until it does. Prints PSNR inside and outside the region
for both, and the mean differences per uniform quality.

The gain inside is bounded by the model's rate ladder: the region cannot be coded
above quality 100, so at high uniform qualities there is little room left.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import licodec
from licodec.api import compress_to_size
from licodec.errors import LicodecError

ROOT = Path(__file__).resolve().parent.parent


def region_psnrs(original: np.ndarray, decoded: np.ndarray, inside: np.ndarray) -> tuple[float, float]:
    def masked(mask):
        diff = (original.astype(np.float64) - decoded.astype(np.float64))[mask]
        return 10 * np.log10(255**2 / np.mean(diff**2))

    return masked(inside), masked(~inside)


def central_region(height: int, width: int) -> np.ndarray:
    """The benchmark's region: the central rectangle of half the width and height."""
    inside = np.zeros((height, width), dtype=bool)
    inside[height // 4 : 3 * height // 4, width // 4 : 3 * width // 4] = True
    return inside


def fit_with_region(image: Image.Image, size: int, mask: Image.Image) -> tuple[bytes, float, float]:
    """The ROI file of at most ``size`` bytes with the highest region quality that fits."""
    for region_quality in range(100, 0, -5):
        try:
            data, background = compress_to_size(image, size, roi=mask, roi_quality=region_quality)
            return data, background, region_quality
        except LicodecError:
            continue
    raise LicodecError(f"no ROI file fits in {size} bytes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kodak", type=Path, default=ROOT.parent / "shared" / "data" / "kodak")
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--qualities", default="30,45,60,75", help="uniform qualities, comma-separated")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    images = []  # (name, image, pixels, region, mask), prepared once for every quality
    for path in sorted(args.kodak.glob("*.png"))[: args.images]:
        image = Image.open(path).convert("RGB")
        original = np.asarray(image)
        inside = central_region(*original.shape[:2])
        images.append((path.stem, image, original, inside, Image.fromarray((inside * 255).astype(np.uint8))))
    summary = []
    for quality in [int(q) for q in args.qualities.split(",")]:
        rows = []
        for stem, image, original, inside, mask in images:
            uniform = licodec.compress(image, quality=quality)
            focused, background, region = fit_with_region(image, len(uniform), mask)
            u_in, u_out = region_psnrs(original, np.asarray(licodec.decompress(uniform)), inside)
            f_in, f_out = region_psnrs(original, np.asarray(licodec.decompress(focused)), inside)
            rows.append((u_in, u_out, f_in, f_out))
            print(
                f"q{quality} {stem}: uniform {len(uniform)} B, in {u_in:.2f} / out {u_out:.2f} dB | ROI {len(focused)} B "
                f"(region q{region}, background q{background:g}), in {f_in:.2f} / out {f_out:.2f} dB",
                flush=True,
            )
        r = np.array(rows)
        summary.append((quality, r[:, 2].mean() - r[:, 0].mean(), r[:, 3].mean() - r[:, 1].mean()))
    print(f"\nmean over {len(images)} images at equal size (region = central quarter of the area):")
    for quality, gain_in, change_out in summary:
        print(f"  uniform q{quality}: inside {gain_in:+.2f} dB, outside {change_out:+.2f} dB")


if __name__ == "__main__":
    main()
