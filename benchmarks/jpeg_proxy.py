"""How well the differentiable JPEG proxy tracks real libjpeg-turbo files (and refit its rate model).

    .venv/bin/python benchmarks/jpeg_proxy.py [--data ../shared/data/train] [--crops 60] [--fit]

Takes random crops (64 to 320 px a side) of training photos, encodes each with Pillow's JPEG
(4:2:0, qualities 10..95) and with the proxy, and prints the Pearson correlation
of proxy bits vs real file bits, the median relative size error, and the mean
PSNR of the proxy's reconstruction against the real decoded JPEG. ``--fit``
refits the rate coefficients (least squares) and prints them for
``licodec/jpeg_tools/jpeg_proxy.py``.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from licodec.image_folders import find_images
from licodec.jpeg_tools import jpeg_proxy as proxy

ROOT = Path(__file__).resolve().parent.parent
QUALITIES = (10, 25, 40, 55, 70, 85, 95)


def features(x: torch.Tensor, quality: float) -> np.ndarray:
    """(sum log2(1+|q|), nonzero count, blocks, 1) of the proxy's hard-rounded coefficients."""
    ycc = proxy.rgb_to_ycbcr(x)
    planes = [ycc[:, 0], torch.nn.functional.avg_pool2d(ycc[:, 1:2], 2)[:, 0], torch.nn.functional.avg_pool2d(ycc[:, 2:3], 2)[:, 0]]
    tables = [proxy.scaled_table(proxy.LUMA_TABLE, quality)] + [proxy.scaled_table(proxy.CHROMA_TABLE, quality)] * 2
    f = np.array([0.0, 0.0, 0.0, 1.0])
    for plane, table in zip(planes, tables):
        q = torch.round(proxy.DCT @ proxy.blocks(plane - 128.0) @ proxy.DCT.T / table)
        f += [float(torch.log2(1 + q.abs()).sum()), float((q != 0).sum()), q.shape[1] * q.shape[2], 0.0]
    return f


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "train")
    parser.add_argument("--crops", type=int, default=60)
    parser.add_argument("--fit", action="store_true")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    paths = find_images([args.data])
    rows = []
    for _i in range(args.crops):
        side_h, side_w = (int(v) * 16 for v in rng.integers(4, 21, size=2))
        with Image.open(paths[int(rng.integers(len(paths)))]) as im:
            im = im.convert("RGB")
            left, top = int(rng.integers(im.width - side_w + 1)), int(rng.integers(im.height - side_h + 1))
            crop = im.crop((left, top, left + side_w, top + side_h))
        x = torch.from_numpy(np.asarray(crop, dtype=np.float32)).permute(2, 0, 1)[None]
        for q in QUALITIES:
            buffer = io.BytesIO()
            crop.save(buffer, format="JPEG", quality=q)
            real = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"), dtype=np.float64)
            with torch.no_grad():
                decoded, bits = proxy.jpeg_proxy(x, q)
            diff = np.mean((decoded[0].permute(1, 2, 0).numpy() - real) ** 2)
            rows.append((len(buffer.getvalue()) * 8, float(bits), features(x, q), 10 * np.log10(255**2 / max(diff, 1e-10))))
    real_bits = np.array([r[0] for r in rows], dtype=np.float64)
    if args.fit:
        design = np.stack([r[2] for r in rows])
        coef, *_ = np.linalg.lstsq(design, real_bits, rcond=None)
        print(f"fitted RATE_COEFFICIENTS = ({coef[0]:.3f}, {coef[1]:.3f}, {coef[2]:.3f}, {coef[3]:.1f})")
        estimated = design @ coef
    else:
        estimated = np.array([r[1] for r in rows])
    correlation = np.corrcoef(real_bits, estimated)[0, 1]
    relative = np.abs(estimated - real_bits) / real_bits
    print(
        f"{args.crops} crops x {len(QUALITIES)} qualities: Pearson r = {correlation:.4f}, "
        f"median |size error| = {100 * np.median(relative):.1f}%, 90th percentile = {100 * np.percentile(relative, 90):.1f}%"
    )
    print(f"proxy reconstruction vs real decoded JPEG: mean PSNR {np.mean([r[3] for r in rows]):.1f} dB")


if __name__ == "__main__":
    main()
