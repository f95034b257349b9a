"""A learned pre-filter: edits an image before a standard encoder so it costs fewer bits at equal quality.

The standard decoder is untouched: ``licodec jpeg --prefilter`` writes ordinary
baseline JPEG. The filter is a small residual CNN trained through the
differentiable JPEG proxy (:mod:`licodec.conventional.jpeg_proxy`) to minimise
``bpp + lambda * (1 - MS-SSIM)`` against the *original* image, at qualities
drawn across the range, so one filter serves every quality.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from licodec.conventional._weights import WEIGHTS_DIR, installed_file

DEFAULT_PREFILTER = "prefilter-jpeg-msssim"


@dataclass(frozen=True)
class PreFilterConfig:
    channels: int = 32
    layers: int = 4


class PreFilter(nn.Module):
    """x + f(x) for RGB in [0, 1]; f is a plain stack of 3x3 convolutions, so it runs fast on a CPU."""

    def __init__(self, config: PreFilterConfig = PreFilterConfig()) -> None:
        super().__init__()
        self.config = config
        c = config.channels
        layers: list[nn.Module] = [nn.Conv2d(3, c, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(config.layers - 2):
            layers += [nn.Conv2d(c, c, 3, padding=1), nn.ReLU(inplace=True)]
        layers.append(nn.Conv2d(c, 3, 3, padding=1))
        nn.init.zeros_(layers[-1].weight)  # start as the identity
        nn.init.zeros_(layers[-1].bias)
        self.residual = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x + self.residual(x)).clamp(0, 1)

    @torch.no_grad()
    def apply(self, image: Image.Image) -> Image.Image:
        x = torch.from_numpy(np.asarray(image.convert("RGB"), dtype=np.float32) / 255).permute(2, 0, 1)[None]
        y = self(x)[0].permute(1, 2, 0).numpy()
        return Image.fromarray(np.clip(np.rint(y * 255), 0, 255).astype(np.uint8), "RGB")


def save_prefilter(model: PreFilter, path: Path, extra: dict) -> None:
    from safetensors.torch import save_file

    state = {k: v.detach().contiguous().half() for k, v in model.state_dict().items()}
    save_file(state, str(path), metadata={"config": json.dumps(asdict(model.config)), "extra": json.dumps(extra)})


def load_prefilter(name_or_path: str | None = None) -> PreFilter:
    from safetensors import safe_open
    from safetensors.torch import load_file

    name = name_or_path or DEFAULT_PREFILTER
    path = installed_file(name, ".safetensors", "pre-filter weights", "train-prefilter")
    with safe_open(str(path), framework="pt") as handle:
        config = PreFilterConfig(**json.loads(handle.metadata()["config"]))
    model = PreFilter(config)
    model.load_state_dict({k: v.float() for k, v in load_file(str(path)).items()})
    return model.eval()


@dataclass
class PreFilterTraining:
    data: list[str]
    output: str
    steps: int = 3000
    batch_size: int = 8
    crop: int = 176  # a multiple of 16 above MS-SSIM's 160-pixel minimum
    learning_rate: float = 1e-4
    soft_round_alpha: tuple[float, float] = (1.0, 12.0)  # annealed from soft to nearly hard rounding
    lmbda: float = 40.0  # weight of (1 - MS-SSIM) against bits per pixel
    quality_range: tuple[int, int] = (15, 90)
    seed: int = 0


def prefilter_loss(
    model: PreFilter, x: torch.Tensor, qualities: list[int], lmbda: float, soft_alpha: float | None = None
) -> tuple[torch.Tensor, dict]:
    """bpp + lambda (1 - MS-SSIM) of the JPEG proxy of the filtered batch, against the original.

    ``soft_alpha`` selects soft rounding (Agustsson & Theis 2020) instead of the
    straight-through estimator, whose gradients pretend every input change reaches
    the decoder: the first trained filter exploited exactly that (see the model card).
    """
    from pytorch_msssim import ms_ssim

    from licodec.conventional.jpeg_proxy import jpeg_proxy

    filtered = model(x)
    losses, bpps, scores = [], [], []
    for i, q in enumerate(qualities):
        decoded, bits = jpeg_proxy(filtered[i : i + 1] * 255, q, soft_alpha=soft_alpha)
        bpp = bits / (x.shape[-1] * x.shape[-2])
        score = ms_ssim(decoded / 255, x[i : i + 1], data_range=1.0)
        losses.append(bpp + lmbda * (1 - score))
        bpps.append(float(bpp.detach()))
        scores.append(float(score.detach()))
    return torch.stack(losses).mean(), {"bpp": float(np.mean(bpps)), "ms_ssim": float(np.mean(scores))}


def train_prefilter(settings: PreFilterTraining, log=print) -> PreFilter:
    from licodec.train.data import find_images, load_images, sample_batch

    torch.manual_seed(settings.seed)
    data = load_images(find_images([Path(d) for d in settings.data]), settings.crop)
    model = PreFilter()
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    rng = random.Random(settings.seed)
    for step in range(settings.steps):
        x = sample_batch(data, settings.seed, step, settings.batch_size, settings.crop)
        qualities = [rng.randint(*settings.quality_range) for _ in range(x.shape[0])]
        start, end = settings.soft_round_alpha
        alpha = start * (end / start) ** (step / max(settings.steps - 1, 1))
        loss, stats = prefilter_loss(model, x, qualities, settings.lmbda, soft_alpha=alpha)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step % 50 == 0 or step == settings.steps - 1:
            log(json.dumps({"step": step, "loss": round(float(loss.detach()), 5), **stats}))
    model.eval()
    log(json.dumps({"check_against_real_jpeg": real_jpeg_check(model, data, settings.seed)}))
    save_prefilter(model, Path(settings.output), {"steps": settings.steps, "lambda": settings.lmbda, "data": settings.data})
    return model


def real_jpeg_check(model: PreFilter, data, seed: int, qualities=(20, 50, 80)) -> list[dict]:
    """Bytes and MS-SSIM of real libjpeg files with and without the filter, on a few training crops.

    The proxy can be fooled; the real encoder cannot. Printed at the end of training.
    """
    import io

    from licodec.eval.metrics import ms_ssim
    from licodec.train.data import sample_batch

    crops = sample_batch(data, seed + 1, 0, 4, 176)
    rows = []
    for q in qualities:
        plain_bytes = filtered_bytes = 0
        plain_score = filtered_score = 0.0
        for crop in crops:
            original = Image.fromarray((crop.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8))
            for source, is_filtered in ((original, False), (model.apply(original), True)):
                buffer = io.BytesIO()
                source.save(buffer, format="JPEG", quality=q)
                decoded = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
                score = ms_ssim(original, decoded)
                if is_filtered:
                    filtered_bytes, filtered_score = filtered_bytes + len(buffer.getvalue()), filtered_score + score
                else:
                    plain_bytes, plain_score = plain_bytes + len(buffer.getvalue()), plain_score + score
        rows.append({
            "quality": q, "plain_bytes": plain_bytes, "filtered_bytes": filtered_bytes,
            "plain_ms_ssim": round(plain_score / len(crops), 5), "filtered_ms_ssim": round(filtered_score / len(crops), 5),
        })  # fmt: skip
    return rows
