"""Memory and time for a very large image through the default model (tiled coding).

    .venv/bin/python benchmarks/large_image.py [--side 8000]

Builds a smooth synthetic photo of SIDE x SIDE pixels, compresses and decompresses
it with the default model, and prints the time and the process's peak resident memory.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import torch

import licodec


def synthetic_photo(side: int) -> np.ndarray:
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32)
    channels = [128 + 90 * np.sin(xx / (37 + 11 * c)) * np.cos(yy / (53 + 7 * c)) for c in range(3)]
    return np.clip(np.stack(channels, axis=-1), 0, 255).astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--side", type=int, default=8000)
    args = parser.parse_args()
    torch.set_num_threads(2)
    image = synthetic_photo(args.side)
    start = time.perf_counter()
    data = licodec.compress(image, quality=50)
    encoded = time.perf_counter()
    decoded = licodec.decompress(data)
    done = time.perf_counter()
    assert decoded.size == (args.side, args.side)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.side}x{args.side}: {len(data)} bytes ({len(data) * 8 / args.side**2:.4f} bpp)")
    print(f"encode {encoded - start:.1f} s, decode {done - encoded:.1f} s, peak RSS {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
