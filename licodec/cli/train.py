"""``licodec train model | lossless | tables | prefilter | postfilter`` and ``licodec export``: making the shipped weights.

The training machinery (PyTorch) is imported when a command runs, not when the parser is built.
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

from licodec.cli.args import (
    crop_side,
    decay,
    float_list,
    int_list,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
    quality_list,
    rate_ladder,
    step_pair,
)
from licodec.cli.files import fresh_output
from licodec.errors import LicodecError
from licodec.jpeg_tools.qtables import ANCHOR_QUALITIES, METRICS, save_table_set
from licodec.models.config import LADDERS, SHIPPED_CONFIG, CodecConfig
from licodec.options import TASKS

DEFAULT_CACHE = Path.home() / ".cache" / "licodec" / "runs"
"""Where ``licodec train model --run NAME`` keeps its checkpoints."""

TRAINERS = ("model", "lossless", "tables", "rate-control", "prefilter", "postfilter")
"""What ``licodec train`` trains."""


def add_commands(sub: argparse._SubParsersAction) -> None:
    train = sub.add_parser("train", help="train a model or a learned JPEG tool on image folders")
    kinds = train.add_subparsers(dest="trainer", required=True, metavar="{" + ",".join(TRAINERS) + "}")
    add_model_arguments(kinds.add_parser("model", help="train a learned codec (resumable)"))
    add_lossless_arguments(kinds.add_parser("lossless", help="train the multi-scale lossless model (resumable)"))
    add_tables_arguments(kinds.add_parser("tables", help="learn JPEG quantisation tables on the real encoder"))
    add_rate_control_arguments(kinds.add_parser("rate-control", help="learn a VP9 rate control from searched optimal trajectories"))
    for name, summary, steps, batch_size in (
        ("prefilter", "train a JPEG pre-filter through the differentiable JPEG proxy", 2500, 8),
        ("postfilter", "train a bank of JPEG or AVIF post-filters competitively", 2000, 16),
    ):
        add_filter_arguments(kinds.add_parser(name, help=summary), name, steps, batch_size)

    p = sub.add_parser("export", help="write a training checkpoint's weights as a shipped .safetensors file")
    p.add_argument("checkpoint", type=Path)
    p.add_argument("output", type=Path, help="the .safetensors file to write")
    p.add_argument("name", help="the model's registry name, stored in the file")
    p.add_argument("--prior-steps", type=non_negative_int, help="training steps before this run (if its starting weights did not record them)")
    p.add_argument("--prior-cpu-hours", type=non_negative_float, help="CPU-hours before this run (with --prior-steps)")
    p.add_argument("--force", action="store_true", help="replace an existing output")
    p.set_defaults(func=cmd_export)


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
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
    parser.add_argument(
        "--distortion",
        choices=list(LADDERS),
        default="mse",
        help="what the rate is traded against: MSE, MS-SSIM, or perceptual (1 - MS-SSIM + LPIPS; needs 'licodec fetch perceptual')",
    )
    parser.add_argument("--batch-size", type=positive_int, default=8)
    parser.add_argument("--crop", type=crop_side, help="training crop side, a multiple of 64 (default 128; 192 for ms-ssim, whose scales need it)")
    parser.add_argument("--lr", type=positive_float, default=1e-4)
    parser.add_argument("--lr-drop-at", type=non_negative_int)
    parser.add_argument("--ema-decay", type=decay, default=0.999, help="decay of the shipped weight average")
    parser.add_argument(
        "--mixed-precision", action="store_true", help="bfloat16 hidden layers in the main transforms (faster on AVX-512 CPUs, far slower without)"
    )
    parser.add_argument("--compile", action="store_true", help="torch.compile the training pass (needs a C++ compiler)")
    parser.add_argument("--device", default="cpu", help="cpu (default), or cuda: train on a GPU, with bfloat16 hidden layers; give it larger batches")
    parser.add_argument("--steps", type=positive_int, default=1_000_000)
    parser.add_argument("--seed", type=non_negative_int, default=0)
    parser.add_argument("--threads", type=positive_int, default=2)
    parser.add_argument("--checkpoint-minutes", type=positive_float, default=10.0)
    parser.add_argument("--validate-every", type=positive_int, default=2000)
    parser.add_argument("--log-every", type=positive_int, default=20, help="steps between JSON-lines log rows")
    parser.add_argument("--resume", action="store_true", help="continue the run's checkpoint exactly")
    parser.add_argument("--force", action="store_true", help="start the run over, replacing its checkpoint (and the --export file)")
    parser.add_argument("--init-weights", type=Path, help="start from a shipped .safetensors (fresh optimizer)")
    parser.add_argument(
        "--task", choices=TASKS,
        help="code for a machine: train on text images drawn on the training split of the photographs, with the machine's loss "
        "(ocr: PP-OCR's detector and recogniser, the machines extra) added to the distortion",
    )  # fmt: skip
    parser.add_argument("--task-weight", type=positive_float, default=1000.0, help="the task loss's weight beside 255^2 * MSE (default 1000)")
    parser.add_argument(
        "--adversarial", type=positive_float, metavar="WEIGHT",
        help="fine-tune the decoder alone against a patch discriminator (against upsampling artefacts; the encoder and entropy model stay), "
        "its loss weighted beside the distortion (both times the rung's lambda); start from --init-weights",
    )  # fmt: skip
    parser.add_argument(
        "--decoder-only", action="store_true",
        help="train the decoder alone (the encoder and entropy model, so the rates, stay those of --init-weights); --adversarial implies it",
    )  # fmt: skip
    parser.add_argument(
        "--conditional", action="store_true",
        help="with --adversarial: the discriminator also sees the quantised latent, so it judges texture given what was coded",
    )  # fmt: skip
    parser.add_argument(
        "--discriminator-lr", type=positive_float, default=1e-4,
        help="with --adversarial: the discriminator's Adam learning rate (its layers are spectrally normalised, so a short run needs a larger one)",
    )  # fmt: skip
    parser.add_argument("--export", type=Path, help="after training, write fp16 weights + coding tables here")
    parser.add_argument(
        "--distill-from", metavar="MODEL",
        help="distil a narrower decoder (--decoder-widths) from this trained model (a name or .safetensors): "
        "its features, then its images, then rate-distortion (docs/training.md)",
    )  # fmt: skip
    parser.add_argument(
        "--distill-stages", type=step_pair, metavar="A,B",
        help="the steps where the image stage and the rate-distortion stage begin (default: a fifth and half of --steps)",
    )  # fmt: skip
    parser.add_argument(
        "--l1-weights", type=float_list, metavar="W[,W...]",
        help="train a sparse latent: an L1 penalty on y (one weight per rung, or one for all) and y's channels that round "
        "to zero masked, in training and in the files, where the decoder skips them",
    )  # fmt: skip
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(func=cmd_train_model)


def add_lossless_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", nargs="+", help="image folders, searched recursively (JPEG files are left out)")
    p.add_argument("--run", default="licodec-lossless", help="run name; checkpoints go to ~/.cache/licodec/runs/RUN")
    p.add_argument("--run-dir", type=Path, help="explicit run directory (overrides --run)")
    p.add_argument("--width", type=positive_int, default=48, help="channels of the context network")
    p.add_argument("--context-layers", type=positive_int, default=4, help="3 x 3 layers of the context network")
    p.add_argument("--entry-width", type=positive_int, default=24, help="channels of the entries network")
    p.add_argument("--entry-layers", type=positive_int, default=2, help="3 x 3 layers of the entries network")
    p.add_argument("--head-width", type=positive_int, default=48, help="hidden channels of the head network")
    p.add_argument("--init-weights", type=Path, help="grow a fresh run from this lossless weights file (as many or fewer channels and layers)")
    p.add_argument("--steps", type=positive_int, default=20_000)
    p.add_argument("--batch-size", type=positive_int, default=16)
    p.add_argument("--crop", type=positive_int, default=64, help="side of the training crops, even")
    p.add_argument("--lr", type=positive_float, default=1e-3)
    p.add_argument("--lr-drop-at", type=non_negative_int)
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--threads", type=positive_int, default=2)
    p.add_argument("--checkpoint-minutes", type=positive_float, default=10.0)
    p.add_argument("--log-every", type=positive_int, default=50)
    p.add_argument("--device", default="cpu", help="cpu (default), or cuda: train on a GPU; give it larger batches")
    p.add_argument("--resume", action="store_true", help="continue the run's checkpoint exactly")
    p.add_argument("--force", action="store_true", help="start the run over, replacing its checkpoint (and the --export file)")
    p.add_argument("--export", type=Path, help="after training, write the lossless weights file here")
    p.set_defaults(func=cmd_train_lossless)


def add_tables_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", nargs="+", help="image folders, searched recursively")
    p.add_argument("-o", "--output", required=True, help="table-set file to write (.json)")
    p.add_argument("--metric", choices=METRICS, default="psnr", help="distortion the tables are optimised for")
    p.add_argument("--qualities", type=quality_list, default=list(ANCHOR_QUALITIES), help="anchor qualities, comma-separated")
    p.add_argument("--crops", type=positive_int, default=24, help="training crops the cost is measured on")
    p.add_argument("--crop", type=positive_int, default=256, help="crop side in pixels")
    p.add_argument("--passes", type=positive_int, default=2, help="coordinate-descent passes over the 128 entries")
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=cmd_train_tables)


def add_rate_control_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("clips", nargs="+", type=Path, help="training clips: video files, or folders of them ('licodec video clips' makes some)")
    p.add_argument("-o", "--output", required=True, help="policy file to write (.safetensors)")
    p.add_argument("--run-dir", type=Path, help=f"where searched trajectories are kept, so a rerun resumes (default {DEFAULT_CACHE}/rate-control)")
    p.add_argument("--targets", type=positive_int, default=2, help="targets per clip, log-uniform over 0.015-0.2 bits per pixel per frame")
    p.add_argument("--evaluations", type=positive_int, default=180, help="encodes the evolution strategy spends on each clip and target")
    p.add_argument("--frames", type=positive_int, default=30, help="frames of each clip to code")
    p.add_argument("--speed", type=non_negative_int, default=5, help="libvpx --cpu-used of every encode")
    p.add_argument("--steps", type=positive_int, default=300, help="imitation steps (300: the least error on held-out training clips)")
    p.add_argument(
        "--self-competition", type=non_negative_int, default=0, metavar="EPISODES", help="then fine-tune with this many self-competition episodes"
    )
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=cmd_train_rate_control)


def add_filter_arguments(p: argparse.ArgumentParser, name: str, steps: int, batch_size: int) -> None:
    p.add_argument("data", nargs="+", help="image folders, searched recursively")
    p.add_argument("-o", "--output", required=True, help="weights file to write (.safetensors)")
    p.add_argument("--steps", type=positive_int, default=steps)
    p.add_argument("--batch-size", type=positive_int, default=batch_size)
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--threads", type=positive_int, default=2)
    p.add_argument("--force", action="store_true")
    if name == "prefilter":
        p.add_argument("--tables", metavar="NAME", help="train for JPEG with these learned tables (psnr, ms-ssim or a file)")
        p.add_argument("--init", metavar="NAME", help="start from this pre-filter (name or file) instead of the identity")
        p.add_argument(
            "--objective", choices=["ms-ssim", "perceptual"], default="ms-ssim",
            help="what the cost weighs against bits: 1 - MS-SSIM, or 1 - MS-SSIM + LPIPS (needs 'licodec fetch perceptual')",
        )  # fmt: skip
        p.add_argument(
            "--adversarial", type=positive_float, metavar="WEIGHT",
            help="also train against a patch discriminator on the decoded files, its generator loss weighted beside the cost",
        )  # fmt: skip
    else:
        p.add_argument("--init", metavar="NAME", help="start from this bank (name or file) instead of near-identity filters")
        p.add_argument("--lr", type=positive_float, default=1e-3, help="learning rate (a tenth of it for the last quarter)")
        p.add_argument("--codec", choices=["jpeg", "avif"], default="jpeg", help="the standard codec whose decodes the bank restores")
        p.add_argument("--task", choices=TASKS, help="train on text images for this machine, its task loss beside the distortion")
        p.add_argument("--task-weight", type=non_negative_float, default=30.0, help="dB of distortion one unit of task loss is worth")
    p.set_defaults(func=cmd_train_filter)


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


def cmd_train_model(args: argparse.Namespace) -> int:
    from licodec.train.distortion import MS_SSIM_MIN_CROP, needs_large_crops
    from licodec.train.loop import Trainer, TrainSettings, bfloat16_is_fast

    if args.mixed_precision and args.device == "cpu" and not bfloat16_is_fast():
        print("licodec: warning: this CPU has no native bfloat16 (no AVX-512): --mixed-precision will be far slower than float32", file=sys.stderr)
    config = CodecConfig(
        channels=args.channels,
        latent_channels=args.latent_channels,
        hyper_channels=args.hyper_channels,
        decoder_widths=args.decoder_widths,
        lambdas=args.lambdas or LADDERS[args.distortion],
        distortion=args.distortion,
        channel_mask=args.l1_weights is not None,
    )
    l1_weights = None if args.l1_weights is None else tuple(args.l1_weights) * (config.num_rates if len(args.l1_weights) == 1 else 1)
    settings = TrainSettings(
        data=[str(d) for d in args.data],
        run_dir=str(run_directory(args)),
        architecture=args.architecture,
        config=config,
        batch_size=args.batch_size,
        crop=args.crop or (MS_SSIM_MIN_CROP if needs_large_crops(args.distortion) else 128),
        learning_rate=args.lr,
        lr_drop_at=args.lr_drop_at,
        ema_decay=args.ema_decay,
        mixed_precision=args.mixed_precision,
        compile=args.compile,
        rung_weights=args.rung_weights,
        device=args.device,
        steps=args.steps,
        seed=args.seed,
        threads=args.threads,
        checkpoint_minutes=args.checkpoint_minutes,
        validate_every=args.validate_every,
        log_every=args.log_every,
        distill_from=args.distill_from,
        distill_stages=args.distill_stages,
        l1_weights=l1_weights,
        task=args.task,
        task_weight=args.task_weight,
        adversarial_weight=args.adversarial or 0.0,
        conditional_discriminator=args.conditional,
        discriminator_learning_rate=args.discriminator_lr,
        decoder_only=args.decoder_only,
    )
    trainer = Trainer(settings, init_weights=args.init_weights)
    trainer.run(resume=args.resume, progress=not args.no_progress)
    if args.export:
        print(f"exported {args.export} (weights hash {trainer.export(args.export, args.run)})")
    return 0


def cmd_train_lossless(args: argparse.Namespace) -> int:
    from licodec.lossless.model import LosslessConfig
    from licodec.train.lossless import LosslessTrainer, LosslessTraining, export_lossless

    settings = LosslessTraining(
        data=[str(d) for d in args.data],
        run_dir=str(run_directory(args)),
        steps=args.steps,
        batch_size=args.batch_size,
        crop=args.crop,
        learning_rate=args.lr,
        lr_drop_at=args.lr_drop_at,
        seed=args.seed,
        threads=args.threads,
        checkpoint_minutes=args.checkpoint_minutes,
        log_every=args.log_every,
        device=args.device,
        init_weights=str(args.init_weights) if args.init_weights else None,
        config=LosslessConfig(
            width=args.width,
            context_layers=args.context_layers,
            entry_width=args.entry_width,
            entry_layers=args.entry_layers,
            head_width=args.head_width,
        ),
    )
    trainer = LosslessTrainer(settings)
    trainer.run(resume=args.resume)
    if args.export:
        print(f"exported {args.export} (weights hash {export_lossless(trainer.checkpoint_path, args.export, args.run)})")
    return 0


def cmd_train_tables(args: argparse.Namespace) -> int:
    from licodec.train import jpeg_tables

    output = fresh_output(args.output, args.force)
    partial = output.with_name(f"{output.stem}.partial.json")  # each anchor is saved here as it is learned
    training = {"data": list(args.data), "crops": args.crops, "crop": args.crop, "seed": args.seed, "passes": args.passes}
    anchors = jpeg_tables.partial_anchors(partial, args.metric, training)
    if anchors:
        print(f"resuming from {partial}: qualities {', '.join(map(str, sorted(anchors)))} already learned")
    objective = jpeg_tables.TableObjective(jpeg_tables.training_crops(list(args.data), args.crops, args.crop, args.seed), args.metric)
    for quality in args.qualities:
        if quality not in anchors:
            anchors[quality] = jpeg_tables.learn_tables(objective, quality, passes=args.passes)
            save_table_set(partial, args.metric, anchors, training)
    anchors = {q: anchors[q] for q in args.qualities}
    save_table_set(output, args.metric, anchors, training)
    partial.unlink(missing_ok=True)
    print(f"wrote {output} ({len(anchors)} qualities, {objective.evaluations} real encodes of {args.crops} crops)")
    return 0


def cmd_train_rate_control(args: argparse.Namespace) -> int:
    from licodec.train import rate_control
    from licodec.video.io import list_clips

    output = fresh_output(args.output, args.force)
    clips = [clip for given in args.clips for clip in (list_clips(given) if given.is_dir() else [given])]
    missing = [str(clip) for clip in clips if not clip.is_file()]
    if missing:
        raise LicodecError(f"no such clip: {missing[0]}")
    run_dir = args.run_dir or DEFAULT_CACHE / "rate-control"
    run_dir.mkdir(parents=True, exist_ok=True)
    search = (args.targets, args.evaluations, args.frames, args.speed, args.seed)
    episodes = rate_control.search_all(clips, run_dir, *search, log=print)
    model = rate_control.fit_policy(episodes, steps=args.steps, seed=args.seed)
    if args.self_competition:
        encoders = rate_control.encoders(clips, args.targets, args.frames, args.speed, args.seed)
        reward = rate_control.self_competition(model, encoders, args.self_competition, seed=args.seed)
        print(f"self-competition: {args.self_competition} episodes, mean reward {reward:+.2f}")
    description = f"{len(episodes)} searched trajectories of {len(clips)} clips, {args.steps} imitation steps, {args.self_competition} self-competition episodes"
    print(f"wrote {output} (weights hash {rate_control.export_policy(model, output, description)}): {description}")
    return 0


def cmd_train_filter(args: argparse.Namespace) -> int:
    """train prefilter and train postfilter: the same arguments, each its own trainer."""
    import torch

    from licodec.train import postfilter, prefilter

    if args.trainer == "prefilter":
        settings = prefilter.PreFilterTraining(
            tables=args.tables, init=args.init, objective=args.objective, adversarial_weight=args.adversarial or 0.0, **_filter_settings(args)
        )
        train = prefilter.train_prefilter
    else:
        settings = postfilter.PostFilterTraining(
            **_filter_settings(args), init=args.init, learning_rate=args.lr, codec=args.codec, task=args.task, task_weight=args.task_weight
        )
        train = postfilter.train_postfilter
    torch.set_num_threads(args.threads)
    train(settings)
    print(f"wrote {settings.output}")
    return 0


def _filter_settings(args: argparse.Namespace) -> dict:
    output = fresh_output(args.output, args.force)
    return {"data": list(args.data), "output": str(output), "steps": args.steps, "batch_size": args.batch_size, "seed": args.seed}


def cmd_export(args: argparse.Namespace) -> int:
    """Ship a checkpoint's weights; the file's metadata counts the whole lineage.

    A run started with ``--init-weights`` recorded the training behind those weights;
    ``--prior-*`` overrides it, for runs whose starting weights did not carry their lineage.
    """
    from licodec.train.loop import Lineage, export_checkpoint

    if (args.prior_steps is None) != (args.prior_cpu_hours is None):
        raise LicodecError("give --prior-steps and --prior-cpu-hours together")
    if not args.checkpoint.is_file():
        raise LicodecError(f"{args.checkpoint}: no such checkpoint")
    output = fresh_output(args.output, args.force)
    prior = Lineage(args.prior_steps, args.prior_cpu_hours) if args.prior_steps is not None else None
    try:
        weights_hash = export_checkpoint(args.checkpoint, output, args.name, prior)
    except (OSError, RuntimeError, KeyError, pickle.UnpicklingError) as exc:
        raise LicodecError(f"{args.checkpoint} is not a licodec training checkpoint ({exc})") from None
    print(weights_hash)
    return 0
