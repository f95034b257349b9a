"""The ``licodec`` command: parse arguments, call the Python API, print, set the exit code.

Exit codes: 0 success; 1 a user error (bad file, missing input, existing output),
printed as one line on stderr (``--debug`` shows the traceback); 2 a usage error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import stat
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from licodec import __version__
from licodec.errors import LicodecError
from licodec.eval.metrics import bits_per_pixel

if TYPE_CHECKING:
    from PIL import Image

SUFFIXES = {"jpeg": ".jpg", "webp": ".webp", "avif": ".avif"}
"""The standard formats ``licodec jpeg|webp|avif`` write, and the suffix of each's default output."""


def quality_value(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"quality must be an integer from 1 to 100, not {text!r}") from None
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError(f"quality must be an integer from 1 to 100, not {value}")
    return value


def quality_list(text: str) -> list[int]:
    """Comma-separated qualities, e.g. ``10,50,90``: sorted, without repeats."""
    return sorted({quality_value(part.strip()) for part in text.split(",") if part.strip()}) or [quality_value(text)]


def _number(text: str, kind: type, minimum: float) -> float:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a {'whole ' if kind is int else ''}number, not {text!r}") from None
    if not minimum <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number of at least {minimum}, not {text}")
    return value


def positive_int(text: str) -> int:
    return _number(text, int, 1)


def non_negative_int(text: str) -> int:
    return _number(text, int, 0)


def positive_float(text: str) -> float:
    value = _number(text, float, 0.0)
    if value == 0:
        raise argparse.ArgumentTypeError("expected a positive number, not 0")
    return value


@contextlib.contextmanager
def optimization_progress(steps: int):
    """A progress bar for latent optimisation (one pass of ``steps`` per tile), or nothing."""
    if steps <= 0:
        yield None
        return
    from tqdm import tqdm

    with tqdm(desc="optimising latent", unit="step", leave=False, file=sys.stderr) as bar:
        yield lambda step, cost: (bar.update(1), bar.set_postfix(cost=f"{cost:.4f}"))


STDIO = "-"
"""As an input, standard input; as ``-o``, standard output (the result line then goes to stderr)."""


def is_stdio(name: str | Path) -> bool:
    """Whether an input or output name is :data:`STDIO`."""
    return str(name) == STDIO


def is_stream(path: Path) -> bool:
    """A character device or named pipe (``/dev/null``): written in place, never replaced, and
    without ``--force``, since nothing stored there can be lost."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


def refuse_unwritable(path: Path, force: bool) -> Path:
    """Raise unless ``path`` may be written (free, or ``force``; a regular file; its folder exists); returns the folder."""
    if is_stream(path):
        return path.parent
    if path.is_dir():
        raise LicodecError(f"{path} is a directory")
    if path.exists() and not path.is_file():
        raise LicodecError(f"{path} is not a regular file")
    if path.exists() and not force:
        raise LicodecError(f"{path} exists; use --force to overwrite it")
    folder = path.parent
    if not folder.is_dir():
        raise LicodecError(f"output folder {folder} does not exist")
    return folder


def write_atomically(path: Path, data: bytes, force: bool) -> None:
    """Write via a temporary file in the same folder, then rename: a failure leaves nothing behind."""
    folder = refuse_unwritable(path, force)
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise LicodecError(f"cannot write to {folder}: {exc.strerror}") from None
    try:
        os.chmod(tmp, _new_file_mode(path))  # mkstemp makes 0600; give what a plain open() would
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise LicodecError(f"cannot write {path}: {exc.strerror}") from None
        raise


def _new_file_mode(path: Path) -> int:
    """The replaced file's permissions, or the umask's default for a new file."""
    if path.exists():
        return path.stat().st_mode & 0o7777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def read_input(path: Path) -> bytes:
    if is_stdio(path):
        return sys.stdin.buffer.read()
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise LicodecError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise LicodecError(f"{path}: is a directory") from None
    except OSError as exc:
        raise LicodecError(f"{path}: {exc.strerror}") from None


def open_input(raw: bytes, name: str) -> Image.Image:
    """The input image, its errors naming the file; says so when only the first of several frames is used."""
    from licodec.image import open_image

    image = open_image(raw, name)
    frames = getattr(image, "n_frames", 1)
    if frames > 1:
        print(f"licodec: note: {name} has {frames} frames; only the first is used", file=sys.stderr)
    return image


def input_and_output(args: argparse.Namespace, default_suffix: str) -> tuple[bytes, Path]:
    """The input's bytes and the output path (default: beside the input), checked free before any work.

    ``-`` reads standard input or writes standard output (:data:`STDIO`).
    """
    if is_stdio(args.input) and not args.output:
        raise LicodecError("reading standard input needs -o OUTPUT (-o - for standard output)")
    source = Path(args.input)
    data = read_input(source)
    output = Path(args.output) if args.output else source.with_suffix(default_suffix)
    if is_stdio(args.output):
        if sys.stdout.isatty():
            raise LicodecError("refusing to write binary data to a terminal; redirect standard output or use -o FILE")
        return data, output
    if not is_stdio(args.input) and output.resolve() == source.resolve():
        raise LicodecError(f"output {output} would overwrite the input")
    refuse_unwritable(output, args.force)
    return data, output


def input_name(args: argparse.Namespace) -> str:
    """How errors and notes name the input."""
    return "standard input" if is_stdio(args.input) else args.input


def output_name(output: Path) -> str:
    """How messages name the output."""
    return "standard output" if is_stdio(output) else str(output)


def write_output(path: Path, data: bytes, force: bool) -> None:
    """Standard output for ``-o -``, a device or pipe in place (:func:`is_stream`), else the file, atomically."""
    to_stdout = is_stdio(path)
    if not to_stdout and not is_stream(path):
        write_atomically(path, data, force)
        return
    try:
        if to_stdout:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            with open(path, "wb") as stream:
                stream.write(data)
    except BrokenPipeError:
        raise  # the reader went away: main() ends quietly
    except OSError as exc:
        raise LicodecError(f"cannot write {output_name(path)}: {exc.strerror}") from None


def report(output: Path, message: str) -> None:
    """The command's one-line result, on stderr when the output itself goes to standard output."""
    print(f"{output_name(output)}: {message}", file=sys.stderr if is_stdio(output) else sys.stdout)


