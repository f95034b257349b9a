"""``licodec video encode``: VP9 through libvpx, its rate control libvpx's own two-pass VBR or one of licodec's."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from licodec.cli.args import positive_int
from licodec.cli.files import fresh_output
from licodec.errors import LicodecError

RATE_CONTROLS = ("libvpx",)
"""What may choose each frame's quantiser: libvpx's two-pass VBR."""

CONTAINERS = (".webm", ".mkv", ".ivf")


def add_commands(sub: argparse._SubParsersAction) -> None:
    video = sub.add_parser("video", help="encode video as VP9 (libvpx) with a choice of rate control")
    commands = video.add_subparsers(dest="video_command", required=True, metavar="{encode}")
    p = commands.add_parser("encode", help="encode any video ffmpeg reads as two-pass VP9 at a target bitrate")
    p.add_argument("input", type=Path, help="a video file ffmpeg can decode")
    p.add_argument("-o", "--output", type=Path, required=True, help="the VP9 file to write: .webm, .mkv or .ivf")
    p.add_argument("--target-kbps", type=positive_int, required=True, help="the bitrate to aim at, in kilobits per second")
    p.add_argument("--rate-control", choices=RATE_CONTROLS, default="libvpx", help="who chooses each frame's quantiser")
    p.add_argument("--speed", type=int, choices=range(0, 6), default=2, metavar="0-5", help="libvpx's --cpu-used: higher is faster (default 2)")
    p.add_argument("--threads", type=positive_int, default=2)
    p.add_argument("--frames", type=positive_int, help="encode only the first N frames")
    p.add_argument("--force", action="store_true", help="replace an existing output")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_encode)


def cmd_encode(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from licodec.video.encode import encode_file

    if args.output.suffix.lower() not in CONTAINERS:
        raise LicodecError(f"{args.output.name}: name the output .webm, .mkv or .ivf")
    output = fresh_output(args.output, args.force)
    if args.input.resolve() == output.resolve():
        raise LicodecError(f"{args.input} is both the input and the output")
    with tqdm(desc="two passes", unit="frame", disable=args.no_progress, file=sys.stderr, dynamic_ncols=True) as bar:
        result = encode_file(
            args.input, output, args.target_kbps, None, speed=args.speed, threads=args.threads, frames=args.frames, on_frame=lambda _: bar.update(1)
        )
    print(
        f"wrote {output}: {result.frames} frames, {result.kbps:.1f} kbps for a target of {args.target_kbps} "
        f"({100 * (result.kbps / args.target_kbps - 1):+.1f}%), rate control {args.rate_control}"
    )
    return 0
