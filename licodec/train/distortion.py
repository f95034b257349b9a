"""What a training run minimises beside the rate: one per-sample distortion per ``CodecConfig.distortion``.

Each is in the units its rate ladder's multipliers are fitted to (:data:`licodec.models.config.LADDERS`):

- ``mse``: 255^2 * MSE;
- ``ms-ssim``: 1 - MS-SSIM;
- ``perceptual``: 1 - MS-SSIM + LPIPS (AlexNet), the objective of Deep Perceptual Compression: the deep
  metric rewards keeping texture that MSE would blur away, MS-SSIM keeps structure and colour in place.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from pytorch_msssim import ms_ssim

from licodec.errors import LicodecError
from licodec.models.config import LADDERS
from licodec.perceptual.lpips import LPIPS

Distortion = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``distortion(x_hat, x)``: per-sample distortion (N,) of decodes against originals in [0, 1]."""

MS_SSIM_MIN_CROP = 192  # MS-SSIM's five scales need sides above 160 pixels; the model needs multiples of 64


def mean_squared_error(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return 255.0**2 * ((x_hat - x) ** 2).mean(dim=(1, 2, 3))


def ms_ssim_loss(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return 1 - ms_ssim(x_hat.clamp(0, 1), x, data_range=1.0, size_average=False)


class PerceptualLoss(torch.nn.Module):
    """1 - MS-SSIM + LPIPS-alex; the LPIPS network is frozen (its weights come from ``licodec fetch perceptual``)."""

    def __init__(self) -> None:
        super().__init__()
        self.lpips = LPIPS("alex")

    def forward(self, x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        x_hat = x_hat.clamp(0, 1)
        return ms_ssim_loss(x_hat, x) + self.lpips(x_hat, x)


def distortion_measure(name: str, device: torch.device | str = "cpu") -> Distortion:
    """The per-sample distortion ``name`` trains on, built once (the perceptual one loads a network)."""
    if name == "mse":
        return mean_squared_error
    if name == "ms-ssim":
        return ms_ssim_loss
    if name == "perceptual":
        return PerceptualLoss().to(device)
    raise LicodecError(f"unknown distortion {name!r}; known: {', '.join(LADDERS)}")


def needs_large_crops(name: str) -> bool:
    """Whether the distortion includes MS-SSIM, whose five scales need crops of ``MS_SSIM_MIN_CROP`` pixels."""
    return name in ("ms-ssim", "perceptual")