def cmd_compress(args: argparse.Namespace) -> int:
    from licodec.api import compress, load_model

    raw, output = input_and_output(args, ".lic")
    image = open_input(raw, input_name(args))
    model = load_model(args.model)
    roi = read_input(Path(args.roi)) if args.roi else None
    if args.roi_quality is not None and roi is None:
        raise LicodecError("--roi-quality needs --roi MASK")
    start = time.perf_counter()
    note = ""
    if args.target_size is not None or args.target_bpp is not None:
        data, quality = compress_to_target(args, image, model, roi)
        if quality == 100:
            note = " (the highest: the target allows more)"
    else:
        with optimization_progress(args.optimize) as on_step:
            data = compress(
                image, args.quality, model, args.optimize, on_step, roi, args.roi_quality, args.adapt_decoder, args.local_models
            )  # fmt: skip
        quality = args.quality
    seconds = time.perf_counter() - start
    write_output(output, data, args.force)
    from licodec.bitstream import read_header

    header = read_header(data)
    bpp = bits_per_pixel(len(data), header.width_px, header.height_px)
    report(output, f"{len(data)} bytes, {bpp:.4f} bpp, {header.width_px}x{header.height_px}, quality {quality:g}{note}, {seconds * 1000:.0f} ms")
    return 0


def compress_to_target(args: argparse.Namespace, image, model, roi) -> tuple[bytes, float]:
    """``compress_to_size`` for ``--target-size`` or ``--target-bpp``; a bpp target that cannot be met is refused in bpp."""
    from licodec.api import compress_to_size
    from licodec.errors import TargetUnreachableError

    pixels = image.width * image.height
    budget = args.target_size if args.target_size is not None else max(1, int(args.target_bpp * pixels / 8))
    try:
        return compress_to_size(image, budget, model, args.optimize, roi, args.roi_quality, args.adapt_decoder, args.local_models)
    except TargetUnreachableError as error:
        if args.target_bpp is None:
            raise
        smallest = bits_per_pixel(error.smallest_bytes, image.width, image.height)
        raise LicodecError(
            f"cannot reach {args.target_bpp:g} bpp: the smallest file (quality 1) takes {error.smallest_bytes} bytes, {smallest:.4f} bpp"
        ) from None


def fresh_output(args: argparse.Namespace) -> Path:
    """``args.output`` as a path, refused before any training if it exists (without ``--force``) or cannot be written."""
    output = Path(args.output)
    refuse_unwritable(output, args.force)
    return output


