"""Arguments of ``licodec train`` (also ``python -m licodec.train``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from licodec.models.config import LADDERS, SHIPPED_CONFIG, CodecConfig

DEFAULT_CACHE = Path.home() / ".cache" / "licodec" / "runs"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", nargs="+", help="image folders, searched recursively")
    parser.add_argument("--run", default="licodec-mse", help="run name; checkpoints go to ~/.cache/licodec/runs/RUN")
    parser.add_argument("--run-dir", type=Path, help="explicit run directory (overrides --run)")
    parser.add_argument("--architecture", default="he2021-checkerboard")
    parser.add_argument("--channels", type=int, default=SHIPPED_CONFIG.channels)
    parser.add_argument("--latent-channels", type=int, default=SHIPPED_CONFIG.latent_channels)
    parser.add_argument("--hyper-channels", type=int, default=SHIPPED_CONFIG.hyper_channels)
    parser.add_argument("--decoder-widths", default=",".join(map(str, SHIPPED_CONFIG.decoder_widths)))
    parser.add_argument("--lambdas", help="one multiplier per rung (default: the ladder for --distortion)")
    parser.add_argument("--distortion", choices=["mse", "ms-ssim"], default="mse")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--crop", type=int, help="training crop side (default 128; 192 for ms-ssim, whose scales need it)")
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--lr-drop-at", type=int)
    parser.add_argument("--ema-decay", type=float, default=0.999, help="decay of the shipped weight average")
    parser.add_argument(
        "--mixed-precision", action="store_true", help="bfloat16 hidden layers in the main transforms (faster on AVX-512 CPUs, far slower without)"
    )
    parser.add_argument("--compile", action="store_true", help="torch.compile the training pass (needs a C++ compiler)")
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--checkpoint-minutes", type=float, default=10.0)
    parser.add_argument("--validate-every", type=int, default=2000)
    parser.add_argument("--log-every", type=int, default=20, help="steps between JSON-lines log rows")
    parser.add_argument("--resume", action="store_true", help="continue the run's checkpoint exactly")
    parser.add_argument("--init-weights", type=Path, help="start from a shipped .safetensors (fresh optimizer)")
    parser.add_argument("--export", type=Path, help="after training, write fp16 weights + coding tables here")
    parser.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace) -> int:
    from licodec.train.loop import MS_SSIM_MIN_CROP, Trainer, TrainSettings, bfloat16_is_fast

    if args.mixed_precision and not bfloat16_is_fast():
        print("licodec: warning: this CPU has no native bfloat16 (no AVX-512): --mixed-precision will be far slower than float32", file=sys.stderr)

    config = CodecConfig(
        channels=args.channels,
        latent_channels=args.latent_channels,
        hyper_channels=args.hyper_channels,
        decoder_widths=tuple(int(v) for v in args.decoder_widths.split(",")),
        lambdas=tuple(float(v) for v in args.lambdas.split(",")) if args.lambdas else LADDERS[args.distortion],
        distortion=args.distortion,
    )
    settings = TrainSettings(
        data=[str(d) for d in args.data],
        run_dir=str(args.run_dir or DEFAULT_CACHE / args.run),
        architecture=args.architecture,
        config=config,
        batch_size=args.batch_size,
        crop=args.crop or (MS_SSIM_MIN_CROP if args.distortion == "ms-ssim" else 128),
        learning_rate=args.lr,
        lr_drop_at=args.lr_drop_at,
        ema_decay=args.ema_decay,
        mixed_precision=args.mixed_precision,
        compile=args.compile,
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
