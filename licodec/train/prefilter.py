"""Training of the JPEG pre-filter (:mod:`licodec.jpeg_tools.prefilter`) through the differentiable JPEG proxy.

It is trained through :mod:`licodec.jpeg_tools.jpeg_proxy`, but every value of the
loss is the *real* libjpeg file's: the proxy only supplies the gradient. The loss
at each quality is ``bpp + lambda * distortion`` against the original, with
``lambda`` the slope of plain JPEG's own curve at that quality, divided by plain
JPEG's cost on the same crop -- so a value below 1 is a point below JPEG's curve,
not a slide along it, and every quality weighs the same.

The distortion is 1 - MS-SSIM, or for the perceptual variant 1 - MS-SSIM + LPIPS
(:mod:`licodec.train.distortion`); the perceptual variant may also train against a
patch discriminator that sees the real decoded files, so that the filter learns to
swap textures that cost many bits for cheaper ones that still look like texture,
rather than blur them away.
"""

from __future__ import annotations

import io
import json
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from licodec.codecs.jpeg import jpeg_strength
from licodec.errors import LicodecError
from licodec.jpeg_tools.jpeg_proxy import jpeg_proxy
from licodec.jpeg_tools.prefilter import PreFilter, PreFilterConfig, load_prefilter, save_prefilter
from licodec.jpeg_tools.qtables import Tables, TableSet, load_table_set, standard_tables
from licodec.jpeg_tools.qtables import encode as encode_with_tables
from licodec.nn.discriminator import PatchDiscriminator, discriminator_loss, generator_loss
from licodec.train.data import load_split, sample_batch
from licodec.train.distortion import Distortion, distortion_measure
from licodec.train.jpeg_tables import TableObjective, local_slope

MS_SSIM = distortion_measure("ms-ssim")
OBJECTIVES = ("ms-ssim", "perceptual")
"""What the pre-filter's cost weighs against bits: 1 - MS-SSIM, or 1 - MS-SSIM + LPIPS."""


@dataclass
class PreFilterTraining:
    data: list[str]
    output: str
    steps: int = 2500
    batch_size: int = 8
    crop: int = 176  # a multiple of 16 above MS-SSIM's 160-pixel minimum
    learning_rate: float = 2e-4
    # The proxy's rounding, annealed to sharper. Starting soft (alpha 1) passes gradients
    # as if quantisation were transparent, and the filter learned to pre-sharpen, which real
    # files punish; from alpha 6 the gradient lives near the rounding boundaries, as the
    # real encoder's response does.
    soft_round_alpha: tuple[float, float] = (6.0, 16.0)
    qualities: tuple[int, ...] = tuple(range(15, 95, 5))
    validation_crops: int = 16
    validate_every: int = 200
    config: PreFilterConfig = field(default_factory=PreFilterConfig)
    seed: int = 0
    tables: str | None = None  # a table set (name or file) the encoder uses; None: libjpeg's own tables
    init: str | None = None  # start from this pre-filter's weights (name or file) instead of the identity
    objective: str = "ms-ssim"  # one of OBJECTIVES
    adversarial_weight: float = 0.0  # > 0: the generator loss of a patch discriminator on the decoded files, beside the cost


@dataclass(frozen=True)
class OperatingPoint:
    """The encoder the filter must beat at one quality: its tables and the slope of its distortion curve in bpp."""

    tables: Tables  # (luma, chroma) the real encoder and the proxy quantise with
    lmbda: float  # -d bpp / d distortion of the unfiltered encoder's curve around this quality

    @property
    def strength(self) -> float:
        return jpeg_strength(self.tables[0])


def operating_points(
    crops: list[np.ndarray], qualities: tuple[int, ...], table_set: TableSet | None = None, objective: str = "ms-ssim"
) -> dict[int, OperatingPoint]:
    """Measure the encoder's slope in ``objective`` at each quality on ``crops`` (the lambda the filter must beat).

    The encoder is libjpeg's own tables, or ``table_set``'s learned ones: a filter
    trained for a table set is measured against that set's own curve.
    """
    tables_at = table_set.tables if table_set else standard_tables
    measured = TableObjective(crops, objective)
    pixels = crops[0].shape[0] * crops[0].shape[1]
    return {q: OperatingPoint(tables_at(q), local_slope(measured, q, tables_at=tables_at) / pixels) for q in qualities}


