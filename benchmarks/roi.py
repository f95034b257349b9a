"""Region-of-interest coding against uniform coding at the same file size, on Kodak.

    .venv/bin/python benchmarks/roi.py [--kodak ../shared/data/kodak] [--images 8] [--quality 60]

For each image, the region is the central rectangle (half the width and height).
Uniform coding at --quality gives a file of S bytes; ROI coding with the region at
quality 100 searches the background quality for the largest file of at most S
bytes. Prints PSNR inside and outside the region for both.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import licodec
from licodec.api import compress_to_size

ROOT = Path(__file__).resolve().parent.parent


def region_psnrs(original: np.ndarray, decoded: np.ndarray, inside: np.ndarray) -> tuple[float, float]:
    def masked(mask):
        diff = (original.astype(np.float64) - decoded.astype(np.float64))[mask]
        return 10 * np.log10(255**2 / np.mean(diff**2))

    return masked(inside), masked(~inside)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kodak", type=Path, default=ROOT.parent / "shared" / "data" / "kodak")
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--quality", type=int, default=60)
    args = parser.parse_args()
    torch.set_num_threads(2)
    rows = []
    for path in sorted(args.kodak.glob("*.png"))[: args.images]:
        image = Image.open(path).convert("RGB")
        w, h = image.size
        inside = np.zeros((h, w), dtype=bool)
        inside[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4] = True
        mask = Image.fromarray((inside * 255).astype(np.uint8))
        original = np.asarray(image)
        uniform = licodec.compress(image, quality=args.quality)
        focused, background_quality = compress_to_size(image, len(uniform), roi=mask, roi_quality=100)
        u_in, u_out = region_psnrs(original, np.asarray(licodec.decompress(uniform)), inside)
        f_in, f_out = region_psnrs(original, np.asarray(licodec.decompress(focused)), inside)
        rows.append((u_in, u_out, f_in, f_out))
        print(
            f"{path.stem}: uniform {len(uniform)} B, in {u_in:.2f} / out {u_out:.2f} dB | "
            f"ROI {len(focused)} B (background q {background_quality:g}), in {f_in:.2f} / out {f_out:.2f} dB"
        )
    r = np.array(rows)
    print(
        f"mean over {len(rows)} images at equal size: inside {r[:, 2].mean() - r[:, 0].mean():+.2f} dB, "
        f"outside {r[:, 3].mean() - r[:, 1].mean():+.2f} dB"
    )


if __name__ == "__main__":
    main()
