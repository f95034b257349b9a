"""Seconds to decode lossless Kodak files with the shipped model, each checked exact.

    python benchmarks/lossless_decode.py ../shared/data/kodak --images 1,5,13,23 --profile default

Run it with nothing else on the machine: it decodes on every core (2 here).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from PIL import Image

import licodec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kodak", type=Path)
    parser.add_argument("--images", default="1,5,13,23", help="Kodak image numbers")
    parser.add_argument("--profile", default="default")
    args = parser.parse_args()
    for number in args.images.split(","):
        image = Image.open(args.kodak / f"kodim{int(number):02d}.png").convert("RGB")
        data = licodec.compress(image, lossless=True, lossless_profile=args.profile)
        start = time.perf_counter()
        decoded = licodec.decompress(data)
        seconds = time.perf_counter() - start
        exact = np.array_equal(np.asarray(decoded), np.asarray(image))
        print(
            f"kodim{int(number):02d}: {seconds:.2f} s to decode {len(data)} bytes ({8 * len(data) / (3 * image.width * image.height):.3f} bits per sub-pixel), exact: {exact}"
        )


if __name__ == "__main__":
    main()
