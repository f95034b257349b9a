"""Measure codecs by what a machine gets out of the decoded images: OCR accuracy, face detection.

Per codec, quality and image: the file's bpp, the decoded image's PSNR and the machine's
counts (OCR: character edits and characters; faces: true and false positives, misses and
landmark error). Counts are pooled over the images of one quality, so the curve's figure
is e.g. 1 - (all edits) / (all characters). The same machine on the uncompressed images
gives the ceiling (the ``original`` row). Results are cached as ``licodec eval`` caches
its own, with the machine's version in the key.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from PIL import Image
from tqdm import tqdm

from licodec.errors import LicodecError
from licodec.eval.codecs import EvalCodec, resolve
from licodec.eval.runner import ResultCache
from licodec.machines.faces import FaceMachine, f1, score_faces
from licodec.machines.ocr import OcrMachine, character_accuracy, character_errors
from licodec.machines.text_images import read_labels
from licodec.metrics import bits_per_pixel, psnr


@dataclass
class TaskMeasurement:
    codec: str
    image: str
    quality: int
    num_bytes: int
    bpp: float
    psnr: float
    counts: dict[str, float]
    seconds: float  # encode + decode + the machine


class Task(Protocol):
    name: str
    metric: str  # the curve's key, e.g. "ocr-accuracy"
    label: str  # its axis label

    @property
    def version(self) -> str: ...

    def prepare(self, images: list[Path]) -> list[Path]:
        """The images the task can score (faces: those where the machine finds a face in the original)."""

    def counts(self, image_path: Path, decoded: Image.Image) -> dict[str, float]: ...

    def summary(self, rows: list[TaskMeasurement]) -> dict[str, float]:
        """The figures of one quality's rows, pooled; ``self.metric`` among them."""


class OcrTask:
    name, metric, label = "ocr", "ocr-accuracy", "OCR character accuracy (%)"

    def __init__(self, folder: Path, threads: int = 1) -> None:
        self.labels = read_labels(folder)
        self.machine = OcrMachine(threads)

    @property
    def version(self) -> str:
        return self.machine.version

    def prepare(self, images: list[Path]) -> list[Path]:
        missing = [p.name for p in images if p.name not in self.labels]
        if missing:
            raise LicodecError(f"{len(missing)} image(s) have no ground truth in labels.json, e.g. {missing[0]}")
        return images

    def counts(self, image_path: Path, decoded: Image.Image) -> dict[str, float]:
        read = [line.text for line in self.machine.read(decoded)]
        edits, characters = character_errors(self.labels[image_path.name], read)
        return {"edits": edits, "characters": characters}

    def summary(self, rows: list[TaskMeasurement]) -> dict[str, float]:
        edits, characters = (sum(r.counts[k] for r in rows) for k in ("edits", "characters"))
        return {self.metric: 100 * character_accuracy(int(edits), int(characters))}


class FaceTask:
    """Scored against the machine's own detections on the originals, found by :meth:`prepare`."""

    name, metric, label = "faces", "face-f1", "face detection F1 at IoU 0.5 (%)"

    def __init__(self, upsample: int = 0) -> None:
        self.machine = FaceMachine(upsample)
        self.reference: dict[str, list] = {}

    @property
    def version(self) -> str:
        return self.machine.version

    def prepare(self, images: list[Path]) -> list[Path]:
        for path in images:
            with Image.open(path) as im:
                self.reference[path.name] = self.machine.detect(im.convert("RGB"))
        with_faces = [p for p in images if self.reference[p.name]]
        if not with_faces:
            raise LicodecError("the face detector finds no face in any of these images; --task faces needs photographs of people")
        return with_faces

    def counts(self, image_path: Path, decoded: Image.Image) -> dict[str, float]:
        score = score_faces(self.reference[image_path.name], self.machine.detect(decoded))
        return {"tp": score.true_positives, "fp": score.false_positives, "fn": score.false_negatives, "landmark_error": score.landmark_error}

    def summary(self, rows: list[TaskMeasurement]) -> dict[str, float]:
        tp, fp, fn, error = (sum(r.counts[k] for r in rows) for k in ("tp", "fp", "fn", "landmark_error"))
        return {self.metric: 100 * f1(int(tp), int(fp), int(fn)), "landmark-error": error / tp if tp else math.nan}


TASKS = {"ocr": OcrTask, "faces": FaceTask}


def make_task(name: str, folder: Path) -> Task:
    if name == "ocr":
        return OcrTask(folder)
    if name == "faces":
        return FaceTask()
    raise LicodecError(f"unknown task {name!r}; one of {', '.join(TASKS)}")


def measure(task: Task, codec: EvalCodec, path: Path, quality: int) -> TaskMeasurement:
    with Image.open(path) as im:
        original = im.convert("RGB")
    start = time.perf_counter()
    data = codec.encode(original, quality)
    decoded = codec.decode(data).convert("RGB")
    counts = task.counts(path, decoded)
    return TaskMeasurement(
        codec.name,
        path.name,
        quality,
        len(data),
        bits_per_pixel(len(data), *original.size),
        psnr(original, decoded),
        counts,
        time.perf_counter() - start,
    )


ORIGINAL = "original"
"""The row of the uncompressed images: the machine's ceiling."""


