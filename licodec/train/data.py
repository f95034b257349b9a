"""Training images held in memory, and deterministic random crops.

Every batch is a pure function of (seed, step): resuming at step k replays exactly
the batches an uninterrupted run would have seen, with no sampler state to save.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".ppm"}


@dataclass
class TrainingImages:
    images: list[torch.Tensor]  # each (3, H, W) uint8
    lossy_source: list[bool]  # True for JPEG sources, whose artefacts downscaling hides

    def __len__(self) -> int:
        return len(self.images)


def find_images(folders: list[Path]) -> list[Path]:
    paths = []
    for folder in folders:
        paths.extend(p for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    return sorted(paths)


def is_validation(path: Path, fraction: float) -> bool:
    """A stable held-out split: decided by the file name's hash, not by its position."""
    digest = hashlib.sha256(path.name.encode()).digest()
    return int.from_bytes(digest[:4], "little") / 2**32 < fraction


def load_images(paths: list[Path], min_side: int) -> TrainingImages:
    images, lossy = [], []
    for path in paths:
        with Image.open(path) as im:
            im = im.convert("RGB")
            if min(im.size) < min_side:
                continue
            images.append(torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1).contiguous())
            lossy.append(path.suffix.lower() in {".jpg", ".jpeg"})
    return TrainingImages(images, lossy)


def sample_batch(
    data: TrainingImages,
    seed: int,
    step: int,
    batch_size: int,
    crop: int,
    rank: int = 0,
    lossy_min_scale: float = 0.5,
    lossless_min_scale: float = 0.75,
) -> torch.Tensor:
    """A batch (B, 3, crop, crop) float in [0, 1]: random image, scale, position and flip.

    ``rank`` gives each data-parallel replica its own batches.
    """
    rng = np.random.default_rng([seed, step] if rank == 0 else [seed, step, rank])
    batch = []
    for _ in range(batch_size):
        i = int(rng.integers(len(data)))
        image = data.images[i]
        _, h, w = image.shape
        low = lossy_min_scale if data.lossy_source[i] else lossless_min_scale
        scale = float(rng.uniform(low, 1.0))
        size = min(int(round(crop / scale)), h, w)
        top = int(rng.integers(h - size + 1))
        left = int(rng.integers(w - size + 1))
        patch = image[:, top : top + size, left : left + size].float().unsqueeze(0) / 255.0
        if size != crop:
            patch = F.interpolate(patch, size=(crop, crop), mode="bilinear", antialias=True, align_corners=False)
        if rng.random() < 0.5:
            patch = patch.flip(-1)
        batch.append(patch.clamp(0, 1))
    return torch.cat(batch)
