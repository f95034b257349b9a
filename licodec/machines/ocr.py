"""OCR as a machine that reads decoded images: PP-OCRv4 detection and recognition (rapidocr-onnxruntime).

The figure of merit is character accuracy, 1 - CER: the edit distance between what the
machine reads and the ground truth, over the truth's characters. Whitespace is left out
of both, because the recogniser's spacing (it often drops a space between words) is
not what compression changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from PIL import Image

from licodec.machines.extra import require


@dataclass(frozen=True)
class TextLine:
    box: tuple[tuple[float, float], ...]  # four corners, clockwise from top-left, in pixels
    text: str
    score: float


class OcrMachine:
    """PP-OCRv4 through onnxruntime on ``threads`` threads (angle classifier off: the texts it reads are upright)."""

    name = "ocr"

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads

    @cached_property
    def _engine(self):
        rapidocr = require("rapidocr_onnxruntime", "OCR")
        return rapidocr.RapidOCR(intra_op_num_threads=self.threads, inter_op_num_threads=1, use_cls=False, print_verbose=False)

    @property
    def version(self) -> str:
        """Part of evaluation cache keys: another OCR build may read differently."""
        from importlib.metadata import version

        return f"rapidocr-onnxruntime {version('rapidocr-onnxruntime')} PP-OCRv4"

    def read(self, image: Image.Image) -> list[TextLine]:
        """The text lines found in ``image``, in reading order (top to bottom, then left to right)."""
        found, _ = self._engine(np.asarray(image.convert("RGB")), use_cls=False)
        lines = [TextLine(tuple(tuple(map(float, p)) for p in box), text, float(score)) for box, text, score in found or []]
        return sorted(lines, key=_reading_position)


def _reading_position(line: TextLine) -> tuple[float, float]:
    ys = [p[1] for p in line.box]
    return (round((min(ys) + max(ys)) / 2 / 8), min(p[0] for p in line.box))  # lines within 8 px count as one row


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions, one each."""
    if len(a) < len(b):
        a, b = b, a
    previous = np.arange(len(b) + 1)
    codes = np.frombuffer(b.encode("utf-32-le"), dtype=np.uint32)
    for i, char in enumerate(a, start=1):
        substitution = previous[:-1] + (codes != ord(char))
        current = np.empty_like(previous)
        current[0] = i
        current[1:] = np.minimum(previous[1:] + 1, substitution)
        current = np.minimum.accumulate(current - np.arange(len(current))) + np.arange(len(current))  # insertions
        previous = current
    return int(previous[-1])


def comparable(lines: list[str]) -> str:
    """What is compared: the lines in reading order, whitespace removed."""
    return "".join("".join(line.split()) for line in lines)


def character_errors(truth: list[str], read: list[str]) -> tuple[int, int]:
    """(edits, characters of the truth): pool them over images, then accuracy = 1 - edits / characters."""
    expected = comparable(truth)
    return edit_distance(expected, comparable(read)), len(expected)


def character_accuracy(edits: int, characters: int) -> float:
    """1 - CER, floored at 0 (a reading can be longer than the truth)."""
    return max(0.0, 1.0 - edits / characters) if characters else float("nan")