def _real_jpeg(pixels: np.ndarray, tables: Tables) -> tuple[np.ndarray, int]:
    """(decoded uint8 RGB, file bytes) of libjpeg with ``tables``."""
    data = encode_with_tables(Image.fromarray(pixels), tables)
    with Image.open(io.BytesIO(data)) as decoded:
        return np.array(decoded.convert("RGB")), len(data)


def _to_uint8(x: torch.Tensor) -> np.ndarray:
    return np.clip(np.rint(x.detach().permute(1, 2, 0).numpy() * 255), 0, 255).astype(np.uint8)


def plain_costs(x: torch.Tensor, points: list[OperatingPoint], distortion: Distortion = MS_SSIM) -> torch.Tensor:
    """Plain JPEG's ``bpp + lambda * distortion`` for each 8-bit crop of ``x`` at its operating point."""
    decodes, bpps = [], []
    for crop, point in zip(x, points):
        decoded, size = _real_jpeg(_to_uint8(crop), point.tables)
        decodes.append(torch.from_numpy(decoded).permute(2, 0, 1).float() / 255)
        bpps.append(8 * size / (x.shape[-1] * x.shape[-2]))
    with torch.no_grad():
        distortions = distortion(torch.stack(decodes), x)
    lambdas = torch.tensor([p.lmbda for p in points])
    return torch.tensor(bpps) + lambdas * distortions


