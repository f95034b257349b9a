"""Does shipping the weights as they are stored cost rate-distortion? Measured, not assumed.

    .venv/bin/python benchmarks/half_precision.py CHECKPOINT [--kodak ../shared/data/kodak] [--images 8]

Exports CHECKPOINT twice: as shipped (float16, and the encoder-only kernels in 12 bits)
and in float32 (the integer coding tables are compiled from float32 either way), codes
the images at several qualities with both, and prints the PSNR and MS-SSIM BD-rates of
the shipped form ("float16") against float32.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
from PIL import Image

import licodec
from licodec.eval.bdrate import bd_rate
from licodec.eval.runner import quick_curve
from licodec.models import load_weights, save_weights
from licodec.train.loop import export_checkpoint

ROOT = Path(__file__).resolve().parent.parent
QUALITIES = (10, 30, 50, 70, 90)


def curve(model, images) -> dict:
    encode = lambda image, q: licodec.compress(image, quality=q, model=model)
    return quick_curve(encode, lambda data: licodec.decompress(data, model=model), images, QUALITIES)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--kodak", type=Path, default=ROOT.parent / "shared" / "data" / "kodak")
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    images = [Image.open(p).convert("RGB") for p in sorted(args.kodak.glob("*.png"))[: args.images]]
    with tempfile.TemporaryDirectory() as tmp:
        half = Path(tmp) / "half.safetensors"
        full = Path(tmp) / "full.safetensors"
        export_checkpoint(args.checkpoint, half, "check")
        model, _ = load_weights(half)
        fp32_model, _ = load_weights(half)
        state = torch.load(args.checkpoint, weights_only=False, map_location="cpu")
        fp32_model.load_state_dict(state.get("ema") or state["model"])  # the weights export ships
        save_weights(fp32_model, full, "check", half_precision=False)
        fp32_model, _ = load_weights(full)
        fp16 = curve(model, images)
        fp32 = curve(fp32_model, images)
    for i, q in enumerate(QUALITIES):
        print(
            f"q{q:>3}: float32 {fp32['bpp'][i]:.4f} bpp {fp32['psnr-rgb'][i]:.3f} dB {fp32['ms-ssim-rgb'][i]:.5f}"
            f" | float16 {fp16['bpp'][i]:.4f} bpp {fp16['psnr-rgb'][i]:.3f} dB {fp16['ms-ssim-rgb'][i]:.5f}"
        )
    for metric, label in (("psnr-rgb", "PSNR"), ("ms-ssim-rgb", "MS-SSIM")):
        print(f"{label} BD-rate of float16 against float32 weights: {bd_rate(fp32, fp16, metric):+.3f}% ({len(images)} images)")


if __name__ == "__main__":
    main()
