"""How much can a pre-filter gain before JPEG? Fixed filters and the trained one, measured on real files.

    .venv/bin/python benchmarks/prefilter_baselines.py [--crops 24] [--weights FILE.safetensors]

For held-out crops of the training set, at several qualities, prints the change of
``bpp + lambda * (1 - MS-SSIM)`` against plain JPEG on the same crops, with
``lambda`` the slope of plain JPEG's own MS-SSIM curve at that quality (the
objective the learned pre-filter is trained on). A negative change is a point
below JPEG's curve; roughly, the rate saved at equal MS-SSIM is the cost change
divided by the rate's share of the cost. Gaussian blurs and unsharp masks of a few
strengths show what simple edits achieve; ``--weights`` adds a trained pre-filter.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageFilter

from licodec.codecs import jpeg
from licodec.jpeg_tools.prefilter import load_prefilter
from licodec.metrics import ms_ssim
from licodec.train.data import sample_batch
from licodec.train.prefilter import _split_images, _to_uint8, operating_points

ROOT = Path(__file__).resolve().parent.parent
QUALITIES = (20, 40, 60, 80, 90)


def cost_change(crops: list[Image.Image], edit, quality: int, lmbda: float) -> float:
    """Relative change of the summed cost when every crop is edited before coding."""
    plain = edited = 0.0
    for crop in crops:
        for source, is_edited in ((crop, False), (edit(crop), True)):
            data = jpeg.encode(source, quality)
            with Image.open(io.BytesIO(data)) as decoded:
                cost = 8 * len(data) / (crop.width * crop.height) + lmbda * (1 - ms_ssim(crop, decoded.convert("RGB")))
            if is_edited:
                edited += cost
            else:
                plain += cost
    return edited / plain - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "train"))
    parser.add_argument("--crops", type=int, default=24)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--weights", help="a trained pre-filter (.safetensors) to measure beside the fixed filters")
    args = parser.parse_args()
    torch.set_num_threads(1)
    _, held_out = _split_images([args.data], args.size)
    crops = [Image.fromarray(_to_uint8(c)) for c in torch.round(sample_batch(held_out, 5, 0, args.crops, args.size) * 255) / 255]
    points = operating_points([np.asarray(c) for c in crops], QUALITIES)
    edits = {f"blur {s}": (lambda s: lambda im, q: im.filter(ImageFilter.GaussianBlur(s)))(s) for s in (0.4, 0.6, 0.8)}
    edits |= {f"unsharp {p}%": (lambda p: lambda im, q: im.filter(ImageFilter.UnsharpMask(2, p, 0)))(p) for p in (15, 30)}
    if args.weights:
        model = load_prefilter(args.weights)
        edits[Path(args.weights).stem] = lambda im, q: model.apply(im, points[q].strength)
    print(f"{len(crops)} held-out {args.size}-px crops; cost change vs plain JPEG (negative = below its curve)")
    print(f"{'edit':<28}" + "".join(f"{'q' + str(q):>9}" for q in QUALITIES))
    print(f"{'lambda':<28}" + "".join(f"{points[q].lmbda:>9.1f}" for q in QUALITIES))
    for name, edit in edits.items():
        changes = [cost_change(crops, lambda im: edit(im, q), q, points[q].lmbda) for q in QUALITIES]
        print(f"{name:<28}" + "".join(f"{100 * c:>8.2f}%" for c in changes), flush=True)


if __name__ == "__main__":
    main()
