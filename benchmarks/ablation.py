"""Architectural parts against the shipped default at an equal training budget: Kodak BD-rate, encode and decode time, in one run.

    .venv/bin/python benchmarks/ablation.py NAME=WEIGHTS.safetensors ... [--kodak ../shared/data/kodak] [--images 24]
        [--qualities 1,21,41,60,80,100] [--out results/ablation]

Each NAME=WEIGHTS is a candidate (``licodec export`` of a run); the shipped default is measured in the same run
as the reference, and the first candidate is the control (the default trained for the same steps of the same
recipe), so that "against the control" isolates what the part bought. For every image and quality, every model
encodes and decodes in turn (the same conditions for all: this machine is noisy), in this process, with 2 threads.
Prints, per model: the mean bpp and PSNR at each quality, the PSNR BD-rate (`bjontegaard`, Akima) against the default
and against the control over the rates both cover, the encode and decode seconds per image (mean over the run), and
the training each file records. ``--out`` also writes that table (``ablation.md``) and the curves and times
(``ablation.json``) there.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import licodec
from licodec.eval.bdrate import bd_rate
from licodec.metrics import bits_per_pixel, psnr
from licodec.storage import load_arrays

ROOT = Path(__file__).resolve().parent.parent


def candidate(text: str) -> tuple[str, Path]:
    name, _, path = text.partition("=")
    if not path:
        raise argparse.ArgumentTypeError(f"expected NAME=WEIGHTS.safetensors, not {text!r}")
    return name, Path(path)


def training_note(path: Path | None) -> str:
    """The steps and CPU-hours of the run a weights file came from, as its metadata records them."""
    if path is None:
        return "shipped"
    _, metadata = load_arrays(path, "weights", keep=lambda name: False)
    extra = json.loads(metadata.get("extra", "{}"))
    return ", ".join(f"{key} {extra[key]}" for key in ("run_steps", "run_cpu_hours", "run_gpu_hours") if key in extra) or "not recorded"


def measure(models: dict[str, licodec.models.LearnedCodec], images: list[np.ndarray], qualities: list[int]) -> dict[str, dict]:
    """Per model: bpp and PSNR per quality (means over the images), and encode/decode seconds per image."""
    rows = {name: {"bpp": {q: [] for q in qualities}, "psnr": {q: [] for q in qualities}, "encode": [], "decode": []} for name in models}
    for image in images:
        for quality in qualities:
            for name, model in models.items():
                start = time.perf_counter()
                data = licodec.compress(image, quality=quality, model=model)
                middle = time.perf_counter()
                decoded = licodec.decompress(data, model=model)
                rows[name]["encode"].append(middle - start)
                rows[name]["decode"].append(time.perf_counter() - middle)
                rows[name]["bpp"][quality].append(bits_per_pixel(len(data), image.shape[1], image.shape[0]))
                rows[name]["psnr"][quality].append(psnr(image, decoded))
    return {
        name: {
            "bpp": [statistics.fmean(row["bpp"][q]) for q in qualities],
            "psnr": [statistics.fmean(row["psnr"][q]) for q in qualities],
            "encode": statistics.fmean(row["encode"]),
            "decode": statistics.fmean(row["decode"]),
        }
        for name, row in rows.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("candidates", nargs="+", type=candidate, help="NAME=WEIGHTS.safetensors; the first is the control")
    parser.add_argument("--kodak", type=Path, default=ROOT.parent / "shared" / "data" / "kodak")
    parser.add_argument("--images", type=int, default=24)
    parser.add_argument("--qualities", default="1,21,41,60,80,100", help="comma-separated; the default is near the six rungs")
    parser.add_argument("--out", type=Path, help="a folder for ablation.md and ablation.json")
    args = parser.parse_args()
    torch.set_num_threads(2)
    qualities = [int(q) for q in args.qualities.split(",")]
    images = [np.asarray(Image.open(p).convert("RGB")) for p in sorted(args.kodak.glob("*.png"))[: args.images]]
    paths: dict[str, Path | None] = {"default (shipped)": None, **dict(args.candidates)}
    models = {name: licodec.load_model(str(path) if path else None) for name, path in paths.items()}
    results = measure(models, images, qualities)
    lines = report(results, paths, args.candidates[0][0], len(images), qualities)
    print("\n".join(lines))
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "ablation.md").write_text("\n".join(["```", *lines, "```", ""]))
        (args.out / "ablation.json").write_text(json.dumps({"qualities": qualities, "models": results}, indent=1))


def report(results: dict[str, dict], paths: dict[str, Path | None], control_name: str, count: int, qualities: list[int]) -> list[str]:
    """The table: BD-rates against the default and the control, times, training; then each model's curve."""
    reference, control = results["default (shipped)"], results[control_name]
    lines = [
        f"{count} Kodak images, qualities {qualities}, torch {torch.__version__}, {torch.get_num_threads()} threads",
        f"{'model':<20} {'BD vs default':>13} {'BD vs control':>13} {'encode s':>9} {'decode s':>9}  training",
    ]
    for name, row in results.items():
        against = [bd_rate(curve, row, "psnr") if row is not curve else 0.0 for curve in (reference, control)]
        lines.append(
            f"{name:<20} {against[0]:>12.2f}% {against[1]:>12.2f}% {row['encode']:>9.3f} {row['decode']:>9.3f}  {training_note(paths[name])}"
        )
    lines += ["", "per quality: bpp / PSNR"]
    lines += [f"{name:<20} " + "  ".join(f"{b:.3f}/{p:.2f}" for b, p in zip(row["bpp"], row["psnr"])) for name, row in results.items()]
    return lines


if __name__ == "__main__":
    main()