def image_format_for(output: Path) -> str:
    """The Pillow format an output image name asks for (PNG for standard output or a device); a user error if it names none."""
    from PIL import Image

    if is_stdio(output) or is_stream(output) and not output.suffix:
        return "PNG"
    ext = output.suffix.lower()
    if ext == ".lic":
        raise LicodecError(f"{output.name}: this command writes an image; name it e.g. .png")
    if ext not in Image.registered_extensions():
        raise LicodecError(f"cannot tell the image format from the output name {output.name!r}; use e.g. .png")
    return Image.registered_extensions()[ext]


def image_bytes(image, format: str) -> bytes:
    import io

    buffer = io.BytesIO()
    try:
        image.save(buffer, format=format)
    except (OSError, ValueError, KeyError) as exc:
        raise LicodecError(f"cannot save a {image.mode} image as {format}: {exc}") from None
    return buffer.getvalue()


def cmd_decompress(args: argparse.Namespace) -> int:
    from licodec.api import decompress

    data, output = input_and_output(args, ".png")
    format = image_format_for(output)
    start = time.perf_counter()
    image = decompress(data, args.model)
    seconds = time.perf_counter() - start
    write_output(output, image_bytes(image, format), args.force)
    report(output, f"{image.width}x{image.height} {image.mode}, {seconds * 1000:.0f} ms")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from licodec.bitstream import LicFile
    from licodec.models.registry import weights_status

    data = read_input(Path(args.input))
    lic = LicFile.from_bytes(data)
    h = lic.header
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
        "weights": weights_status(h.model_name, h.weights_hash.hex()),
        "quality": h.quality,
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
    from licodec.models import ARCHITECTURES, DEFAULT_MODEL, SHIPPED
    from licodec.models.registry import weights_hash

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
    if args.json:
        print(json.dumps({"models": rows, "architectures": list(ARCHITECTURES), "jpeg_tools": tools}, indent=2))
    else:
        for row in rows:
            flags = " (default)" if row["default"] else ""
            flags += f" [weights {row['weights_hash']}]" if row["installed"] else " [weights missing]"
            print(f"{row['name']}{flags}: {row['description']}")
        print(f"architectures (trainable with 'licodec train --architecture'): {', '.join(ARCHITECTURES)}")
        for tool in tools:
            print(f"{tool['name']}: {tool['kind']} (licodec jpeg {tool['option']})")
    return 0


JPEG_TOOL_KINDS = {
    "qtables-": ("learned quantisation tables", "--tables {name}"),
    "postfilter-": ("post-filter bank", "--postfilter {name}; licodec postfilter --filters {name}"),
    "prefilter-": ("pre-filter", "--prefilter {name}"),
}


def installed_jpeg_tools() -> list[dict]:
    """The learned JPEG tools in the package's weights folder, by their file-name prefix."""
    from licodec.conventional._weights import WEIGHTS_DIR

    tools = []
    for path in sorted(WEIGHTS_DIR.glob("*")):
        for prefix, (kind, option) in JPEG_TOOL_KINDS.items():
            if path.name.startswith(prefix) and path.suffix in (".json", ".safetensors"):
                tools.append({"name": path.stem, "kind": kind, "option": option.format(name=path.stem)})
    return tools


