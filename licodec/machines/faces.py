"""Face detection as a machine: dlib's MMOD CNN detector and its 5-point landmark model.

A decoded image is scored against what the same machine finds in the uncompressed
original (there is no hand-made ground truth for our photos): detections match the
original's at IoU >= 0.5, and the landmarks of matched faces are compared in units of
the original face's inter-ocular distance.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from PIL import Image

from licodec.machines.extra import package_folder, require

IOU_MATCH = 0.5


@dataclass(frozen=True)
class Face:
    box: tuple[float, float, float, float]  # left, top, right, bottom in pixels
    confidence: float
    landmarks: tuple[tuple[float, float], ...]  # eye corners (two per eye), then the nose


class FaceMachine:
    """dlib MMOD CNN detection (image upsampled ``upsample`` times first: 1 finds faces from ~40 px) and 5 landmarks."""

    name = "faces"

    def __init__(self, upsample: int = 0) -> None:
        self.upsample = upsample

    @cached_property
    def _models(self):
        dlib = require("dlib", "face detection")
        folder = package_folder("face_recognition_models", "face detection") / "models"
        detector = dlib.cnn_face_detection_model_v1(str(folder / "mmod_human_face_detector.dat"))
        return detector, dlib.shape_predictor(str(folder / "shape_predictor_5_face_landmarks.dat"))

    @property
    def version(self) -> str:
        """Part of evaluation cache keys: another dlib may detect differently."""
        return f"dlib {require('dlib', 'face detection').__version__} MMOD upsample {self.upsample} + 5-point landmarks"

    def detect(self, image: Image.Image) -> list[Face]:
        detector, landmarks = self._models
        pixels = np.ascontiguousarray(np.asarray(image.convert("RGB")))
        faces = []
        for found in detector(pixels, self.upsample):
            rect = found.rect
            shape = landmarks(pixels, rect)
            points = tuple((float(shape.part(i).x), float(shape.part(i).y)) for i in range(shape.num_parts))
            faces.append(Face((rect.left(), rect.top(), rect.right(), rect.bottom()), float(found.confidence), points))
        return faces


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    overlap = width * height
    return overlap / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - overlap)


@dataclass(frozen=True)
class FaceScore:
    true_positives: int
    false_positives: int
    false_negatives: int
    landmark_error: float  # summed over the matched faces, in inter-ocular distances


def score_faces(reference: list[Face], found: list[Face]) -> FaceScore:
    """Greedy one-to-one matching by IoU (best pairs first), as detection benchmarks do."""
    pairs = sorted(((iou(r.box, f.box), i, j) for i, r in enumerate(reference) for j, f in enumerate(found)), reverse=True)
    used_r, used_f, error = set(), set(), 0.0
    for overlap, i, j in pairs:
        if overlap < IOU_MATCH:
            break
        if i in used_r or j in used_f:
            continue
        used_r.add(i)
        used_f.add(j)
        error += landmark_error(reference[i], found[j])
    matched = len(used_r)
    return FaceScore(matched, len(found) - matched, len(reference) - matched, error)


def landmark_error(reference: Face, found: Face) -> float:
    """Mean distance between corresponding landmarks over the reference's inter-ocular distance (eye centre to eye centre)."""
    ref, got = np.asarray(reference.landmarks), np.asarray(found.landmarks)
    inter_ocular = float(np.linalg.norm(ref[0:2].mean(axis=0) - ref[2:4].mean(axis=0)))
    return float(np.linalg.norm(ref - got, axis=1).mean()) / max(inter_ocular, 1.0)


def f1(true_positives: int, false_positives: int, false_negatives: int) -> float:
    total = 2 * true_positives + false_positives + false_negatives
    return 2 * true_positives / total if total else float("nan")