def evaluate_task(
    task: Task, codec_names: list[str], images: list[Path], out_dir: Path, qualities: dict[str, tuple[int, ...]] | None = None, progress: bool = True
) -> tuple[list[Path], dict[str, list[TaskMeasurement]]]:
    """Every codec at its qualities on the images ``task`` can score; returns those images and the rows by codec."""
    out_dir.mkdir(parents=True, exist_ok=True)
    images = task.prepare(images)
    cache = ResultCache(out_dir / f"cache-{task.name}.jsonl", TaskMeasurement)
    digests = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in images}
    codecs = [_read_by(resolve(name), task) for name in codec_names]
    results = {ORIGINAL: [_original_row(task, cache, p, digests[p]) for p in images]}
    for codec in codecs:
        sweep = (qualities or {}).get(codec.name, codec.qualities)
        rows = []
        jobs = [(p, q) for p in images for q in sweep]
        for path, q in tqdm(jobs, desc=codec.name, disable=not progress, leave=False):
            key = ResultCache.key(codec, digests[path], q)
            row = cache.get(key)
            if row is None:
                row = measure(task, codec, path, q)
                cache.put(key, row)
            rows.append(row)
        results[codec.name] = sorted(rows, key=lambda r: (r.quality, r.image))
    cache.drop_other_versions(codecs)
    return images, results


def _read_by(codec: EvalCodec, task: Task) -> EvalCodec:
    """``codec`` whose cached version names the machine too: another OCR build re-measures."""
    return replace(codec, version=f"{codec.version}; {task.name} by {task.version}")


def _original_row(task: Task, cache: ResultCache, path: Path, digest: str) -> TaskMeasurement:
    key = f"{ORIGINAL}|{task.name} by {task.version}|0|{digest}"
    row = cache.get(key)
    if row is None:
        start = time.perf_counter()
        with Image.open(path) as im:
            counts = task.counts(path, im.convert("RGB"))
        row = TaskMeasurement(ORIGINAL, path.name, 0, 0, math.nan, math.inf, counts, time.perf_counter() - start)
        cache.put(key, row)
    return row


def task_curve(task: Task, rows: list[TaskMeasurement]) -> dict[str, list[float]]:
    """Per quality: mean bpp, mean PSNR and the task's pooled figures."""
    curve: dict[str, list[float]] = {"quality": [], "bpp": [], "psnr-rgb": []}
    for q in sorted({r.quality for r in rows}):
        at_q = [r for r in rows if r.quality == q]
        curve["quality"].append(q)
        curve["bpp"].append(sum(r.bpp for r in at_q) / len(at_q))
        curve["psnr-rgb"].append(sum(r.psnr for r in at_q) / len(at_q))
        for key, value in task.summary(at_q).items():
            curve.setdefault(key, []).append(value)
    return curve


def write_task_report(task: Task, images: list[Path], results: dict[str, list[TaskMeasurement]], out_dir: Path, anchor: str, command: str) -> Path:
    """``task_NAME.md`` (ceiling, BD-rates on the task metric and on PSNR, every point), the curves as JSON, the RD plot."""
    from licodec.eval.bdrate import bd_quality, bd_rate
    from licodec.eval.report import plot

    ceiling = task.summary(results[ORIGINAL])
    curves = {name: task_curve(task, rows) for name, rows in results.items() if name != ORIGINAL}
    (out_dir / f"task_{task.name}.json").write_text(
        json.dumps({"task": task.name, "machine": task.version, "images": len(images), "original": ceiling, "curves": curves}, indent=1)
    )
    plot(curves, [], task.metric, task.label, out_dir / f"rd_{task.metric}.png")
    lines = [
        f"# {task.label} against bpp",
        "",
        f"`{command}`: {len(images)} images; machine: {task.version}.",
        f"On the uncompressed images: {', '.join(f'{k} {v:.2f}' for k, v in ceiling.items())}.",
        "",
        f"BD-rate against `{anchor}` (negative = fewer bits for the same figure; Akima, `bjontegaard`; for the task metric,",
        "only points that raise it above every cheaper point count, since task metrics saturate):",
        "",
        f"| codec | {task.metric} BD-rate | PSNR BD-rate | PSNR at equal bpp | bpp range |",
        "|---|---|---|---|---|",
    ]
    for name, curve in curves.items():
        base = curves.get(anchor)
        rates = [bd_rate(base, curve, task.metric, envelope=True), bd_rate(base, curve, "psnr-rgb")] if base else [math.nan] * 2
        psnr_gap = bd_quality(base, curve) if base else math.nan
        cells = ["n/a" if math.isnan(v) else f"{v:+.1f}%" for v in rates] + ["n/a" if math.isnan(psnr_gap) else f"{psnr_gap:+.2f} dB"]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {min(curve['bpp']):.3f}–{max(curve['bpp']):.3f} |")
    lines += ["", "| codec | quality | bpp | PSNR | " + " | ".join(k for k in ceiling) + " |", "|---|---|---|---|" + "---|" * len(ceiling)]
    for name, curve in curves.items():
        for i, q in enumerate(curve["quality"]):
            lines.append(
                f"| {name} | {q} | {curve['bpp'][i]:.3f} | {curve['psnr-rgb'][i]:.2f} | " + " | ".join(f"{curve[k][i]:.2f}" for k in ceiling) + " |"
            )
    path = out_dir / f"task_{task.name}.md"
    path.write_text("\n".join(lines) + "\n")
    return path
