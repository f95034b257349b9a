"""Measure codecs on a folder of images: bytes, bpp, PSNR, MS-SSIM, encode/decode seconds, and any
quality metrics asked for (:mod:`licodec.eval.quality_metrics`).

Results are cached per (codec version, quality, image content), so a re-run only
computes what changed; it forgets the rows of earlier versions of the codecs it ran.
See docs/evaluation.md for the definition of every number.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import math
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from PIL import Image
from tqdm import tqdm

from licodec.eval.codecs import EvalCodec, resolve
from licodec.eval.quality_metrics import QualityMetric, resolve_metrics
from licodec.metrics import bits_per_pixel, ms_ssim, psnr


@dataclass
class Measurement:
    codec: str
    image: str
    quality: int
    num_bytes: int
    bpp: float
    psnr: float
    ms_ssim: float
    encode_seconds: float
    decode_seconds: float
    metrics: dict[str, float] = field(default_factory=dict)  # the optional quality metrics, by name
    metric_versions: dict[str, str] = field(default_factory=dict)

    def has(self, metrics: list[QualityMetric], versions: dict[str, str]) -> bool:
        return all(m.name in self.metrics and self.metric_versions.get(m.name) == versions[m.name] for m in metrics)


def measure(codec: EvalCodec, path: Path, quality: int, metrics: list[QualityMetric] = ()) -> Measurement:
    with Image.open(path) as im:
        original = im.convert("RGB")
    start = time.perf_counter()
    data = codec.encode(original, quality)
    encoded = time.perf_counter()
    decoded = codec.decode(data)
    decode_seconds = time.perf_counter() - encoded
    return Measurement(
        codec=codec.name,
        image=path.name,
        quality=quality,
        num_bytes=len(data),
        bpp=bits_per_pixel(len(data), *original.size),
        psnr=psnr(original, decoded),
        ms_ssim=ms_ssim(original, decoded),
        encode_seconds=encoded - start,
        decode_seconds=decode_seconds,
        metrics={m.name: m.compute(original, decoded) for m in metrics},
        metric_versions={m.name: m.version() for m in metrics},
    )


class ResultCache:
    """JSON lines keyed by codec version, quality and the image's SHA-256; rows are ``row_type`` dataclasses."""

    def __init__(self, path: Path, row_type: type = Measurement) -> None:
        self.path = path
        self.row_type = row_type
        self.rows: dict[str, dict] = {}
        if path.exists():
            for line in path.read_text().splitlines():
                row = json.loads(line)
                self.rows[row["key"]] = row["measurement"]

    @staticmethod
    def key(codec: EvalCodec, image_digest: str, quality: int) -> str:
        return f"{codec.name}|{codec.version}|{quality}|{image_digest}"

    def get(self, key: str):
        row = self.rows.get(key)
        return self.row_type(**row) if row else None

    def put(self, key: str, m) -> None:
        self.rows[key] = asdict(m)
        with self.path.open("a") as f:
            f.write(json.dumps({"key": key, "measurement": asdict(m)}) + "\n")

    def drop_other_versions(self, codecs: list[EvalCodec]) -> None:
        """Forget the rows of earlier versions of ``codecs`` (old weights, old encoders); other codecs' rows stay.

        They can never be hit again, and the folder's curves no longer show them.
        The file is rewritten whole and swapped in, so an interruption leaves the old one.
        """
        current = {codec.name: codec.version for codec in codecs}

        def stale(key: str) -> bool:
            name, version = key.rsplit("|", 2)[0].split("|", 1)
            return name in current and version != current[name]

        kept = {key: row for key, row in self.rows.items() if not stale(key)}
        if len(kept) == len(self.rows):
            return
        partial = self.path.with_name(self.path.name + ".partial")
        partial.write_text("".join(json.dumps({"key": key, "measurement": row}) + "\n" for key, row in kept.items()))
        partial.replace(self.path)
        self.rows = kept


def _measure_job(args: tuple[str, str, int, tuple[str, ...]]) -> Measurement:
    torch.set_num_threads(1)
    name, path, quality, metric_names = args
    return measure(resolve(name), Path(path), quality, resolve_metrics(list(metric_names)))


