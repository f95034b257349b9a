"""Learning JPEG quantisation tables (:mod:`licodec.jpeg_tools.qtables`) on the real encoder.

Each set is learned from training images by greedy coordinate descent on the
*real* encoder's rate-distortion cost ``bits + lambda * distortion``, starting from
libjpeg's own tables at that quality, with ``lambda`` the slope of libjpeg's own
curve there: a lower cost at the same slope is a point below the standard curve.
Searching the real encoder rather than a differentiable proxy means the result
cannot exploit a proxy's errors.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from licodec.errors import LicodecError
from licodec.jpeg_tools.qtables import Tables, anchors_of, encode, standard_tables
from licodec.metrics import ms_ssim
from licodec.train.data import load_training_images


def partial_anchors(path: Path, metric: str, training: dict) -> dict[int, Tables]:
    """Anchors an interrupted ``train tables`` run saved at ``path``; refused if made with other settings."""
    if not path.exists():
        return {}
    try:
        document = json.loads(path.read_text())
        same = document["metric"] == metric and document["training"] == training
        anchors = anchors_of(document)
    except (ValueError, KeyError, TypeError, AttributeError):
        same = False
    if not same:
        raise LicodecError(f"{path} holds an interrupted run with other settings; rerun with those or delete it")
    return anchors


def _distortion(metric: str) -> Callable[[np.ndarray, np.ndarray], float]:
    """Distortion of one crop, the quantity the cost weighs against bits (its scale folds into lambda)."""
    if metric == "psnr":
        return lambda a, b: float(np.sum((a.astype(np.float64) - b) ** 2))
    if metric == "perceptual":
        return _perceptual_distortion()
    return lambda a, b: 1.0 - ms_ssim(a, b)


def _perceptual_distortion() -> Callable[[np.ndarray, np.ndarray], float]:
    """1 - MS-SSIM + LPIPS of one uint8 crop pair, through the training distortion's own networks."""
    import torch

    from licodec.train.distortion import distortion_measure

    measure = distortion_measure("perceptual")
    as_batch = lambda a: torch.from_numpy(np.array(a)).permute(2, 0, 1)[None].float() / 255

    def perceptual(original: np.ndarray, decoded: np.ndarray) -> float:
        with torch.no_grad():
            return float(measure(as_batch(decoded), as_batch(original))[0])

    return perceptual


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


def local_slope(objective: TableObjective, quality: int, step: int = 3, tables_at: Callable[[int], Tables] = standard_tables) -> float:
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
    data = load_training_images(folders, size)
    rng = np.random.default_rng(seed)
    crops = []
    for _ in range(count):
        image = data.images[int(rng.integers(len(data)))]
        _, h, w = image.shape
        top, left = int(rng.integers(h - size + 1)), int(rng.integers(w - size + 1))
        crops.append(image[:, top : top + size, left : left + size].permute(1, 2, 0).numpy().copy())
    return crops
