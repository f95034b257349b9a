"""The analysis/synthesis networks shared by the model family (CompressAI's g_a, g_s, h_a, h_s)."""

from __future__ import annotations

import torch
from torch import nn

from licodec.nn.blocks import ImportanceMap, MultiScaleResidualBlock, PostQuantisationFilter
from licodec.nn.gdn import GDN
from licodec.nn.layers import LatentTransposedConv2d, SubpixelTransposedConv2d, conv, deconv


def analysis_transform(channels: int, latent_channels: int) -> nn.Sequential:
    """g_a: image (N, 3, H, W) in [0, 1] -> y (N, M, H/16, W/16)."""
    return nn.Sequential(
        conv(3, channels), GDN(channels),
        conv(channels, channels), GDN(channels),
        conv(channels, channels), GDN(channels),
        conv(channels, latent_channels),
    )  # fmt: skip


def synthesis_transform(latent_channels: int, widths: tuple[int, int, int]) -> nn.Sequential:
    """g_s: y_hat (N, M, h, w) -> image (N, 3, 16h, 16w).

    ``widths`` narrows towards full resolution, where each channel costs the most:
    decoding time is dominated by the last upsampling layers on a CPU. The last
    runs in its sub-pixel form at inference (:class:`SubpixelTransposedConv2d`).
    """
    a, b, c = widths
    return nn.Sequential(
        LatentTransposedConv2d(latent_channels, a), GDN(a, inverse=True),
        deconv(a, b), GDN(b, inverse=True),
        deconv(b, c), GDN(c, inverse=True),
        SubpixelTransposedConv2d(c, 3),
    )  # fmt: skip


def asymmetric_analysis(channels: int, latent_channels: int) -> nn.Sequential:
    """g_a of the asymmetric design (Fu et al. 2023): a multi-scale residual block after each of the
    first three downsamplings, and an importance map on y. The encoder runs once per image, so
    it gets the capacity; see :func:`asymmetric_synthesis`."""
    return nn.Sequential(
        conv(3, channels), GDN(channels), MultiScaleResidualBlock(channels),
        conv(channels, channels), GDN(channels), MultiScaleResidualBlock(channels),
        conv(channels, channels), GDN(channels), MultiScaleResidualBlock(channels),
        conv(channels, latent_channels), ImportanceMap(latent_channels),
    )  # fmt: skip


def asymmetric_synthesis(latent_channels: int, widths: tuple[int, int, int]) -> nn.Sequential:
    """g_s of the asymmetric design: a post-quantisation filter on y_hat, then :func:`synthesis_transform`'s
    layers with one multi-scale residual block, at the coarsest scale, where it costs least."""
    a, b, c = widths
    return nn.Sequential(
        PostQuantisationFilter(latent_channels),
        deconv(latent_channels, a), GDN(a, inverse=True), MultiScaleResidualBlock(a),
        deconv(a, b), GDN(b, inverse=True),
        deconv(b, c), GDN(c, inverse=True),
        SubpixelTransposedConv2d(c, 3),
    )  # fmt: skip


def hyper_analysis(latent_channels: int, hyper_channels: int) -> nn.Sequential:
    """h_a: y (N, M, h, w) -> z (N, Nh, h/4, w/4)."""
    return nn.Sequential(
        conv(latent_channels, hyper_channels, 3, 1), nn.ReLU(inplace=True),
        conv(hyper_channels, hyper_channels), nn.ReLU(inplace=True),
        conv(hyper_channels, hyper_channels),
    )  # fmt: skip


def hyper_synthesis(hyper_channels: int, out_channels: int, hidden: int | None = None, final_relu: bool = False) -> nn.Sequential:
    """h_s: z_hat -> entropy parameters at the resolution of y.

    Only convolutions and ReLU, so that :mod:`licodec.nn.fixed_point` can evaluate
    it exactly in integers for the coder (the probability path).
    """
    hidden = hidden or hyper_channels
    layers: list[nn.Module] = [
        deconv(hyper_channels, hyper_channels), nn.ReLU(inplace=True),
        deconv(hyper_channels, hidden), nn.ReLU(inplace=True),
        conv(hidden, out_channels, 3, 1),
    ]  # fmt: skip
    if final_relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def entropy_parameters(in_channels: int, hidden: int, out_channels: int) -> nn.Sequential:
    """1x1 network mapping concatenated side information to (scales, means)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, hidden, 1), nn.ReLU(inplace=True),
        nn.Conv2d(hidden, hidden, 1), nn.ReLU(inplace=True),
        nn.Conv2d(hidden, out_channels, 1),
    )  # fmt: skip


class GainUnits(nn.Module):
    """Per-channel gains that make one model serve a ladder of rates (Cui et al. 2021).

    The encoder multiplies y by ``gain``; the decoder multiplies y_hat by
    ``inverse_gain``. A fractional ``rate_position`` between two rungs interpolates
    the gains geometrically, which gives a continuous rate control.
    """

    def __init__(self, num_levels: int, channels: int) -> None:
        super().__init__()
        self.num_levels = num_levels
        # Start the ladder roughly where a model trained per rate would put it:
        # quantisation step ~ 1/sqrt(lambda), so gains spread by sqrt of the lambda ratio.
        spread = torch.linspace(-1.0, 1.0, num_levels).view(-1, 1) if num_levels > 1 else torch.zeros(1, 1)
        self.log_gain = nn.Parameter(spread.repeat(1, channels).clone())
        self.log_inverse_gain = nn.Parameter(-spread.repeat(1, channels).clone())

    def _interpolate(self, table: torch.Tensor, rate_position: torch.Tensor) -> torch.Tensor:
        """Gains for positions (N,) -> (N, M, 1, 1), or for a rate map (N, 1, h, w) -> (N, M, h, w)."""
        position = rate_position.clamp(0, self.num_levels - 1)
        if position.dim() == 1:
            position = position.view(-1, 1, 1, 1)
        low = position.floor().long().clamp(max=self.num_levels - 1)
        high = (low + 1).clamp(max=self.num_levels - 1)
        frac = position - low.to(position.dtype)
        table_low = table[low[:, 0]].permute(0, 3, 1, 2)  # (N, M, h, w)
        table_high = table[high[:, 0]].permute(0, 3, 1, 2)
        return torch.exp((1 - frac) * table_low + frac * table_high)

    def gain(self, rate_position: torch.Tensor) -> torch.Tensor:
        return self._interpolate(self.log_gain, rate_position)

    def inverse_gain(self, rate_position: torch.Tensor) -> torch.Tensor:
        return self._interpolate(self.log_inverse_gain, rate_position)
