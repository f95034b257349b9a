"""Arguments of ``licodec train`` (also ``python -m licodec.train``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from licodec.cli import _number, non_negative_int, positive_float, positive_int
from licodec.errors import LicodecError
from licodec.models.config import LADDERS, SHIPPED_CONFIG, CodecConfig

DEFAULT_CACHE = Path.home() / ".cache" / "licodec" / "runs"


def crop_side(text: str) -> int:
    """A training crop side: a positive multiple of 64, the network's total downsampling."""
    value = positive_int(text)
    if value % 64:
        raise argparse.ArgumentTypeError(f"the crop side must be a multiple of 64 (the network downsamples by 64), not {value}")
    return value


def int_list(text: str) -> tuple[int, ...]:
    """Comma-separated positive integers, e.g. ``128,128,64``."""
    return tuple(positive_int(part.strip()) for part in text.split(","))


def float_list(text: str) -> tuple[float, ...]:
    """Comma-separated positive numbers, e.g. ``1,1,2`` (``--rung-weights``: how often each rung is drawn, relative)."""
    return tuple(positive_float(part.strip()) for part in text.split(","))


def rate_ladder(text: str) -> tuple[float, ...]:
    """Comma-separated λ, one per rung, increasing (so that rate rises with quality); at least two."""
    values = float_list(text)
    if len(values) < 2 or any(b <= a for a, b in zip(values, values[1:])):
        raise argparse.ArgumentTypeError(f"expected at least two increasing multipliers, not {text!r}")
    return values


def decay(text: str) -> float:
    """An exponential-average decay in [0, 1): 1 would freeze the average at the initial weights."""
    value = _number(text, float, 0.0)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"expected a decay from 0 up to (not including) 1, not {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", nargs="+", help="image folders, searched recursively")
    parser.add_argument("--run", default="licodec-mse", help="run name; checkpoints go to ~/.cache/licodec/runs/RUN")
    parser.add_argument("--run-dir", type=Path, help="explicit run directory (overrides --run)")
    parser.add_argument("--architecture", default="he2021-checkerboard")
    parser.add_argument("--channels", type=positive_int, default=SHIPPED_CONFIG.channels)
    parser.add_argument("--latent-channels", type=positive_int, default=SHIPPED_CONFIG.latent_channels)
    parser.add_argument("--hyper-channels", type=positive_int, default=SHIPPED_CONFIG.hyper_channels)
    parser.add_argument("--decoder-widths", type=int_list, default=SHIPPED_CONFIG.decoder_widths)
    parser.add_argument("--lambdas", type=rate_ladder, help="one multiplier per rung, increasing (default: the ladder for --distortion)")
    parser.add_argument("--rung-weights", type=float_list, help="how often each rung is drawn, relative, one per rung (default: evenly)")
    parser.add_argument("--distortion", choices=["mse", "ms-ssim"], default="mse")
    parser.add_argument("--batch-size", type=positive_int, default=8)
    parser.add_argument("--crop", type=crop_side, help="training crop side, a multiple of 64 (default 128; 192 for ms-ssim, whose scales need it)")
    parser.add_argument("--lr", type=positive_float, default=1e-4)
    parser.add_argument("--lr-drop-at", type=non_negative_int)
    parser.add_argument("--ema-decay", type=decay, default=0.999, help="decay of the shipped weight average")
    parser.add_argument(
        "--mixed-precision", action="store_true", help="bfloat16 hidden layers in the main transforms (faster on AVX-512 CPUs, far slower without)"
    )
    parser.add_argument("--compile", action="store_true", help="torch.compile the training pass (needs a C++ compiler)")
    parser.add_argument("--steps", type=positive_int, default=1_000_000)
    parser.add_argument("--seed", type=non_negative_int, default=0)
    parser.add_argument("--threads", type=positive_int, default=2)
    parser.add_argument("--checkpoint-minutes", type=positive_float, default=10.0)
    parser.add_argument("--validate-every", type=positive_int, default=2000)
    parser.add_argument("--log-every", type=positive_int, default=20, help="steps between JSON-lines log rows")
    parser.add_argument("--resume", action="store_true", help="continue the run's checkpoint exactly")
    parser.add_argument("--force", action="store_true", help="start the run over, replacing its checkpoint (and the --export file)")
    parser.add_argument("--init-weights", type=Path, help="start from a shipped .safetensors (fresh optimizer)")
    parser.add_argument("--export", type=Path, help="after training, write fp16 weights + coding tables here")
    parser.add_argument("--no-progress", action="store_true")


def run_directory(args: argparse.Namespace) -> Path:
    """The run's folder, checked before any work: resuming needs a checkpoint; replacing one (or the --export file) needs --force."""
    if args.run_dir is None and (not args.run or Path(args.run).name != args.run or args.run in (".", "..")):
        raise LicodecError(f"--run takes a plain name, not {args.run!r}; give a path with --run-dir")
    run_dir = args.run_dir or DEFAULT_CACHE / args.run
    if run_dir.exists() and not run_dir.is_dir():
        raise LicodecError(f"{run_dir} is a file, not a run folder")
    checkpoint = run_dir / "checkpoint.pt"
    if args.resume and not checkpoint.exists():
        raise LicodecError(f"nothing to resume: {checkpoint} does not exist")
    if checkpoint.exists() and not (args.resume or args.force):
        raise LicodecError(f"{checkpoint} exists; pass --resume to continue that run, or --force to start it over")
    if args.resume and args.force:
        raise LicodecError("--resume and --force contradict each other")
    if args.export is not None and args.export.exists() and not args.force:
        raise LicodecError(f"{args.export} exists; pass --force to replace it when training ends")
    return run_dir


def run(args: argparse.Namespace) -> int:
    from licodec.train.loop import MS_SSIM_MIN_CROP, Trainer, TrainSettings, bfloat16_is_fast

    if args.mixed_precision and not bfloat16_is_fast():
        print("licodec: warning: this CPU has no native bfloat16 (no AVX-512): --mixed-precision will be far slower than float32", file=sys.stderr)

    config = CodecConfig(
        channels=args.channels,
        latent_channels=args.latent_channels,
        hyper_channels=args.hyper_channels,
        decoder_widths=args.decoder_widths,
        lambdas=args.lambdas or LADDERS[args.distortion],
        distortion=args.distortion,
    )
    settings = TrainSettings(
        data=[str(d) for d in args.data],
        run_dir=str(run_directory(args)),
        architecture=args.architecture,
        config=config,
        batch_size=args.batch_size,
        crop=args.crop or (MS_SSIM_MIN_CROP if args.distortion == "ms-ssim" else 128),
        learning_rate=args.lr,
        lr_drop_at=args.lr_drop_at,
        ema_decay=args.ema_decay,
        mixed_precision=args.mixed_precision,
        compile=args.compile,
        rung_weights=args.rung_weights,
        steps=args.steps,
        seed=args.seed,
        threads=args.threads,
        checkpoint_minutes=args.checkpoint_minutes,
        validate_every=args.validate_every,
        log_every=args.log_every,
    )
    trainer = Trainer(settings, init_weights=args.init_weights)
    trainer.run(resume=args.resume, progress=not args.no_progress)
    if args.export:
        print(f"exported {args.export} (weights hash {trainer.export(args.export, args.run)})")
    return 0
