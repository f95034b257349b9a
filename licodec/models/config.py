"""Architecture configuration of the model family; serialised into every weights file."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

RATE_LADDER_MSE = (0.0018, 0.0035, 0.0067, 0.0130, 0.0250, 0.0483)
"""Lagrange multipliers (on MSE of [0,255] images / 255^2) of CompressAI's qualities 1-6."""

RATE_LADDER_MS_SSIM = (3.3, 5.5, 9.2, 15.5, 26.0, 44.0)
"""Multipliers on (1 - MS-SSIM): the slope -d bpp / d(1 - MS-SSIM) of licodec-mse's Kodak curve
at its rungs' rates (3.3 at 0.25 bpp ... 37 at 1.0 bpp), so the MS-SSIM variant spans the same rates."""

RATE_LADDER_PERCEPTUAL = (1.0, 1.5, 2.6, 4.8, 8.9, 15.4)
"""Multipliers on (1 - MS-SSIM) + LPIPS (AlexNet): that sum's slope -d bpp / dD on licodec-mse's curve at its
rungs (held-out training crops), so the perceptual variant starts at the same rates."""

LADDERS = {"mse": RATE_LADDER_MSE, "ms-ssim": RATE_LADDER_MS_SSIM, "perceptual": RATE_LADDER_PERCEPTUAL}


@dataclass(frozen=True)
class CodecConfig:
    """Widths and rate ladder of a model. The defaults are mbt2018-mean's classic 128/192 (the speed reference);
    :data:`SHIPPED_CONFIG` is the shipped default's."""

    channels: int = 128  # "N": width of the analysis transform
    latent_channels: int = 192  # "M": channels of y
    hyper_channels: int = 128  # channels of z
    decoder_widths: tuple[int, int, int] = (128, 128, 128)  # synthesis widths, coarse to fine
    lambdas: tuple[float, ...] = (0.0130,)  # one per rung of the rate ladder; one rung = fixed rate
    distortion: str = "mse"  # "mse" (lambda * 255^2 * MSE), "ms-ssim" (lambda * (1 - MS-SSIM)) or
    # "perceptual" (lambda * (1 - MS-SSIM + LPIPS)), plus bpp
    channel_mask: bool = False  # y's channels that round to zero are masked, in training and coding (licodec.coding.channel_mask)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> CodecConfig:
        data = json.loads(text)
        data["decoder_widths"] = tuple(data["decoder_widths"])
        data["lambdas"] = tuple(data["lambdas"])
        return cls(**data)

    @property
    def num_rates(self) -> int:
        return len(self.lambdas)

    def rate_position(self, quality: float) -> float:
        """Map quality 1..100 (higher = more bits) onto the rate ladder, monotonically."""
        q = min(max(float(quality), 1.0), 100.0)
        return (q - 1.0) / 99.0 * (self.num_rates - 1)


SHIPPED_CONFIG = CodecConfig(latent_channels=160, decoder_widths=(128, 128, 64), lambdas=RATE_LADDER_MSE)
"""The architecture of the shipped ``licodec-mse`` (and ``licodec-ms-ssim``, on its own ladder): ``licodec train``'s defaults."""

TINY = CodecConfig(channels=8, latent_channels=8, hyper_channels=8, decoder_widths=(8, 8, 8), lambdas=(0.01, 0.05))
"""For tests: builds in milliseconds, codes a 32x32 image in a few."""
