"""Learned JPEG quantisation tables, written as ordinary baseline JPEG.

A table set maps anchor qualities to a luma and a chroma table (64 integers each,
natural row-major order, 1..255 so the file stays baseline). Each set is learned
from training images by greedy coordinate descent on the *real* encoder's
rate-distortion cost ``bits + lambda * distortion``, starting from libjpeg's own
tables at that quality, with ``lambda`` the slope of libjpeg's own curve there: a
lower cost at the same slope is a point below the standard curve. Searching the
real encoder rather than a differentiable proxy means the result cannot exploit a
proxy's errors. Qualities between anchors interpolate the tables geometrically.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

from licodec.conventional._pillow import save
from licodec.conventional.jpeg import SUBSAMPLING, jpeg_save_options
from licodec.conventional._weights import installed_file
from licodec.errors import LicodecError, foreign_file

DEFAULT_TABLES = "qtables-jpeg-psnr"
FORMAT = "licodec-jpeg-qtables"
ANCHOR_QUALITIES = (5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95)
METRICS = ("psnr", "ms-ssim")

Tables = tuple[list[int], list[int]]  # (luma, chroma), natural order


def standard_tables(quality: int) -> Tables:
    """libjpeg's own tables at ``quality`` (Annex K scaled), read back from a tiny encode."""
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="JPEG", quality=int(quality), subsampling=SUBSAMPLING)
    with Image.open(buffer) as image:
        tables = image.quantization
    return list(tables[0]), list(tables[1])


def encode(image: Image.Image, tables: Tables, comment: bytes | None = None, optimize_huffman: bool = False) -> bytes:
    """Baseline JPEG (4:2:0) of ``image`` with explicit quantisation tables (options as :func:`jpeg.encode`)."""
    luma, chroma = tables
    if not all(1 <= v <= 255 for v in (*luma, *chroma)) or len(luma) != 64 or len(chroma) != 64:
        raise LicodecError("quantisation tables need 64 entries each in 1..255 (baseline JPEG)")
    options = jpeg_save_options(comment, optimize_huffman)
    return save(image, "JPEG", qtables=[list(luma), list(chroma)], subsampling=SUBSAMPLING, **options)


@dataclass(frozen=True)
class TableSet:
    """Learned tables at anchor qualities; :meth:`tables` serves any quality 1..100."""

    name: str
    metric: str
    anchors: dict[int, Tables]
    digest: str

    def tables(self, quality: int) -> Tables:
        qualities = sorted(self.anchors)
        q = min(max(int(quality), qualities[0]), qualities[-1])
        high = next(a for a in qualities if a >= q)
        low = max(a for a in qualities if a <= q)
        if low == high:
            return self.anchors[low]
        t = (q - low) / (high - low)

        def blend(a: list[int], b: list[int]) -> list[int]:
            return [int(min(max(round(math.exp((1 - t) * math.log(u) + t * math.log(v))), 1), 255)) for u, v in zip(a, b)]

        return blend(self.anchors[low][0], self.anchors[high][0]), blend(self.anchors[low][1], self.anchors[high][1])

    def encode(self, image: Image.Image, quality: int, comment: bytes | None = None, optimize_huffman: bool = False) -> bytes:
        return encode(image, self.tables(quality), comment, optimize_huffman)


def save_table_set(path: Path, metric: str, anchors: dict[int, Tables], training: dict) -> None:
    document = {
        "format": FORMAT,
        "version": 1,
        "metric": metric,
        "order": "natural (row-major), luma then chroma",
        "subsampling": "4:2:0",
        "anchors": {str(q): {"luma": t[0], "chroma": t[1]} for q, t in sorted(anchors.items())},
        "training": training,
    }
    temporary = path.with_name(f".{path.name}.tmp")  # then a rename: an interruption never leaves half a file
    temporary.write_text(json.dumps(document, indent=1) + "\n")
    os.replace(temporary, path)


def _anchors(document: dict) -> dict[int, Tables]:
    """The anchors of a table-set document, as :func:`save_table_set` wrote them."""
    return {int(q): (list(t["luma"]), list(t["chroma"])) for q, t in document["anchors"].items()}


def partial_anchors(path: Path, metric: str, training: dict) -> dict[int, Tables]:
    """Anchors an interrupted ``train-tables`` run saved at ``path``; refused if made with other settings."""
    if not path.exists():
        return {}
    try:
        document = json.loads(path.read_text())
        same = document["metric"] == metric and document["training"] == training
        anchors = _anchors(document)
    except (ValueError, KeyError, TypeError, AttributeError):
        same = False
    if not same:
        raise LicodecError(f"{path} holds an interrupted run with other settings; rerun with those or delete it")
    return anchors


