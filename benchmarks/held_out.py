"""BD-rate between training checkpoints on the held-out crops, read from the runs' logs (or measured, for a weights file).

    .venv/bin/python benchmarks/held_out.py RUN[@STEP] RUN[@STEP] [...] [--data ../shared/data/train]

Each argument names a run directory (or a run under ``~/.cache/licodec/runs``)
and optionally a step with a logged validation (default: the run's last), or a
``.safetensors`` weights file, which is validated here as training would (so a
run that started from shipped weights can be compared with them). The
first is the anchor; every other prints its PSNR BD-rate against it, for the
averaged weights that export ships (``validation_ema``) and for the live ones.
The held-out figures are estimated bpp and PSNR of 256-pixel centre crops of 16
training-set images held out by name, so they steer training decisions; a
release is judged on Kodak with ``benchmarks/rd_kodak.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from safetensors import safe_open

from licodec.cli.train import DEFAULT_CACHE
from licodec.eval.bdrate import bd_rate


def validation_row(spec: str, data: Path) -> dict:
    """The logged validation row of ``RUN[@STEP]`` (the last one if no step), or a weights file's, measured."""
    if spec.endswith(".safetensors"):
        return weights_validation_row(Path(spec), data)
    run, _, step = spec.partition("@")
    log = Path(run) / "log.jsonl" if Path(run).is_dir() else DEFAULT_CACHE / run / "log.jsonl"
    if not log.is_file():
        sys.exit(f"held_out: no training log at {log}")
    rows = [row for row in map(json.loads, log.read_text().splitlines()) if "validation" in row]
    if step:
        rows = [row for row in rows if row["step"] == int(step)]
    if not rows:
        sys.exit(f"held_out: no validation logged in {log}" + (f" at step {step}" if step else ""))
    return rows[-1]


def weights_validation_row(weights: Path, data: Path) -> dict:
    """The held-out row a training run would log for ``weights`` (live and averaged weights are the same here)."""
    import tempfile

    from licodec.image_folders import find_images
    from licodec.models import CodecConfig
    from licodec.train.data import is_validation, load_images
    from licodec.train.loop import Trainer, TrainSettings

    if not weights.is_file():
        sys.exit(f"held_out: no weights file {weights}")
    with safe_open(str(weights), framework="numpy") as handle:
        metadata = handle.metadata()
    config = CodecConfig.from_json(metadata["config"])
    with tempfile.TemporaryDirectory() as run_dir:
        settings = TrainSettings(data=[str(data)], run_dir=run_dir, architecture=metadata["architecture"], config=config)
        trainer = Trainer(settings, init_weights=weights)
        held_out = [p for p in find_images([data]) if is_validation(p, trainer.settings.validation_fraction)]
        rows = trainer.validate(load_images(held_out, 64))
    return {"step": 0, "validation": rows, "validation_ema": rows}


def curve(rows: list[dict]) -> dict[str, list[float]]:
    return {"bpp": [r["bpp"] for r in rows], "psnr-rgb": [r["psnr"] for r in rows]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+", metavar="RUN[@STEP]|WEIGHTS.safetensors")
    parser.add_argument("--data", type=Path, default=Path("../shared/data/train"), help="training folder (for weights files)")
    args = parser.parse_args()
    anchor_spec, *others = args.checkpoints
    anchor = validation_row(anchor_spec, args.data)
    print(f"anchor {anchor_spec} (step {anchor['step']})")
    for spec in others:
        row = validation_row(spec, args.data)
        figures = [
            f"{kind} {bd_rate(curve(anchor[key]), curve(row[key])):+.2f}%"
            for kind, key in (("averaged", "validation_ema"), ("live", "validation"))
            if key in anchor and key in row
        ]
        print(f"{spec} (step {row['step']}): PSNR BD-rate {', '.join(figures)}")


if __name__ == "__main__":
    main()
