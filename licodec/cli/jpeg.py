"""``licodec jpeg | webp | avif | postfilter``: standard files, made better by the learned JPEG tools.

The learned filters (PyTorch networks) are imported when a command uses them, not when the parser is built.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from licodec.cli.args import file_command, quality_value
from licodec.cli.files import image_bytes, image_format_for, input_and_output, input_name, is_stdio, open_input, report, write_output
from licodec.codecs import CODECS, jpeg
from licodec.errors import LicodecError
from licodec.image import prepare
from licodec.jpeg_tools.qtables import load_table_set
from licodec.metrics import bits_per_pixel
from licodec.options import TASKS

SUFFIXES = {"jpeg": ".jpg", "webp": ".webp", "avif": ".avif"}
"""The standard formats ``licodec jpeg|webp|avif`` write, and the suffix of each's default output."""

Encoder = Callable[[Image.Image, bytes | None], bytes]
"""``encode(image, comment)``: a standard file, with a JPEG comment segment when ``comment`` is given."""


def add_commands(sub: argparse._SubParsersAction) -> None:
    for format, suffix in SUFFIXES.items():
        summary = f"write a standard {format.upper()}, optionally through the learned pre-filter"
        p = file_command(sub, format, summary, f"output {suffix}, or - for standard output (default: beside the input)")
        p.add_argument("-q", "--quality", type=quality_value, default=75)
        p.add_argument(
            "--prefilter", nargs="?", const="", metavar="NAME", help="apply a learned pre-filter: ms-ssim (the default), perceptual, or a file"
        )
        if format == "jpeg":
            p.add_argument(
                "--tables", nargs="?", const="", metavar="NAME",
                help="use learned quantisation tables: psnr (the default), ms-ssim, or a set's name or file",
            )  # fmt: skip
            p.add_argument(
                "--postfilter", nargs="?", const="", metavar="NAME",
                help="signal per-block post-filter choices in the file (default bank if no NAME)",
            )  # fmt: skip
            p.add_argument(
                "--standard-huffman", action="store_true",
                help="keep libjpeg's standard Huffman tables (default: fit them to the image; same pixels, fewer bytes)",
            )  # fmt: skip
        p.set_defaults(func=cmd_standard)

    summary = "decode a JPEG/WebP/AVIF/HEIC file and apply the learned post-filters"
    p = file_command(sub, "postfilter", summary, "output .png, or - for standard output (default: beside the input)")
    p.add_argument("--filters", metavar="NAME", help="post-filter bank (default: the shipped one)")
    p.add_argument("--task", choices=TASKS, help="use the shipped bank trained for this machine and the file's codec (JPEG or AVIF)")
    p.set_defaults(func=cmd_postfilter)


def opaque_rgb(raw: bytes, name: str) -> Image.Image:
    """The input as 8-bit RGB, upright, for a conventional encoder; refused if it has visible transparency."""
    prepared = prepare(open_input(raw, name))
    if prepared.alpha is not None and prepared.alpha.min() < 255:
        raise LicodecError(f"{name} has transparency, which this command does not keep; flatten it first")
    return Image.fromarray(prepared.rgb, "RGB")


def jpeg_encoder(args: argparse.Namespace) -> tuple[Encoder, list[str]]:
    """``licodec jpeg``'s encoder (libjpeg's tables or ``--tables``) and what it notes about itself."""
    optimize = not args.standard_huffman
    notes = [] if optimize else ["standard Huffman tables"]
    if args.tables is None:
        return lambda image, comment: jpeg.encode(image, args.quality, comment, optimize), notes
    table_set = load_table_set(args.tables or None)
    return lambda image, comment: table_set.encode(image, args.quality, comment, optimize), [f"tables {table_set.name}", *notes]


def cmd_standard(args: argparse.Namespace) -> int:
    """``licodec jpeg|webp|avif``: the standard encoder, optionally after the learned pre-filter.

    JPEG also takes learned tables and a post-filter signal in its comment.
    """
    codec = CODECS[args.command]
    if not codec.is_available():
        raise LicodecError(f"this Pillow cannot write {args.command.upper()}")
    raw, output = input_and_output(args, SUFFIXES[args.command])
    image = opaque_rgb(raw, input_name(args))
    if args.command == "jpeg":
        encode, notes = jpeg_encoder(args)
    else:
        encode, notes = lambda image, comment: codec.encode(image, args.quality), []
    if args.prefilter is not None:
        from licodec.jpeg_tools.prefilter import load_prefilter

        image = load_prefilter(args.prefilter or None).apply_for(image, lambda im: encode(im, None))
        notes.insert(0, "pre-filtered")
    if getattr(args, "postfilter", None) is not None:
        from licodec.jpeg_tools.postfilter import jpeg_with_signal, load_bank

        name, bank = load_bank(args.postfilter or None)
        data = jpeg_with_signal(image, encode, name, bank)
        notes.append(f"post-filter choices for {name} in the comment")
    else:
        data = encode(image, None)
    write_output(output, data, args.force)
    bpp = bits_per_pixel(len(data), image.width, image.height)
    kind = "baseline JPEG" if args.command == "jpeg" else args.command.upper()
    extra = f" ({', '.join(notes)})" if notes else ""
    report(output, f"{len(data)} bytes, {bpp:.4f} bpp, {kind} quality {args.quality}{extra}")
    return 0


def cmd_postfilter(args: argparse.Namespace) -> int:
    from licodec.jpeg_tools.postfilter import load_bank, postfilter_decode, task_bank_name

    if args.task and args.filters:
        raise LicodecError("--task picks the bank; give --filters or --task, not both")
    raw, output = input_and_output(args, ".png")
    format = image_format_for(output)
    name, bank = load_bank(task_bank_name(args.task, raw) if args.task else args.filters)
    image = postfilter_decode(raw, bank, name, None if is_stdio(args.input) else Path(args.input))
    write_output(output, image_bytes(image, format), args.force)
    report(output, f"{image.width}x{image.height}, post-filtered with {name}")
    return 0