def evaluate(
    codec_names: list[str],
    images: list[Path],
    out_dir: Path,
    qualities: dict[str, tuple[int, ...]] | None = None,
    jobs: int = 1,
    progress: bool = True,
    metrics: list[QualityMetric] = (),
) -> dict[str, list[Measurement]]:
    """Every codec at each of its qualities on every image; cached rows are reused when they hold the ``metrics`` asked for."""
    out_dir.mkdir(parents=True, exist_ok=True)
    versions = {m.name: m.version() for m in metrics}
    cache = ResultCache(out_dir / "cache.jsonl")
    digests = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in images}
    results: dict[str, list[Measurement]] = {}
    codecs = [resolve(name) for name in codec_names]
    for name, codec in zip(codec_names, codecs):
        sweep = (qualities or {}).get(name, codec.qualities)
        todo, done, earlier = [], [], {}
        for path in images:
            for q in sweep:
                hit = cache.get(ResultCache.key(codec, digests[path], q))
                if hit and hit.has(metrics, versions):
                    done.append(hit)
                else:
                    todo.append((path, q))
                    earlier[path, q] = hit
        bar = tqdm(total=len(todo), desc=name, disable=not progress or not todo, leave=False)
        with contextlib.ExitStack() as stack:
            if jobs > 1 and todo:
                pool = stack.enter_context(ProcessPoolExecutor(jobs))
                measured = pool.map(_measure_job, [(name, str(p), q, tuple(versions)) for p, q in todo])
            else:
                measured = (measure(codec, path, q, metrics) for path, q in todo)
            for (path, q), m in zip(todo, measured):
                m = _with_earlier_metrics(m, earlier[path, q])
                cache.put(ResultCache.key(codec, digests[path], q), m)
                done.append(m)
                bar.update()
        bar.close()
        results[name] = sorted(done, key=lambda m: (m.quality, m.image))
    cache.drop_other_versions(codecs)
    return results


def _with_earlier_metrics(m: Measurement, earlier: Measurement | None) -> Measurement:
    """``m`` keeping the metrics an earlier row of the same file measured that this run did not ask for."""
    if earlier is not None:
        m.metrics = {**earlier.metrics, **m.metrics}
        m.metric_versions = {**earlier.metric_versions, **m.metric_versions}
    return m


def average_curve(rows: list[Measurement]) -> dict[str, list[float]]:
    """Per quality, the mean over images of each figure (CompressAI's averaging); quality metrics every row has, by name."""
    shared = set.intersection(*(set(m.metrics) for m in rows)) if rows else set()
    keys = ("quality", "bpp", "psnr-rgb", "ms-ssim-rgb", "encoding_time", "decoding_time", *sorted(shared))
    curve: dict[str, list[float]] = {k: [] for k in keys}
    for q in sorted({m.quality for m in rows}):
        at_q = [m for m in rows if m.quality == q]
        curve["quality"].append(q)
        curve["bpp"].append(_mean([m.bpp for m in at_q]))
        curve["psnr-rgb"].append(_mean([m.psnr for m in at_q]))
        curve["ms-ssim-rgb"].append(_mean([m.ms_ssim for m in at_q]))
        curve["encoding_time"].append(_mean([m.encode_seconds for m in at_q]))
        curve["decoding_time"].append(_mean([m.decode_seconds for m in at_q]))
        for name in sorted(shared):
            curve[name].append(_mean([m.metrics[name] for m in at_q]))
    return curve


def quick_curve(
    encode: Callable[[Image.Image, int], bytes],
    decode: Callable[[bytes], Image.Image],
    images: list[Image.Image],
    qualities: tuple[int, ...],
) -> tuple[dict[str, list[float]], float]:
    """A quick in-memory curve: mean bpp, PSNR and MS-SSIM per quality, and the mean encode seconds.

    For benchmarks that compare two variants of one codec (no cache, no decode timing).
    """
    curve: dict[str, list[float]] = {"bpp": [], "psnr-rgb": [], "ms-ssim-rgb": []}
    seconds = []
    for q in qualities:
        rates, psnrs, ms_ssims = [], [], []
        for image in images:
            start = time.perf_counter()
            data = encode(image, q)
            seconds.append(time.perf_counter() - start)
            decoded = decode(data)
            rates.append(bits_per_pixel(len(data), *image.size))
            psnrs.append(psnr(image, decoded))
            ms_ssims.append(ms_ssim(image, decoded))
        curve["bpp"].append(_mean(rates))
        curve["psnr-rgb"].append(_mean(psnrs))
        curve["ms-ssim-rgb"].append(_mean(ms_ssims))
    return curve, _mean(seconds)


def _mean(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return sum(finite) / len(finite) if finite else math.nan


def write_rows_csv(results: dict[str, list[Measurement]], path: Path) -> None:
    """One row per codec, quality and image; a column per quality metric any row has."""
    names = sorted({name for rows in results.values() for m in rows for name in m.metrics})
    fields = [f for f in Measurement.__dataclass_fields__ if f not in ("metrics", "metric_versions")] + names
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        for rows in results.values():
            for m in rows:
                row = {k: v for k, v in asdict(m).items() if k in fields}
                writer.writerow(row | {name: m.metrics.get(name, "") for name in names})
