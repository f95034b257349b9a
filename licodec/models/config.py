"""Architecture configuration of the model family; serialised into every weights file."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

RATE_LADDER_MSE = (0.0018, 0.0035, 0.0067, 0.0130, 0.0250, 0.0483)
"""Lagrange multipliers (on MSE of [0,255] images / 255^2) of CompressAI's qualities 1-6."""


@dataclass(frozen=True)
class CodecConfig:
    channels: int = 128  # "N": width of the analysis transform
    latent_channels: int = 192  # "M": channels of y
    hyper_channels: int = 128  # channels of z
    decoder_widths: tuple[int, int, int] = (128, 128, 128)  # synthesis widths, coarse to fine
    lambdas: tuple[float, ...] = (0.0130,)  # one per rung of the rate ladder; one rung = fixed rate
    distortion: str = "mse"  # "mse" or "ms-ssim": what the lambdas weigh

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "CodecConfig":
        data = json.loads(text)
        data["decoder_widths"] = tuple(data["decoder_widths"])
        data["lambdas"] = tuple(data["lambdas"])
        return cls(**data)

    @property
    def num_rates(self) -> int:
        return len(self.lambdas)


TINY = CodecConfig(channels=8, latent_channels=8, hyper_channels=8, decoder_widths=(8, 8, 8), lambdas=(0.01, 0.05))
"""For tests: builds in milliseconds, codes a 32x32 image in a few."""