def cmd_eval(args: argparse.Namespace) -> int:
    from licodec.eval.report import load_reference, write_report
    from licodec.eval.runner import evaluate, list_images

    folder = Path(args.folder)
    if not folder.is_dir():
        raise LicodecError(f"{folder} is not a folder")
    images = list_images(folder)
    names = [n.strip() for n in args.codecs.split(",") if n.strip()]
    from licodec.errors import CodecUnavailableError
    from licodec.eval.codecs import resolve

    available = []
    for name in names:  # a misspelt name is an error; a codec this machine lacks is skipped
        try:
            resolve(name)
            available.append(name)
        except CodecUnavailableError as exc:
            print(f"licodec: warning: skipping {name}: {exc}", file=sys.stderr)
    if not available:
        raise LicodecError("no codec to evaluate: none of --codecs is available here")
    if args.anchor is not None and args.anchor not in names:
        raise LicodecError(f"--anchor {args.anchor} is not among --codecs ({', '.join(names)}); the BD-rates need it measured")
    anchor = args.anchor or ("jpeg" if "jpeg" in available else available[0])
    qualities = None
    if args.qualities:
        qualities = {name: tuple(args.qualities) for name in available}
    references = []
    for path in args.reference or []:
        try:
            references.append(load_reference(Path(path)))
        except (OSError, ValueError, KeyError) as exc:
            raise LicodecError(f"cannot read reference curve {path}: {exc}") from None
    out = Path(args.out)
    results = evaluate(available, images, out, qualities, jobs=args.jobs)
    write_report(results, out, anchor, references)
    print((out / "bd_rate.md").read_text())
    print(f"wrote {out}/: one JSON per codec, per_image.csv, bd_rate.md, rd_psnr-rgb.png, rd_ms-ssim-rgb.png")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from licodec.eval.metrics import MS_SSIM_MIN_SIDE, ms_ssim, psnr
    from licodec.image import open_image

    reference = open_image(Path(args.reference)).convert("RGB")
    path = Path(args.decoded)
    if path.suffix.lower() == ".lic":
        from licodec.api import decompress

        data = read_input(path)
        decoded = decompress(data).convert("RGB")
    else:
        data = read_input(path)
        decoded = open_image(path).convert("RGB")
    if decoded.size != reference.size:
        raise LicodecError(f"sizes differ: {reference.size} vs {decoded.size}")
    print(f"bpp      {bits_per_pixel(len(data), *reference.size):.4f}  ({len(data)} bytes of {path.name})")
    print(f"PSNR     {psnr(reference, decoded):.3f} dB")
    score = ms_ssim(reference, decoded)
    print(f"MS-SSIM  {score:.5f}" if score == score else f"MS-SSIM  n/a (its five scales need both sides at least {MS_SSIM_MIN_SIDE} pixels)")
    return 0


def opaque_rgb(raw: bytes, name: str) -> Image.Image:
    """The input as 8-bit RGB, upright, for a conventional encoder; refused if it has visible transparency."""
    from PIL import Image

    from licodec.image import prepare

    prepared = prepare(open_input(raw, name))
    if prepared.alpha is not None and prepared.alpha.min() < 255:
        raise LicodecError(f"{name} has transparency, which this command does not keep; flatten it first")
    return Image.fromarray(prepared.rgb, "RGB")


def jpeg_encoder(args: argparse.Namespace) -> tuple[Callable[[Image.Image, bytes | None], bytes], list[str]]:
    """``licodec jpeg``'s encoder (libjpeg's tables or ``--tables``) and what it notes about itself."""
    from licodec.conventional import jpeg

    optimize = not args.standard_huffman
    notes = [] if optimize else ["standard Huffman tables"]
    if args.tables is None:
        return lambda image, comment: jpeg.encode(image, args.quality, comment, optimize), notes
    from licodec.conventional.qtables import load_table_set

    table_set = load_table_set(args.tables or None)
    return lambda image, comment: table_set.encode(image, args.quality, comment, optimize), [f"tables {table_set.name}", *notes]


def cmd_conventional(args: argparse.Namespace) -> int:
    """``licodec jpeg|webp|avif``: the standard encoder, optionally after the learned pre-filter.

    JPEG also takes learned tables and a post-filter signal in its comment.
    """
    from licodec.conventional import CODECS

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
        from licodec.conventional.prefilter import load_prefilter

        image = load_prefilter(args.prefilter or None).apply_for(image, lambda im: encode(im, None))
        notes.insert(0, "pre-filtered")
    if getattr(args, "postfilter", None) is not None:
        from licodec.conventional.postfilter import jpeg_with_signal, load_bank

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


def cmd_train_tables(args: argparse.Namespace) -> int:
    from licodec.conventional.qtables import TableObjective, learn_tables, partial_anchors, save_table_set, training_crops

    output = fresh_output(args)
    partial = output.with_name(f"{output.stem}.partial.json")  # each anchor is saved here as it is learned
    training = {"data": list(args.data), "crops": args.crops, "crop": args.crop, "seed": args.seed, "passes": args.passes}
    anchors = partial_anchors(partial, args.metric, training)
    if anchors:
        print(f"resuming from {partial}: qualities {', '.join(map(str, sorted(anchors)))} already learned")
    objective = TableObjective(training_crops(list(args.data), args.crops, args.crop, args.seed), args.metric)
    for quality in args.qualities:
        if quality not in anchors:
            anchors[quality] = learn_tables(objective, quality, passes=args.passes)
            save_table_set(partial, args.metric, anchors, training)
    anchors = {q: anchors[q] for q in args.qualities}
    save_table_set(output, args.metric, anchors, training)
    partial.unlink(missing_ok=True)
    print(f"wrote {output} ({len(anchors)} qualities, {objective.evaluations} real encodes of {args.crops} crops)")
    return 0


