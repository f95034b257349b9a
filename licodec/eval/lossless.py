"""Lossless codecs side by side: bits per sub-pixel, encode and decode times, and every file checked exact.

``licodec eval --lossless FOLDER`` runs licodec's lossless profiles and the conventional
lossless codecs this machine has (PNG, WebP, JPEG XL at efforts 7 and 9, JPEG 2000
reversible, AVIF) on every image, checks that each decodes to exactly the input, and
writes a table (``lossless.md``) and the rows (``lossless.json``). A conventional codec's
rows already in ``lossless.json`` for the same image files (by SHA-256) are kept, not
measured again: its files depend on the image alone, so only licodec's are redone when
its model changes (the kept rows' times are from the run that measured them).
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

import licodec
from licodec.lossless.order import DEFAULT_PROFILE, PROFILES
from licodec.options import ADAPT_DECODER_STEPS


@dataclass(frozen=True)
class LosslessCodec:
    name: str
    encode: Callable[[Image.Image], bytes]
    decode: Callable[[bytes], Image.Image]
    reusable: bool = True  # its files depend on the image alone (not on a model)


def _pillow(format: str, **options) -> tuple[Callable, Callable]:
    def encode(image: Image.Image) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, format=format, **options)
        return buffer.getvalue()

    def decode(data: bytes) -> Image.Image:
        with Image.open(io.BytesIO(data)) as image:
            return image.convert("RGB")

    return encode, decode


def _imagecodecs(kind: str, **options) -> tuple[Callable, Callable]:
    import imagecodecs  # the eval extra

    encoder, decoder = getattr(imagecodecs, f"{kind}_encode"), getattr(imagecodecs, f"{kind}_decode")
    return lambda image: bytes(encoder(np.asarray(image), **options)), lambda data: Image.fromarray(np.asarray(decoder(data))[..., :3])


def conventional_codecs() -> list[LosslessCodec]:
    """The conventional lossless codecs available here, at the settings their best-known tools use."""
    codecs = [
        LosslessCodec("PNG (optimize)", *_pillow("PNG", optimize=True)),
        LosslessCodec("WebP lossless (method 6)", *_pillow("WEBP", lossless=True, quality=100, method=6)),
        LosslessCodec("JPEG 2000 reversible", *_pillow("JPEG2000", irreversible=False)),
    ]
    try:
        import imagecodecs
    except ImportError:
        return codecs
    if imagecodecs.JPEGXL.available:
        codecs += [LosslessCodec(f"JPEG XL lossless (effort {e})", *_imagecodecs("jpegxl", lossless=True, effort=e)) for e in (7, 9)]
    if imagecodecs.AVIF.available:
        codecs.append(LosslessCodec("AVIF lossless", *_imagecodecs("avif", level=100, speed=6)))
    return codecs


def licodec_codecs(model: str | None = None) -> list[LosslessCodec]:
    """Every profile, and the default one with per-image bias updates (``--adapt-decoder``)."""
    variants = [(profile, profile, 0) for profile in PROFILES]
    variants.append((f"{DEFAULT_PROFILE} +adapt-decoder", DEFAULT_PROFILE, ADAPT_DECODER_STEPS))
    return [
        LosslessCodec(
            f"licodec {name}",
            lambda image, profile=profile, steps=steps: licodec.compress(
                image, lossless=True, lossless_profile=profile, adapt_decoder_steps=steps, model=model
            ),
            lambda data: licodec.decompress(data, model=model),
            reusable=False,
        )
        for name, profile, steps in variants
    ]


def measure(codec: LosslessCodec, path: Path) -> dict:
    """One image through one codec: its bits per sub-pixel, times, and whether it came back exactly."""
    with Image.open(path) as opened:
        image = opened.convert("RGB")
    start = time.perf_counter()
    data = codec.encode(image)
    encoded = time.perf_counter()
    decoded = codec.decode(data)
    done = time.perf_counter()
    exact = decoded.size == image.size and np.array_equal(np.asarray(decoded.convert("RGB")), np.asarray(image))
    bpsp = 8 * len(data) / (3 * image.width * image.height)
    return {
        "codec": codec.name,
        "image": path.name,
        "bytes": len(data),
        "bpsp": bpsp,
        "encode_s": encoded - start,
        "decode_s": done - encoded,
        "exact": exact,
    }


def evaluate(codecs: list[LosslessCodec], images: list[Path], out: Path, on_row: Callable[[dict], None] = lambda row: None) -> list[dict]:
    kept = _measured_before(out)
    digests = {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in images}
    rows = []
    for codec in codecs:
        for path in images:
            row = kept.get((codec.name, digests[path])) if codec.reusable else None
            rows.append(row or {**measure(codec, path), "sha256": digests[path]})
            on_row(rows[-1])
    out.mkdir(parents=True, exist_ok=True)
    (out / "lossless.json").write_text(json.dumps({"cpu": platform.processor() or platform.machine(), "rows": rows}, indent=1) + "\n")
    (out / "lossless.md").write_text(table(rows))
    return rows


def _measured_before(out: Path) -> dict[tuple[str, str], dict]:
    """The rows of an earlier run in ``out``, by (codec, image SHA-256); none if there is none (or it predates hashes)."""
    try:
        rows = json.loads((out / "lossless.json").read_text())["rows"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return {(row["codec"], row["sha256"]): row for row in rows if isinstance(row, dict) and "sha256" in row and "codec" in row}


def table(rows: list[dict]) -> str:
    """Mean bits per sub-pixel and times per codec, smallest files first; a codec that changed a pixel says so."""
    lines = ["| codec | bits per sub-pixel | encode s | decode s | exact |", "|---|---|---|---|---|"]
    by_codec: dict[str, list[dict]] = {}
    for row in rows:
        by_codec.setdefault(row["codec"], []).append(row)
    for name, group in sorted(by_codec.items(), key=lambda item: np.mean([r["bpsp"] for r in item[1]])):
        exact = sum(r["exact"] for r in group)
        mean = lambda key: float(np.mean([r[key] for r in group]))
        lines.append(
            f"| {name} | {mean('bpsp'):.3f} | {mean('encode_s'):.2f} | {mean('decode_s'):.2f} | "
            f"{'all' if exact == len(group) else f'{exact} of {len(group)}'} |"
        )
    return "\n".join(lines) + f"\n\n{len(next(iter(by_codec.values()), []))} images; times are means per image.\n"
