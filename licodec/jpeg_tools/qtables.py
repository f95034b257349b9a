"""Learned JPEG quantisation tables, written as ordinary baseline JPEG.

A table set maps anchor qualities to a luma and a chroma table (64 integers each,
natural row-major order, 1..255 so the file stays baseline), learned by
:mod:`licodec.train.jpeg_tables`. Qualities between anchors interpolate the tables
geometrically.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from licodec.codecs._pillow import save
from licodec.codecs.jpeg import SUBSAMPLING, jpeg_save_options
from licodec.errors import LicodecError
from licodec.storage import find_file, foreign_file, save_document

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
    """Write a table set (or the anchors learned so far) as the JSON :func:`load_table_set` reads."""
    document = {
        "format": FORMAT,
        "version": 1,
        "metric": metric,
        "order": "natural (row-major), luma then chroma",
        "subsampling": "4:2:0",
        "anchors": {str(q): {"luma": t[0], "chroma": t[1]} for q, t in sorted(anchors.items())},
        "training": training,
    }
    save_document(path, document)


def anchors_of(document: dict) -> dict[int, Tables]:
    """The anchors of a table-set document, as :func:`save_table_set` wrote them."""
    return {int(q): (list(t["luma"]), list(t["chroma"])) for q, t in document["anchors"].items()}


def load_table_set(name_or_path: str | None = None) -> TableSet:
    """A shipped set by name (``psnr`` and ``ms-ssim`` are short for ``qtables-jpeg-psnr`` ...) or a file by path."""
    name = name_or_path or DEFAULT_TABLES
    if name in METRICS:
        name = f"qtables-jpeg-{name}"
    path = find_file(name, ".json", "quantisation tables", "train tables")
    raw = path.read_bytes()
    with foreign_file(path, "quantisation-table"):
        document = json.loads(raw)
        if document.get("format") != FORMAT:
            raise ValueError("not a table-set file")
        anchors = anchors_of(document)
    return TableSet(path.stem, document["metric"], anchors, hashlib.sha256(raw).hexdigest()[:16])
