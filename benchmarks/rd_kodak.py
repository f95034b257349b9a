"""Kodak rate-distortion of a shipped model, and its BD-rate against conventional codecs, in one run.

    .venv/bin/python benchmarks/rd_kodak.py [--model licodec-mse] [--kodak ../shared/data/kodak] [--out results/kodak] [--jobs 1]

Prints the model's curve (the default model unless --model) (bpp, PSNR, MS-SSIM per quality, averaged over
the images), its PSNR and MS-SSIM BD-rates against JPEG, WebP, HEIC and AVIF
(Akima, `bjontegaard`), its PSNR margin over each of them at each of its rates,
and how closely the model's own rate estimate predicts the real file sizes.
Results are cached in --out, so a re-run only measures what changed.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import torch

from licodec.eval.bdrate import bd_rate
from licodec.eval.runner import average_curve, evaluate
from licodec.image_folders import list_images

ROOT = Path(__file__).resolve().parent.parent
ANCHORS = ("jpeg", "webp", "heic", "avif")


def rate_estimate_agreement(images: list[Path], quality: int, model_name: str | None) -> tuple[float, float, float]:
    """(estimated bits, file bits in the plain coding mode, file bits as shipped) summed over ``images``."""
    import numpy as np
    from PIL import Image

    import licodec
    from licodec.api import _pad

    model = licodec.load_model(model_name)
    estimated = plain = shipped = 0.0
    for path in images:
        rgb = np.asarray(Image.open(path).convert("RGB"))
        x = _pad(torch.from_numpy(rgb.copy()).permute(2, 0, 1)[None].float() / 255, model.pad_multiple)
        with torch.no_grad():
            out = model(x, model.rate_position(quality))
        estimated += sum(float(-torch.log2(lik).sum()) for lik in out["likelihoods"].values())
        shipped += 8 * len(licodec.compress(rgb, quality=quality, model=model))
        plain += 8 * len(licodec.compress(rgb, quality=quality, model=model, local_models=False))
    return estimated, plain, shipped


def margins(ours: dict, anchor: dict, metric: str) -> list[float]:
    """Our quality minus the anchor's at each of our rates (log-rate interpolation of its curve); NaN outside its range."""
    import numpy as np

    log_rates = np.log(np.asarray(anchor["bpp"]))
    values = np.asarray(anchor[metric])
    order = np.argsort(log_rates)
    margins = []
    for bpp, value in zip(ours["bpp"], ours[metric]):
        inside = log_rates[order][0] <= math.log(bpp) <= log_rates[order][-1]
        margins.append(value - float(np.interp(math.log(bpp), log_rates[order], values[order])) if inside else math.nan)
    return margins


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kodak", type=Path, default=ROOT.parent / "shared" / "data" / "kodak")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "kodak")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--model", help="a shipped model (default: the default model)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    codec = f"licodec:{args.model}" if args.model else "licodec"
    torch.set_num_threads(args.threads)
    images = list_images(args.kodak)
    results = evaluate([codec, *ANCHORS], images, args.out, jobs=args.jobs)
    curves = {name: average_curve(rows) for name, rows in results.items()}
    ours = curves[codec]
    print(f"Kodak ({len(images)} images), {args.model or 'default model'}, averaged per quality:")
    print(f"{'quality':>8} {'bpp':>8} {'PSNR':>8} {'MS-SSIM':>8} {'enc s':>7} {'dec s':>7}")
    for i, q in enumerate(ours["quality"]):
        print(
            f"{q:>8} {ours['bpp'][i]:>8.4f} {ours['psnr-rgb'][i]:>8.3f} {ours['ms-ssim-rgb'][i]:>8.5f}"
            f" {ours['encoding_time'][i]:>7.3f} {ours['decoding_time'][i]:>7.3f}"
        )
    print(f"\nBD-rate of {args.model or 'licodec'} against (negative: fewer bits at equal quality):")
    for anchor in ANCHORS:
        psnr_bd = bd_rate(curves[anchor], ours, "psnr-rgb")
        ssim_bd = bd_rate(curves[anchor], ours, "ms-ssim-rgb")
        print(f"  {anchor:>6}: PSNR {psnr_bd:+.1f}%   MS-SSIM {ssim_bd:+.1f}%")
    above = {anchor: margins(ours, curves[anchor], "psnr-rgb") for anchor in ANCHORS}
    print("\nPSNR above each codec at the same bpp, per quality (its curve interpolated in log-rate):")
    for anchor, values in above.items():
        print(f"  {anchor:>6}: " + ", ".join("outside its range" if math.isnan(m) else f"{m:+.2f} dB" for m in values))
    reached = [m for m in above["jpeg"] if not math.isnan(m)]
    print(f"beats JPEG wherever JPEG's curve reaches: {'yes' if reached and all(m > 0 for m in reached) else 'no'}")
    estimated, plain, shipped = rate_estimate_agreement(images, 75, args.model)
    print(
        f"\nRate estimate vs real files at quality 75 (all images): estimated {estimated / 8:.0f} bytes; "
        f"files in the plain coding mode {plain / 8:.0f} bytes ({100 * (plain - estimated) / estimated:+.2f}%); "
        f"as shipped (coding mode chosen per tile) {shipped / 8:.0f} bytes ({100 * (shipped - estimated) / estimated:+.2f}%)"
    )
    if any(math.isnan(v) for v in ours["bpp"]):
        print("warning: some measurements are missing")


if __name__ == "__main__":
    main()
