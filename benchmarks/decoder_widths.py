"""What a wider synthesis transform costs in decode time, as a ratio to the shipped widths, in one run.

    .venv/bin/python benchmarks/decoder_widths.py [--widths 160,160,80 192,160,64 128,128,96] [--repeats 5] [--threads 2]

g_s alone on a Kodak-sized latent (768x512 pixels, random weights: only the time
means anything), channels-last as decoding runs it, best of --repeats. The shipped
default's whole decode is about twice its g_s (docs/results.md), so a g_s ratio r
makes a decode about (1 + r) / 2 times as long.
"""

from __future__ import annotations

import argparse
import time

import torch

from licodec.models import SHIPPED_CONFIG
from licodec.models.transforms import synthesis_transform


def widths(text: str) -> tuple[int, int, int]:
    a, b, c = (int(v) for v in text.split(","))
    return a, b, c


def seconds(layer_widths: tuple[int, int, int], repeats: int) -> float:
    m = SHIPPED_CONFIG.latent_channels
    net = synthesis_transform(m, layer_widths).eval().to(memory_format=torch.channels_last)
    y = torch.randn(1, m, 32, 48).contiguous(memory_format=torch.channels_last)
    best = float("inf")
    with torch.no_grad():
        for _ in range(repeats):
            start = time.perf_counter()
            net(y)
            best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--widths", type=widths, nargs="+", default=[(160, 160, 80), (192, 160, 64), (128, 128, 96), (192, 192, 96)])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    shipped = seconds(SHIPPED_CONFIG.decoder_widths, args.repeats)
    print(f"g_s {SHIPPED_CONFIG.decoder_widths}: {shipped:.3f} s (the shipped widths)")
    for candidate in args.widths:
        t = seconds(candidate, args.repeats)
        print(f"g_s {candidate}: {t:.3f} s, {t / shipped:.2f} x")


if __name__ == "__main__":
    main()