def prefilter_costs(
    model: PreFilter, x: torch.Tensor, points: list[OperatingPoint], soft_alpha: float | None = None, distortion: Distortion = MS_SSIM
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``bpp + lambda * distortion`` of real libjpeg files of the filtered crops, with the proxy's gradient.

    Returns (costs, bpp, distortion, decodes), one per crop; the decodes in [0, 1].
    Each value is the real file's; the gradient flows through :func:`jpeg_proxy` (soft
    rounding when ``soft_alpha``), so the filter cannot win by exploiting the proxy's
    errors, only be misled by them.
    """

    filtered = model(x, torch.tensor([p.strength for p in points]))
    pixels = x.shape[-1] * x.shape[-2]
    decodes, bpps = [], []
    for crop, point in zip(filtered, points):
        proxy_decoded, proxy_bits = jpeg_proxy(crop[None] * 255, point.tables, soft_alpha=soft_alpha)
        real_decoded, size = _real_jpeg(_to_uint8(crop), point.tables)
        real = torch.from_numpy(real_decoded).permute(2, 0, 1)[None].float()
        decodes.append(proxy_decoded + (real - proxy_decoded).detach())
        bpps.append((proxy_bits + (8 * size - proxy_bits).detach()) / pixels)
    decoded = torch.cat(decodes) / 255
    distortions = distortion(decoded, x)
    bpp = torch.cat(bpps)
    lambdas = torch.tensor([p.lmbda for p in points])
    return bpp + lambdas * distortions, bpp.detach(), distortions.detach(), decoded


def relative_cost(
    model: PreFilter,
    x: torch.Tensor,
    points: list[OperatingPoint],
    soft_alpha: float | None = None,
    plain: torch.Tensor | None = None,
    distortion: Distortion = MS_SSIM,
) -> tuple[torch.Tensor, dict, torch.Tensor]:
    """Mean over crops of (filtered cost / plain JPEG cost): below 1 means below JPEG's curve.

    ``plain``: :func:`plain_costs` of ``x`` if already known (the fixed held-out crops).
    Returns the loss, its figures, and the decodes (with the proxy's gradient).
    """
    costs, bpp, distortions, decoded = prefilter_costs(model, x, points, soft_alpha, distortion)
    ratio = costs / (plain_costs(x, points, distortion) if plain is None else plain)
    figures = {"cost_change": round(float(ratio.detach().mean()) - 1, 5), "bpp": round(float(bpp.mean()), 4)}
    return ratio.mean(), figures | {"distortion": round(float(distortions.mean()), 5)}, decoded


def _split_images(folders: list[str], crop: int):
    train, held_out = load_split(folders, 0.04, crop, crop)
    if not len(held_out):
        raise LicodecError(f"no held-out images with both sides at least {crop} pixels in {', '.join(folders)} (4% of the files, by name)")
    return train, held_out


def train_prefilter(settings: PreFilterTraining, log=print) -> PreFilter:
    """Adam on :func:`relative_cost` at qualities drawn from ``settings.qualities``.

    Every ``validate_every`` steps the held-out crops are measured (real files, no
    soft rounding); the weights with the lowest held-out cost are the ones saved.
    """
    if settings.objective not in OBJECTIVES:
        raise LicodecError(f"unknown pre-filter objective {settings.objective!r}; known: {', '.join(OBJECTIVES)}")
    torch.manual_seed(settings.seed)
    table_set = load_table_set(settings.tables) if settings.tables else None  # named files first: fail before any work
    distortion = distortion_measure(settings.objective)
    model = load_prefilter(settings.init).train() if settings.init else PreFilter(settings.config)
    train, held_out = _split_images(settings.data, settings.crop)
    quantised = lambda x: torch.round(x * 255) / 255
    validation = quantised(sample_batch(held_out, settings.seed + 1, 0, settings.validation_crops, settings.crop))
    points = operating_points([_to_uint8(c) for c in validation], settings.qualities, table_set, settings.objective)
    log(json.dumps({"lambdas": {q: round(p.lmbda, 3) for q, p in points.items()}}))
    validation_points = [points[settings.qualities[i % len(settings.qualities)]] for i in range(len(validation))]
    validation_plain = plain_costs(validation, validation_points, distortion)  # the same at every validation
    described = _describe(settings, model.config, table_set)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    adversary = Adversary() if settings.adversarial_weight > 0 else None
    rng = random.Random(settings.seed)
    best = float("inf")
    start, end = settings.soft_round_alpha
    for step in range(settings.steps + 1):
        if step % settings.validate_every == 0 or step == settings.steps:
            model.eval()
            with torch.no_grad():
                _, stats, _ = relative_cost(model, validation, validation_points, plain=validation_plain, distortion=distortion)
            model.train()
            improved = stats["cost_change"] < best
            if improved:
                best = stats["cost_change"]
                save_prefilter(model, Path(settings.output), {"step": step, "held_out": stats, "settings": described})
            log(json.dumps({"step": step, "held_out": stats, "saved": improved}))
        if step == settings.steps:
            break
        x = quantised(sample_batch(train, settings.seed, step, settings.batch_size, settings.crop))
        batch_points = [points[rng.choice(settings.qualities)] for _ in range(len(x))]
        alpha = start * (end / start) ** (step / max(settings.steps - 1, 1))
        loss, stats, decoded = relative_cost(model, x, batch_points, soft_alpha=alpha, distortion=distortion)
        if adversary is not None:
            realism = adversary.generator_loss(decoded)
            loss = loss + settings.adversarial_weight * realism
            stats["adversarial"] = round(float(realism.detach()), 5)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if adversary is not None:
            stats["discriminator"] = adversary.step(x, decoded.detach())
        if step % 20 == 0:
            log(json.dumps({"step": step, **stats}))
    return load_prefilter(settings.output)


class Adversary:
    """A patch discriminator learning to tell the training crops from the real decoded files of their filtered versions."""

    def __init__(self, learning_rate: float = 1e-4) -> None:
        self.discriminator = PatchDiscriminator()
        self.optimizer = torch.optim.Adam(self.discriminator.parameters(), lr=learning_rate, betas=(0.5, 0.999))

    def generator_loss(self, decoded: torch.Tensor) -> torch.Tensor:
        """Low when the decodes pass for originals; its gradient reaches the filter through the proxy."""
        return generator_loss(self.discriminator(decoded)).mean()

    def step(self, x: torch.Tensor, decoded: torch.Tensor) -> float:
        self.optimizer.zero_grad(set_to_none=True)
        loss = discriminator_loss(self.discriminator(x), self.discriminator(decoded))
        loss.backward()
        self.optimizer.step()
        return round(float(loss.detach()), 5)


def _describe(settings: PreFilterTraining, config: PreFilterConfig, table_set: TableSet | None) -> dict:
    """The settings as they took effect: ``config`` is the trained model's (an ``init`` filter brings its own)."""
    described = asdict(settings) | {"config": asdict(config)}
    described.pop("output")
    if table_set:  # which tables, not just a name that may be redefined
        described["tables_digest"] = table_set.digest
    return described
