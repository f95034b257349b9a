"""Competitive training of the JPEG post-filter bank (:mod:`licodec.jpeg_tools.postfilter`).

Each training crop's loss is shared among the filters by a softmax over their
losses whose temperature is annealed from soft to winner-take-all, so the
filters specialise (content-adaptive filter banks).
"""

from __future__ import annotations

import io
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from licodec.codecs import jpeg
from licodec.jpeg_tools.postfilter import PostFilterBank, PostFilterConfig, save_bank, strength_of
from licodec.train.data import load_training_images, sample_batch


@dataclass
class PostFilterTraining:
    data: list[str]
    output: str
    steps: int = 2000
    batch_size: int = 16
    crop: int = 96  # a multiple of 16, so JPEG's 4:2:0 blocks align with the crop
    learning_rate: float = 1e-3
    temperature: tuple[float, float] = (1.0, 0.01)  # in log10(MSE) units, annealed geometrically
    quality_range: tuple[int, int] = (5, 95)
    config: PostFilterConfig = field(default_factory=PostFilterConfig)
    seed: int = 0


def jpeg_batch(x: torch.Tensor, qualities: list[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(8-bit originals, their real libjpeg decodes, strengths) for a float batch in [0, 1]."""
    originals, decodes, strengths = [], [], []
    for crop, quality in zip(x, qualities):
        pixels = np.rint(crop.permute(1, 2, 0).numpy() * 255).astype(np.uint8)
        data = jpeg.encode(Image.fromarray(pixels), quality)
        with Image.open(io.BytesIO(data)) as decoded:
            decodes.append(np.asarray(decoded.convert("RGB")))
        originals.append(pixels)
        strengths.append(strength_of(data))

    def as_tensor(images: list[np.ndarray]) -> torch.Tensor:
        return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255

    return as_tensor(originals), as_tensor(decodes), torch.tensor(strengths)


def bank_loss(bank: PostFilterBank, original: torch.Tensor, decoded: torch.Tensor, strength: torch.Tensor, temperature: float):
    """Mean over crops of the softmax-shared 10 log10(MSE) of the members, and statistics.

    The shares are computed from the members' current losses (without gradient):
    at a high temperature every member learns from every crop; as it falls, each
    crop teaches mostly the member that already serves it best.
    """
    outputs = bank(decoded, strength)
    log_mse = 10 * torch.log10(((outputs - original[None]) ** 2).mean(dim=(2, 3, 4)).clamp_min(1e-10))  # (K, N)
    shares = torch.softmax(-log_mse.detach() / (10 * temperature), dim=0)
    loss = (shares * log_mse).sum(0).mean()
    unfiltered = 10 * torch.log10(((decoded - original) ** 2).mean(dim=(1, 2, 3)).clamp_min(1e-10))
    winners = log_mse.detach().argmin(0)
    stats = {
        "gain_db": float((unfiltered - log_mse.detach().min(0).values).mean()),
        "wins": torch.bincount(winners, minlength=bank.config.filters).tolist(),
    }
    return loss, stats


def train_postfilter(settings: PostFilterTraining, log=print) -> PostFilterBank:
    torch.manual_seed(settings.seed)
    data = load_training_images(settings.data, settings.crop)
    bank = PostFilterBank(settings.config)
    optimizer = torch.optim.Adam(bank.parameters(), lr=settings.learning_rate)
    rng = random.Random(settings.seed)
    wins = np.zeros(settings.config.filters, dtype=np.int64)
    start, end = settings.temperature
    for step in range(settings.steps):
        progress = step / max(settings.steps - 1, 1)
        temperature = start * (end / start) ** progress
        for group in optimizer.param_groups:  # a tenth of the rate for the last quarter
            group["lr"] = settings.learning_rate * (0.1 if progress > 0.75 else 1.0)
        x = sample_batch(data, settings.seed, step, settings.batch_size, settings.crop)
        original, decoded, strength = jpeg_batch(x, [rng.randint(*settings.quality_range) for _ in range(len(x))])
        loss, stats = bank_loss(bank, original, decoded, strength, temperature)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if progress >= 0.9:
            wins += stats["wins"]
        if step % 50 == 0 or step == settings.steps - 1:
            log(json.dumps({"step": step, "loss": round(float(loss.detach()), 4), "temperature": round(temperature, 4), **stats}))
    bank.default_index = int(wins.argmax())
    bank.eval()
    extra = {"steps": settings.steps, "data": settings.data, "wins_last_10_percent": wins.tolist()}
    save_bank(bank, Path(settings.output), extra)
    return bank
