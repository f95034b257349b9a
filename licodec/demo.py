"""``python -m licodec.demo``: compress and decompress the bundled sample with the default model."""

from __future__ import annotations

import sys
import time
from importlib import resources
from pathlib import Path

import torch
from PIL import Image

import licodec
from licodec.metrics import bits_per_pixel, ms_ssim, psnr

SAMPLE = "astronaut.png"  # NASA photograph of Eileen Collins, public domain (via scikit-image's data)


def main(out_dir: str = "out") -> int:
    torch.set_num_threads(2)
    sample = resources.files("licodec") / "data" / SAMPLE
    original = Image.open(sample).convert("RGB")
    model = licodec.load_model()
    # Warm-up round trip: the first call at a size builds the coder's table models and
    # oneDNN's kernels for those shapes, which would otherwise double the times shown.
    licodec.decompress(licodec.compress(original, quality=75, model=model))
    start = time.perf_counter()
    data = licodec.compress(original, quality=75, model=model)
    encode_ms = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    decoded = licodec.decompress(data)
    decode_ms = (time.perf_counter() - start) * 1000
    out = Path(out_dir)
    out.mkdir(exist_ok=True)
    (out / "astronaut.lic").write_bytes(data)
    decoded.save(out / "astronaut.png")
    w, h = original.size
    print(f"sample      {SAMPLE} ({w}x{h}), model {model.name}, quality 75")
    print(f"size        {len(data)} bytes, {bits_per_pixel(len(data), w, h):.4f} bpp")
    print(f"PSNR        {psnr(original, decoded):.2f} dB")
    print(f"MS-SSIM     {ms_ssim(original, decoded):.4f}")
    print(f"encode      {encode_ms:.0f} ms (after a warm-up, {torch.get_num_threads()} threads)")
    print(f"decode      {decode_ms:.0f} ms")
    print(f"wrote       {out / 'astronaut.lic'} and {out / 'astronaut.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
