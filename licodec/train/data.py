"""Training images held in memory, and deterministic random crops.

Every batch is a pure function of (seed, step): resuming at step k replays exactly
the batches an uninterrupted run would have seen, with no sampler state to save.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from licodec.errors import LicodecError
from licodec.image_folders import find_images


@dataclass
class TrainingImages:
    images: list[torch.Tensor]  # each (3, H, W) uint8
    lossy_source: list[bool]  # True for JPEG sources, whose artefacts downscaling hides
    unreadable: list[Path] = field(default_factory=list)  # files skipped because Pillow could not read them

    def __len__(self) -> int:
        return len(self.images)


def is_validation(path: Path, fraction: float) -> bool:
    """A stable held-out split: decided by the file name's hash, not by its position."""
    digest = hashlib.sha256(path.name.encode()).digest()
    return int.from_bytes(digest[:4], "little") / 2**32 < fraction


def load_images(paths: list[Path], min_side: int) -> TrainingImages:
    """The images with both sides at least ``min_side``, as RGB; unreadable files are skipped and listed."""
    data = TrainingImages([], [])
    for path in paths:
        try:
            with Image.open(path) as im:
                im = im.convert("RGB")
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
            data.unreadable.append(path)
            continue
        if min(im.size) >= min_side:
            data.images.append(torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1).contiguous())
            data.lossy_source.append(path.suffix.lower() in {".jpg", ".jpeg"})
    return data


def load_training_images(folders: list[str], min_side: int) -> TrainingImages:
    """:func:`load_images` of every image under ``folders``; refused if none is usable, unreadable files warned about."""
    data = load_images(find_images([Path(f) for f in folders]), min_side)
    _warn_unreadable(data.unreadable)
    _refuse_empty(data, min_side, folders)
    return data


def load_split(folders: list[str], fraction: float, train_side: int, held_out_side: int) -> tuple[TrainingImages, TrainingImages]:
    """Training and held-out images (split by :func:`is_validation`); refused if no training image is usable."""
    paths = find_images([Path(f) for f in folders])
    train = load_images([p for p in paths if not is_validation(p, fraction)], train_side)
    held_out = load_images([p for p in paths if is_validation(p, fraction)], held_out_side)
    _warn_unreadable(train.unreadable + held_out.unreadable)
    _refuse_empty(train, train_side, folders)
    return train, held_out


def _warn_unreadable(paths: list[Path]) -> None:
    if paths:
        more = f" and {len(paths) - 1} more" if len(paths) > 1 else ""
        print(f"licodec: warning: skipped {paths[0]}{more}: not an image Pillow can read", file=sys.stderr)


def _refuse_empty(data: TrainingImages, min_side: int, folders: list[str]) -> None:
    if not len(data):
        raise LicodecError(f"no training images with both sides at least {min_side} pixels in {', '.join(map(str, folders))}")


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
        size = min(round(crop / scale), h, w)
        top = int(rng.integers(h - size + 1))
        left = int(rng.integers(w - size + 1))
        patch = image[:, top : top + size, left : left + size].float().unsqueeze(0) / 255.0
        if size != crop:
            patch = F.interpolate(patch, size=(crop, crop), mode="bilinear", antialias=True, align_corners=False)
        if rng.random() < 0.5:
            patch = patch.flip(-1)
        batch.append(patch.clamp(0, 1))
    return torch.cat(batch)