def cmd_postfilter(args: argparse.Namespace) -> int:
    from licodec.conventional.postfilter import load_bank, postfilter_decode

    raw, output = input_and_output(args, ".png")
    format = image_format_for(output)
    name, bank = load_bank(args.filters)
    image = postfilter_decode(raw, bank, name, None if is_stdio(args.input) else Path(args.input))
    write_output(output, image_bytes(image, format), args.force)
    report(output, f"{image.width}x{image.height}, post-filtered with {name}")
    return 0


def cmd_train_filter(args: argparse.Namespace) -> int:
    """train-prefilter and train-postfilter: the same arguments, each its own trainer."""
    import torch

    if args.command == "train-prefilter":
        from licodec.conventional.prefilter import PreFilterTraining as Settings, train_prefilter as train

        options = {"tables": args.tables, "init": args.init}
    else:
        from licodec.conventional.postfilter import PostFilterTraining as Settings, train_postfilter as train

        options = {}
    output = fresh_output(args)
    torch.set_num_threads(args.threads)
    train(Settings(data=list(args.data), output=str(output), steps=args.steps, batch_size=args.batch_size, seed=args.seed, **options))
    print(f"wrote {output}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from licodec.train.cli import run

    return run(args)


def build_parser() -> argparse.ArgumentParser:
    from licodec.eval.codecs import ADAPTATIONS

    parser = argparse.ArgumentParser(prog="licodec", description="Learned image compression.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.add_argument("--version", action="version", version=f"licodec {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("compress", help="compress an image to a .lic file")
    p.add_argument("input", help="input file, or - for standard input")
    p.add_argument("-o", "--output", help="output .lic, or - for standard output (default: beside the input)")
    rate = p.add_mutually_exclusive_group()
    rate.add_argument("-q", "--quality", type=quality_value, default=75, help="1-100, higher is better (default 75)")
    rate.add_argument("--target-size", type=positive_int, metavar="BYTES", help="best quality whose file fits in BYTES")
    rate.add_argument("--target-bpp", type=positive_float, metavar="BPP", help="best quality at or below BPP bits per pixel")
    p.add_argument("--model", help="model name (see 'licodec models') or a .safetensors weights file")
    p.add_argument(
        "--optimize", type=non_negative_int, nargs="?", const=ADAPTATIONS["optimize"], default=0, metavar="STEPS",
        help=f"optimise the latent for this image first (default {ADAPTATIONS['optimize']} steps when given): slower, smaller files",
    )  # fmt: skip
    p.add_argument(
        "--adapt-decoder", type=non_negative_int, nargs="?", const=ADAPTATIONS["adapt-decoder"], default=0, metavar="STEPS",
        help=f"fit per-image decoder bias updates and send them when they pay (default {ADAPTATIONS['adapt-decoder']} steps when given)",
    )  # fmt: skip
    p.add_argument("--roi", metavar="MASK", help="mask image of the same size: nonzero pixels get more bits")
    p.add_argument("--roi-quality", type=quality_value, metavar="Q", help="quality inside the mask (default: 25 above --quality)")
    p.add_argument(
        "--no-local-models", dest="local_models", action="store_false",
        help="code with the model's own entropy tables only, never an image-dependent one: a little faster, rarely smaller",
    )  # fmt: skip
    p.add_argument("--force", action="store_true", help="overwrite an existing output")
    p.set_defaults(func=cmd_compress)

    p = sub.add_parser("decompress", help="decode a .lic file to an image")
    p.add_argument("input", help="input file, or - for standard input")
    p.add_argument("-o", "--output", help="output image, format from its extension; - writes PNG to standard output (default: .png beside the input)")
    p.add_argument("--model", metavar="WEIGHTS", help="a .safetensors weights file (or model name) to decode with: for files written with your own or retired weights")
    p.add_argument("--force", action="store_true", help="overwrite an existing output")
    p.set_defaults(func=cmd_decompress)

    p = sub.add_parser("info", help="show a .lic file's header")
    p.add_argument("input", help=".lic file, or - for standard input")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("models", help="list the shipped models")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("eval", help="measure codecs on a folder of images: tables and plots")
    p.add_argument("folder")
    p.add_argument("--codecs", default="licodec,jpeg,webp,jpeg2000,avif,heic,jxl")
    p.add_argument("--qualities", type=quality_list, help="comma-separated qualities for every codec (default: each codec's own sweep)")
    p.add_argument("--anchor", help="codec the BD-rates are measured against, one of --codecs (default: jpeg if measured, else the first)")
    p.add_argument("--out", default="results", help="results folder (also holds the cache)")
    p.add_argument("--jobs", type=positive_int, default=1, help="parallel worker processes")
    p.add_argument("--reference", nargs="*", help="published curves (CompressAI JSON) to draw alongside")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("compare", help="bpp, PSNR and MS-SSIM of a decoded image (or .lic) against a reference")
    p.add_argument("reference")
    p.add_argument("decoded")
    p.set_defaults(func=cmd_compare)

    for format, suffix in SUFFIXES.items():
        p = sub.add_parser(format, help=f"write a standard {format.upper()}, optionally through the learned pre-filter")
        p.add_argument("input", help="input file, or - for standard input")
        p.add_argument("-o", "--output", help=f"output {suffix}, or - for standard output (default: beside the input)")
        p.add_argument("-q", "--quality", type=quality_value, default=75)
        p.add_argument("--prefilter", nargs="?", const="", metavar="NAME", help="apply a shipped pre-filter (default one if no NAME)")
        if format == "jpeg":
            p.add_argument("--tables", nargs="?", const="", metavar="NAME", help="use learned quantisation tables: psnr (the default), ms-ssim, or a set's name or file")
            p.add_argument(
                "--postfilter",
                nargs="?",
                const="",
                metavar="NAME",
                help="signal per-block post-filter choices in the file (default bank if no NAME)",
            )
            p.add_argument(
                "--standard-huffman",
                action="store_true",
                help="keep libjpeg's standard Huffman tables (default: fit them to the image; same pixels, fewer bytes)",
            )
        p.add_argument("--force", action="store_true", help="overwrite an existing output")
        p.set_defaults(func=cmd_conventional)

    from licodec.conventional.qtables import ANCHOR_QUALITIES, METRICS

    p = sub.add_parser("train-tables", help="learn JPEG quantisation tables on the real encoder")
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

    for command, summary, steps, batch_size in (
        ("train-prefilter", "train a JPEG pre-filter through the differentiable JPEG proxy", 2500, 8),
        ("train-postfilter", "train a bank of JPEG post-filters competitively", 2000, 16),
    ):
        p = sub.add_parser(command, help=summary)
        p.add_argument("data", nargs="+", help="image folders, searched recursively")
        p.add_argument("-o", "--output", required=True, help="weights file to write (.safetensors)")
        p.add_argument("--steps", type=positive_int, default=steps)
        p.add_argument("--batch-size", type=positive_int, default=batch_size)
        p.add_argument("--seed", type=non_negative_int, default=0)
        p.add_argument("--threads", type=positive_int, default=2)
        p.add_argument("--force", action="store_true")
        p.set_defaults(func=cmd_train_filter)
        if command == "train-prefilter":
            p.add_argument("--tables", metavar="NAME", help="train for JPEG with these learned tables (psnr, ms-ssim or a file)")
            p.add_argument("--init", metavar="NAME", help="start from this pre-filter (name or file) instead of the identity")

    p = sub.add_parser("postfilter", help="decode a JPEG/WebP/AVIF/HEIC file and apply the learned post-filters")
    p.add_argument("input", help="input file, or - for standard input")
    p.add_argument("-o", "--output", help="output .png, or - for standard output (default: beside the input)")
    p.add_argument("--filters", metavar="NAME", help="post-filter bank (default: the shipped one)")
    p.add_argument("--force", action="store_true", help="overwrite an existing output")
    p.set_defaults(func=cmd_postfilter)

    from licodec.train.cli import add_arguments

    p = sub.add_parser("train", help="train a model on image folders")
    add_arguments(p)
    p.set_defaults(func=cmd_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except LicodecError as exc:
        if args.debug:
            raise
        print(f"licodec: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("licodec: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`licodec models | head -1`): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the interpreter's last flush cannot fail
        return 141  # 128 + SIGPIPE, what a shell reports for a writer the pipe ended
    except MemoryError:
        if args.debug:
            raise
        print("licodec: error: out of memory", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
