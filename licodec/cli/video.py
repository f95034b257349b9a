"""``licodec video encode``: VP9 through libvpx, its rate control libvpx's own two-pass VBR or one of licodec's."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from licodec.cli.args import positive_int
from licodec.cli.files import fresh_output
from licodec.errors import LicodecError
from licodec.video.rate_control import RATE_CONTROLS, LearnedRateControl

CONTAINERS = (".webm", ".mkv", ".ivf")


def add_commands(sub: argparse._SubParsersAction) -> None:
    video = sub.add_parser("video", help="encode video as VP9 (libvpx) with a choice of rate control")
    commands = video.add_subparsers(dest="video_command", required=True, metavar="{encode,clips}")
    p = commands.add_parser("encode", help="encode any video ffmpeg reads as two-pass VP9 at a target bitrate")
    p.add_argument("input", type=Path, help="a video file ffmpeg can decode")
    p.add_argument("-o", "--output", type=Path, required=True, help="the VP9 file to write: .webm, .mkv or .ivf")
    p.add_argument("--target-kbps", type=positive_int, required=True, help="the bitrate to aim at, in kilobits per second")
    p.add_argument(
        "--rate-control", choices=list(RATE_CONTROLS), default="libvpx",
        help="who chooses each frame's quantiser: libvpx's two-pass VBR, licodec's TPL allocation or its learned policy (docs/video.md)",
    )  # fmt: skip
    p.add_argument(
        "--policy", metavar="FILE", help="with --rate-control learned: a policy from 'licodec train rate-control' instead of the shipped one"
    )
    p.add_argument("--speed", type=int, choices=range(0, 6), default=2, metavar="0-5", help="libvpx's --cpu-used: higher is faster (default 2)")
    p.add_argument("--threads", type=positive_int, default=2)
    p.add_argument("--frames", type=positive_int, help="encode only the first N frames")
    p.add_argument("--force", action="store_true", help="replace an existing output")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_encode)

    p = commands.add_parser("clips", help="make training clips: a camera panning and zooming over photographs, with cuts")
    p.add_argument("output", type=Path, help="folder for clip-NNN.mkv (lossless FFV1)")
    p.add_argument("--photos", nargs="+", type=Path, default=[Path("../shared/data/train")], help="folders of photographs")
    p.add_argument("--count", type=positive_int, default=20)
    p.add_argument("--frames", type=positive_int, default=90)
    p.add_argument("--size", type=frame_size, default=(320, 240), metavar="WxH", help="frame size (default 320x240)")
    p.add_argument("--fps", type=positive_int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--force", action="store_true", help="write into a folder that already holds clips")
    p.set_defaults(func=cmd_clips)


def frame_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, e.g. 320x240, not {text!r}") from None
    if not (16 <= width <= 4096 and 16 <= height <= 4096):
        raise argparse.ArgumentTypeError(f"frame sides run from 16 to 4096 pixels, not {text}")
    return width, height


def cmd_encode(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from licodec.video.encode import encode_file

    if args.output.suffix.lower() not in CONTAINERS:
        raise LicodecError(f"{args.output.name}: name the output .webm, .mkv or .ivf")
    if args.policy and args.rate_control != "learned":
        raise LicodecError("--policy is the learned rate control's; give it with --rate-control learned")
    rate_control = LearnedRateControl(args.policy) if args.rate_control == "learned" else RATE_CONTROLS[args.rate_control]()
    output = fresh_output(args.output, args.force)
    if args.input.resolve() == output.resolve():
        raise LicodecError(f"{args.input} is both the input and the output")
    with tqdm(desc="two passes", unit="frame", disable=args.no_progress, file=sys.stderr, dynamic_ncols=True) as bar:
        result = encode_file(
            args.input,
            output,
            args.target_kbps,
            rate_control,
            speed=args.speed,
            threads=args.threads,
            frames=args.frames,
            on_frame=lambda _: bar.update(1),
        )
    print(
        f"wrote {output}: {result.frames} frames, {result.kbps:.1f} kbps for a target of {args.target_kbps} "
        f"({100 * (result.kbps / args.target_kbps - 1):+.1f}%), rate control {args.rate_control}"
    )
    return 0


def cmd_clips(args: argparse.Namespace) -> int:
    from licodec.image_folders import IMAGE_SUFFIXES
    from licodec.video.synthetic import make_clips

    if args.output.exists() and any(args.output.glob("clip-*.mkv")) and not args.force:
        raise LicodecError(f"{args.output} already holds clips; use --force to write over them")
    missing = [str(folder) for folder in args.photos if not folder.is_dir()]
    if missing:
        raise LicodecError(f"not a folder: {', '.join(missing)}")
    photos = sorted(p for folder in args.photos for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    written = make_clips(photos, args.output, args.count, args.frames, args.size, args.fps, args.seed)
    print(f"wrote {len(written)} clips of {args.frames} frames at {args.size[0]}x{args.size[1]} to {args.output}/")
    return 0
