"""Competitive training of the post-filter bank (:mod:`licodec.jpeg_tools.postfilter`).

Each training crop's loss is shared among the filters by a softmax over their
losses whose temperature is annealed from soft to winner-take-all, so the
filters specialise (content-adaptive filter banks). A bank is trained for one
standard codec (JPEG or AVIF), and optionally for a machine: with ``task="ocr"``
the crops are text images and each filter's loss adds the OCR task loss
(:class:`licodec.machines.ocr_torch.OcrTaskLoss`) to its distortion.
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

from licodec.codecs import avif, jpeg
from licodec.jpeg_tools.postfilter import PostFilterBank, PostFilterConfig, load_bank, save_bank, strength_of
from licodec.machines.ocr_torch import OcrTaskLoss
from licodec.machines.text_images import TextImageSource
from licodec.train.data import load_training_images, sample_batch

CODECS = {"jpeg": (jpeg, (5, 95)), "avif": (avif, (10, 90))}
"""The codecs a bank can be trained for, and the qualities it is trained over."""
TASK_CROP = 192  # text images: room for a few lines of 18-44 px text


@dataclass
class PostFilterTraining:
    data: list[str]
    output: str
    steps: int = 2000
    batch_size: int = 16
    crop: int = 96  # a multiple of 16, so JPEG's 4:2:0 blocks align with the crop
    learning_rate: float = 1e-3
    temperature: tuple[float, float] = (1.0, 0.01)  # in log10(MSE) units, annealed geometrically
    config: PostFilterConfig = field(default_factory=PostFilterConfig)
    seed: int = 0
    init: str | None = None  # start from this bank (name or file; its config wins) instead of near-identity filters
    codec: str = "jpeg"
    task: str | None = None  # "ocr": text images, and the machine's loss beside the distortion
    task_weight: float = 30.0  # dB of 10 log10(MSE) per unit of task loss

    @property
    def quality_range(self) -> tuple[int, int]:
        return CODECS[self.codec][1]


def codec_batch(x: torch.Tensor, codec: str, qualities: list[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(8-bit originals, their real decodes by ``codec``, strengths) for a float batch in [0, 1]."""
    module = CODECS[codec][0]
    originals, decodes, strengths = [], [], []
    for crop, quality in zip(x, qualities):
        pixels = np.rint(crop.permute(1, 2, 0).numpy() * 255).astype(np.uint8)
        data = module.encode(Image.fromarray(pixels), quality)
        with Image.open(io.BytesIO(data)) as decoded:
            decodes.append(np.asarray(decoded.convert("RGB")))
        originals.append(pixels)
        strengths.append(strength_of(data))

    def as_tensor(images: list[np.ndarray]) -> torch.Tensor:
        return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255

    return as_tensor(originals), as_tensor(decodes), torch.tensor(strengths)


def bank_loss(
    bank: PostFilterBank,
    original: torch.Tensor,
    decoded: torch.Tensor,
    strength: torch.Tensor,
    temperature: float,
    task_losses: list[OcrTaskLoss] | None = None,
    task_weight: float = 0.0,
):
    """Mean over crops of the softmax-shared cost of the members, and statistics.

    A member's cost on a crop is 10 log10(MSE), plus ``task_weight`` times its task
    loss when ``task_losses`` (one per crop) are given. The shares are computed from
    the members' current costs (without gradient): at a high temperature every member
    learns from every crop; as it falls, each crop teaches mostly the member that
    already serves it best.
    """
    outputs = bank(decoded, strength)
    log_mse = 10 * torch.log10(((outputs - original[None]) ** 2).mean(dim=(2, 3, 4)).clamp_min(1e-10))  # (K, N)
    cost = log_mse
    stats = {}
    if task_losses is not None:
        task = torch.stack([loss.per_image(outputs[:, i].clamp(0, 1)) for i, loss in enumerate(task_losses)], dim=1)  # (K, N)
        cost = cost + task_weight * task
        stats["task"] = float(task.detach().gather(0, cost.detach().argmin(0)[None]).mean())
    shares = torch.softmax(-cost.detach() / (10 * temperature), dim=0)
    loss = (shares * cost).sum(0).mean()
    unfiltered = 10 * torch.log10(((decoded - original) ** 2).mean(dim=(1, 2, 3)).clamp_min(1e-10))
    winners = cost.detach().argmin(0)
    stats["gain_db"] = float((unfiltered - log_mse.detach().gather(0, winners[None])[0]).mean())
    stats["wins"] = torch.bincount(winners, minlength=bank.config.filters).tolist()
    return loss, stats


def train_postfilter(settings: PostFilterTraining, log=print) -> PostFilterBank:
    torch.manual_seed(settings.seed)
    if settings.task:
        text = TextImageSource([Path(d) for d in settings.data], "train")
    else:
        data = load_training_images(settings.data, settings.crop)
    bank = load_bank(settings.init)[1].train() if settings.init else PostFilterBank(settings.config)
    optimizer = torch.optim.Adam(bank.parameters(), lr=settings.learning_rate)
    rng = random.Random(settings.seed)
    wins = np.zeros(bank.config.filters, dtype=np.int64)
    start, end = settings.temperature
    for step in range(settings.steps):
        progress = step / max(settings.steps - 1, 1)
        temperature = start * (end / start) ** progress
        for group in optimizer.param_groups:  # a tenth of the rate for the last quarter
            group["lr"] = settings.learning_rate * (0.1 if progress > 0.75 else 1.0)
        if settings.task:
            pixels, boxes = text.batch(settings.seed, step, settings.batch_size, TASK_CROP)
            x = torch.from_numpy(pixels).permute(0, 3, 1, 2).float() / 255
        else:
            x = sample_batch(data, settings.seed, step, settings.batch_size, settings.crop)
        original, decoded, strength = codec_batch(x, settings.codec, [rng.randint(*settings.quality_range) for _ in range(len(x))])
        task_losses = [OcrTaskLoss(original[i : i + 1], list(b)) for i, b in enumerate(boxes)] if settings.task else None
        loss, stats = bank_loss(bank, original, decoded, strength, temperature, task_losses, settings.task_weight)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if progress >= 0.9:
            wins += stats["wins"]
        if step % 50 == 0 or step == settings.steps - 1:
            log(json.dumps({"step": step, "loss": round(float(loss.detach()), 4), "temperature": round(temperature, 4), **stats}))
    bank.default_index = int(wins.argmax())
    bank.eval()
    extra = {
        "steps": settings.steps,
        "data": settings.data,
        "init": settings.init,
        "codec": settings.codec,
        "task": settings.task,
        "wins_last_10_percent": wins.tolist(),
    }
    save_bank(bank, Path(settings.output), extra)
    return bank