def load_table_set(name_or_path: str | None = None) -> TableSet:
    """A shipped set by name (``psnr`` and ``ms-ssim`` are short for ``qtables-jpeg-psnr`` ...) or a file by path."""
    name = name_or_path or DEFAULT_TABLES
    if name in METRICS:
        name = f"qtables-jpeg-{name}"
    path = installed_file(name, ".json", "quantisation tables", "train-tables")
    raw = path.read_bytes()
    with foreign_file(path, "quantisation-table"):
        document = json.loads(raw)
        if document.get("format") != FORMAT:
            raise ValueError("not a table-set file")
        anchors = _anchors(document)
    return TableSet(path.stem, document["metric"], anchors, hashlib.sha256(raw).hexdigest()[:16])


# -- learning -------------------------------------------------------------------


def _distortion(metric: str) -> Callable[[np.ndarray, np.ndarray], float]:
    """Distortion of one crop, the quantity the cost weighs against bits (its scale folds into lambda)."""
    if metric == "psnr":
        return lambda a, b: float(np.sum((a.astype(np.float64) - b) ** 2))
    from licodec.eval.metrics import ms_ssim

    return lambda a, b: 1.0 - ms_ssim(a, b)


class TableObjective:
    """Bits and distortion of real libjpeg files over a fixed set of crops."""

    def __init__(self, crops: list[np.ndarray], metric: str) -> None:
        self.images = [Image.fromarray(c) for c in crops]
        self.crops = crops
        self.distortion = _distortion(metric)
        self.evaluations = 0

    def measure(self, tables: Tables) -> tuple[float, float]:
        self.evaluations += 1
        bits = distortion = 0.0
        for image, crop in zip(self.images, self.crops):
            data = encode(image, tables)
            bits += 8 * len(data)
            with Image.open(io.BytesIO(data)) as decoded:
                distortion += self.distortion(crop, np.asarray(decoded.convert("RGB")))
        return bits, distortion


def local_slope(
    objective: TableObjective, quality: int, step: int = 3, tables_at: Callable[[int], Tables] = standard_tables
) -> float:
    """-dBits/dDistortion around ``quality`` of the curve ``tables_at`` draws (libjpeg's own by default): the lambda to hold."""
    lo, hi = max(quality - step, 1), min(quality + step, 100)
    bits_lo, dist_lo = objective.measure(tables_at(lo))
    bits_hi, dist_hi = objective.measure(tables_at(hi))
    return max(bits_hi - bits_lo, 1e-9) / max(dist_lo - dist_hi, 1e-9)


ZIGZAG = (
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
    35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
)  # fmt: skip


def learn_tables(objective: TableObjective, quality: int, passes: int = 2, factors=(0.8, 1.25), log=print) -> Tables:
    """Greedy coordinate descent from the standard tables at ``quality``; every step lowers the cost."""
    lmbda = local_slope(objective, quality)
    tables = standard_tables(quality)
    bits, dist = objective.measure(tables)
    best = bits + lmbda * dist
    start = best
    for _ in range(passes):
        improved = False
        for component in (0, 1):
            for position in ZIGZAG:
                current = tables[component][position]
                candidates = {min(max(round(current * f), 1), 255) for f in factors} | {max(current - 1, 1), min(current + 1, 255)}
                for value in sorted(candidates - {current}):
                    trial = (list(tables[0]), list(tables[1]))
                    trial[component][position] = value
                    b, d = objective.measure(trial)
                    if b + lmbda * d < best:
                        best, tables, improved = b + lmbda * d, trial, True
        if not improved:
            break
    log(json.dumps({"quality": quality, "lambda": lmbda, "cost_change": round(best / start - 1, 5), "evaluations": objective.evaluations}))
    return tables


def training_crops(folders: list[str], count: int, size: int, seed: int) -> list[np.ndarray]:
    """``count`` random ``size``-pixel crops (uint8 RGB) from the training images."""
    from licodec.train.data import load_training_images

    data = load_training_images(folders, size)
    rng = np.random.default_rng(seed)
    crops = []
    for _ in range(count):
        image = data.images[int(rng.integers(len(data)))]
        _, h, w = image.shape
        top, left = int(rng.integers(h - size + 1)), int(rng.integers(w - size + 1))
        crops.append(image[:, top : top + size, left : left + size].permute(1, 2, 0).numpy().copy())
    return crops
