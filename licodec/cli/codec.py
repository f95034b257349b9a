"""``licodec compress | decompress | info | models``: the codec itself."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from licodec.api import Progress, compress_with, decompress, load_model
from licodec.bitstream import LicFile, read_header
from licodec.cli.args import files_command, non_negative_int, positive_float, positive_int, quality_value
from licodec.cli.files import (
    batch_pairs,
    image_bytes,
    image_format_for,
    input_and_output,
    input_name,
    open_input,
    output_name,
    read_input,
    report,
    write_output,
)
from licodec.errors import LicodecError, TargetUnreachableError
from licodec.image_folders import list_images
from licodec.jpeg_tools import installed_jpeg_tools
from licodec.lossless.codec import unpack_info
from licodec.lossless.order import DEFAULT_PROFILE, PROFILES
from licodec.lossless.weights import LOSSLESS_MODEL, lossless_weights_status
from licodec.metrics import bits_per_pixel
from licodec.models.catalog import ARCHITECTURE_NAMES, DEFAULT_MODEL, SHIPPED, weights_status
from licodec.options import ADAPT_DECODER_STEPS, OPTIMIZE_STEPS, TASKS, CompressOptions
from licodec.storage import shipped_file, weights_hash


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = files_command(sub, "compress", "compress images to .lic files", "output .lic, or - for standard output (default: beside the input)", "image")
    rate = p.add_mutually_exclusive_group()
    rate.add_argument("-q", "--quality", type=quality_value, default=75, help="1-100, higher is better (default 75)")
    rate.add_argument("--target-size", type=positive_int, metavar="BYTES", help="best quality whose file fits in BYTES")
    rate.add_argument("--target-bpp", type=positive_float, metavar="BPP", help="best quality at or below BPP bits per pixel")
    p.add_argument("--model", help="model name (see 'licodec models') or a .safetensors weights file")
    p.add_argument(
        "--optimize", type=non_negative_int, nargs="?", const=OPTIMIZE_STEPS, default=0, metavar="STEPS",
        help=f"optimise the latent for this image first (default {OPTIMIZE_STEPS} steps when given): slower, smaller files",
    )  # fmt: skip
    p.add_argument(
        "--task", choices=TASKS,
        help="with --optimize: optimise the latent for a machine too (ocr: PP-OCR reads the decoded image as it reads the original; "
        "needs the machines extra); any decoder reads the file",
    )  # fmt: skip
    p.add_argument(
        "--adapt-decoder", type=non_negative_int, nargs="?", const=ADAPT_DECODER_STEPS, default=0, metavar="STEPS",
        help=f"fit per-image decoder bias updates (with --lossless: the lossless head's) and send them when they pay "
        f"(default {ADAPT_DECODER_STEPS} steps when given)",
    )  # fmt: skip
    p.add_argument("--roi", metavar="MASK", help="mask image of the same size: nonzero pixels get more bits")
    p.add_argument("--roi-quality", type=quality_value, metavar="Q", help="quality inside the mask (default: 25 above --quality)")
    p.add_argument(
        "--no-local-models", dest="local_models", action="store_false",
        help="code with the model's own entropy tables only, never an image-dependent one: a little faster, rarely smaller",
    )  # fmt: skip
    p.add_argument(
        "--lossless", action="store_true", help="code every pixel exactly (8-bit grey or RGB, alpha or not); --model then names a lossless model"
    )
    p.add_argument(
        "--lossless-profile", choices=list(PROFILES), default=DEFAULT_PROFILE,
        help=f"with --lossless: fewer coding steps (fast) or more (max) per scale (default {DEFAULT_PROFILE})",
    )  # fmt: skip
    p.set_defaults(func=cmd_compress)

    p = files_command(
        sub, "decompress", "decode .lic files to images",
        "output image, format from its extension; - writes PNG to standard output (default: .png beside the input)", ".lic file",
    )  # fmt: skip
    p.add_argument(
        "--model",
        metavar="WEIGHTS",
        help="a .safetensors weights file (or model name) to decode with: for files written with your own or retired weights",
    )
    p.add_argument(
        "--max-pixels", type=non_negative_int, metavar="N",
        help="refuse files of larger images before decoding (default: Pillow's MAX_IMAGE_PIXELS, 89,478,485; 0: no limit)",
    )  # fmt: skip
    p.set_defaults(func=cmd_decompress)

    p = sub.add_parser("info", help="show a .lic file's header")
    p.add_argument("input", help=".lic file, or - for standard input")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("models", help="list the shipped models")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models)


def compress_options(args: argparse.Namespace, roi: bytes | None, pixels: int) -> CompressOptions:
    """What ``licodec compress``'s arguments ask for, as the API's options."""
    if args.roi_quality is not None and roi is None:
        raise LicodecError("--roi-quality needs --roi MASK")
    target = args.target_size
    if args.target_bpp is not None:
        target = max(1, int(args.target_bpp * pixels / 8))
    return CompressOptions(
        quality=args.quality,
        target_bytes=target,
        roi=roi,
        roi_quality=args.roi_quality,
        optimize_steps=args.optimize,
        task=args.task,
        adapt_decoder_steps=args.adapt_decoder,
        local_models=args.local_models,
        lossless=args.lossless,
        lossless_profile=args.lossless_profile,
    )


FileWork = Callable[[argparse.Namespace, bytes, Path, str], str]
"""``work(args, input bytes, output, input name)``: code one file, write it, return the result line."""


def for_each_input(args: argparse.Namespace, suffix: str, in_folder: Callable[[Path], list[Path]], work: FileWork) -> int:
    """Run ``work`` on one input as before, or on several inputs and folders in this one process (the start-up paid once):
    outputs checked before any work, a progress bar on a terminal, each file's error reported in one line, the others
    still coded, exit code 1 if any failed."""
    if len(args.inputs) == 1 and not Path(args.inputs[0]).is_dir():
        args.input = args.inputs[0]
        raw, output = input_and_output(args, suffix)
        report(output, work(args, raw, output, input_name(args)))
        return 0
    from tqdm import tqdm

    failed = 0
    pairs = batch_pairs(args.inputs, args.output, suffix, in_folder, args.force)
    with tqdm(pairs, unit="file", file=sys.stderr, disable=None, leave=False) as bar:
        for source, output in bar:
            try:
                bar.write(f"{output_name(output)}: {work(args, read_input(source), output, str(source))}", file=sys.stdout)
            except LicodecError as exc:
                failed += 1
                bar.write(f"licodec: error: {exc}", file=sys.stderr)
    return 1 if failed else 0


def cmd_compress(args: argparse.Namespace) -> int:
    if args.roi and (len(args.inputs) > 1 or Path(args.inputs[0]).is_dir()):
        raise LicodecError("--roi takes the mask of one image; give one input with it")
    return for_each_input(args, ".lic", list_images, compress_file)


def compress_file(args: argparse.Namespace, raw: bytes, output: Path, name: str) -> str:
    image = open_input(raw, name)
    model = args.model if args.lossless else load_model(args.model)
    roi = read_input(Path(args.roi)) if args.roi else None
    options = compress_options(args, roi, image.width * image.height)
    start = time.perf_counter()
    with optimization_progress(args.optimize if options.target_bytes is None else 0) as on_step:
        try:
            data, quality = compress_with(image, options, model, on_step)
        except TargetUnreachableError as error:
            raise _in_bpp(error, args, image.width * image.height) from None
    seconds = time.perf_counter() - start
    write_output(output, data, args.force)
    header = read_header(data)
    bpp = bits_per_pixel(len(data), header.width_px, header.height_px)
    note = " (the highest: the target allows more)" if options.target_bytes is not None and quality == 100 else ""
    rate = f"lossless ({options.lossless_profile})" if options.lossless else f"quality {quality:g}{note}"
    return f"{len(data)} bytes, {bpp:.4f} bpp, {header.width_px}x{header.height_px}, {rate}, {seconds * 1000:.0f} ms"


def _in_bpp(error: TargetUnreachableError, args: argparse.Namespace, pixels: int) -> LicodecError:
    """A ``--target-bpp`` that cannot be met is refused in bpp; ``--target-size`` in bytes, as the API words it."""
    if args.target_bpp is None:
        return error
    smallest = 8 * error.smallest_bytes / pixels
    return LicodecError(f"cannot reach {args.target_bpp:g} bpp: the smallest file (quality 1) takes {error.smallest_bytes} bytes, {smallest:.4f} bpp")


@contextlib.contextmanager
def optimization_progress(steps: int) -> Iterator[Progress | None]:
    """A progress bar for latent optimisation (one pass of ``steps`` per tile), or nothing."""
    if steps <= 0:
        yield None
        return
    from tqdm import tqdm

    with tqdm(desc="optimising latent", unit="step", leave=False, file=sys.stderr) as bar:
        yield lambda step, cost: (bar.update(1), bar.set_postfix(cost=f"{cost:.4f}"))


def cmd_decompress(args: argparse.Namespace) -> int:
    return for_each_input(args, ".png", lic_files, decompress_file)


def lic_files(folder: Path) -> list[Path]:
    """The .lic files directly in ``folder``, sorted; none is a user error."""
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".lic" and p.is_file())
    if not paths:
        raise LicodecError(f"no .lic files found in {folder}")
    return paths


def decompress_file(args: argparse.Namespace, data: bytes, output: Path, name: str) -> str:
    format = image_format_for(output)
    start = time.perf_counter()
    limit = "pillow" if args.max_pixels is None else args.max_pixels or None  # 0: no limit
    try:
        image = decompress(data, args.model, max_pixels=limit)
    except LicodecError as exc:
        raise LicodecError(f"{name}: {exc}") from None
    seconds = time.perf_counter() - start
    write_output(output, image_bytes(image, format), args.force)
    return f"{image.width}x{image.height} {image.mode}, {seconds * 1000:.0f} ms"


def cmd_info(args: argparse.Namespace) -> int:
    data = read_input(Path(args.input))
    lic = LicFile.from_bytes(data)
    h = lic.header
    lossless = unpack_info(lic.lossless) if h.is_lossless else None
    info = {
        "file": args.input,
        "format_version": h.format_version,
        "bytes": len(data),
        "bits_per_pixel": bits_per_pixel(len(data), h.width_px, h.height_px),
        "width": h.width_px,
        "height": h.height_px,
        "colour_mode": h.colour_mode,
        "source_bit_depth": h.bit_depth,
        "model": h.model_name,
        "weights_hash": h.weights_hash.hex(),
        "weights": (lossless_weights_status if h.is_lossless else weights_status)(h.model_name, h.weights_hash.hex()),
        "lossless": h.is_lossless,
        "lossless_profile": lossless[0] if lossless else None,
        "lossless_bias_updates": bool(lossless[2]) if lossless else None,
        "quality": None if h.is_lossless else h.quality,
        "tile_px": h.tile_px,
        "streams": [len(s) for s in lic.streams],
    }
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        for key, value in info.items():
            print(f"{key:>16}: {value}")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    rows = [
        {
            "name": name,
            "default": name == DEFAULT_MODEL,
            "installed": model.weights_path.exists(),
            "weights_hash": weights_hash(model.weights_path) if model.weights_path.exists() else None,
            "description": model.description,
        }
        for name, model in SHIPPED.items()
    ]
    tools = installed_jpeg_tools()
    lossless_path = shipped_file(LOSSLESS_MODEL, ".safetensors")
    lossless = {"name": LOSSLESS_MODEL, "installed": lossless_path.exists()}
    lossless["weights_hash"] = weights_hash(lossless_path) if lossless["installed"] else None
    if args.json:
        print(json.dumps({"models": rows, "lossless": lossless, "architectures": list(ARCHITECTURE_NAMES), "jpeg_tools": tools}, indent=2))
    else:
        for row in rows:
            flags = " (default)" if row["default"] else ""
            flags += f" [weights {row['weights_hash']}]" if row["installed"] else " [weights missing]"
            print(f"{row['name']}{flags}: {row['description']}")
        state = f"weights {lossless['weights_hash']}" if lossless["installed"] else "weights missing: train one with 'licodec train lossless'"
        print(f"{LOSSLESS_MODEL} [{state}]: lossless (--lossless), multi-scale progressive")
        print(f"architectures (trainable with 'licodec train model --architecture'): {', '.join(ARCHITECTURE_NAMES)}")
        for tool in tools:
            print(f"{tool['name']}: {tool['kind']} (licodec jpeg {tool['option']})")
    return 0
