"""Residual building blocks for richer transforms: CRB, MSRB, an importance map and a post-quantisation filter.

Each starts as (or close to) the identity, so a block added to a trained transform
changes nothing until it learns to: the last convolution of every residual branch is
zero-initialised. Shapes are (N, C, H, W) throughout, and no block changes them.

- :class:`ConcatenatedResidualBlocks` (CRB): residual blocks in series with a shortcut
  over the whole chain (the GLLMM paper's transforms, Fu et al. 2023).
- :class:`MultiScaleResidualBlock` (MSRB): 3×3 and 5×5 branches that exchange features
  before a 1×1 fusion (Li et al. 2018; the asymmetric codec of Fu et al. 2023 uses three
  stages of them in the encoder and one in the decoder).
- :class:`ImportanceMap`: an encoder-side gain in (0, 2) per latent element, computed
  from the latent itself, that moves bits between regions (the decoder never sees it).
- :class:`PostQuantisationFilter` (PQF): a residual network on the quantised latent
  before synthesis, in the spirit of video coding's sample adaptive offset.
"""

from __future__ import annotations

import torch
from torch import nn


def _zero_last(branch: nn.Sequential) -> nn.Sequential:
    """``branch`` with its last convolution zeroed: as a residual branch it starts as nothing."""
    nn.init.zeros_(branch[-1].weight)
    nn.init.zeros_(branch[-1].bias)
    return branch


class ResidualBlock(nn.Module):
    """``x + conv3x3(relu(conv3x3(x)))``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.branch = _zero_last(
            nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(channels, channels, 3, padding=1))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.branch(x)


class ConcatenatedResidualBlocks(nn.Module):
    """``x + conv3x3(B_n(... B_1(x)))``: residual blocks in series, with a shortcut over the chain.

    The outer shortcut keeps a clean path from input to output however deep the
    chain; the closing convolution (zero at the start) decides how much of the chain
    to add to it.
    """

    def __init__(self, channels: int, blocks: int = 3) -> None:
        super().__init__()
        self.chain = nn.Sequential(*(ResidualBlock(channels) for _ in range(blocks)), nn.Conv2d(channels, channels, 3, padding=1))
        _zero_last(self.chain)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.chain(x)


class MultiScaleResidualBlock(nn.Module):
    """Two scales that see each other: 3×3 and 5×5 branches, crossed once, fused by a 1×1 convolution.

    ::

        x -> conv3 -> s1 --+--> conv3 ([s1, p1]) -> s2 --+
          -> conv5 -> p1 --+--> conv5 ([s1, p1]) -> p2 --+--> conv1x1 ([s2, p2]) -> + x
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.small_1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.large_1 = nn.Conv2d(channels, channels, 5, padding=2)
        self.small_2 = nn.Conv2d(2 * channels, 2 * channels, 3, padding=1)
        self.large_2 = nn.Conv2d(2 * channels, 2 * channels, 5, padding=2)
        self.fuse = nn.Conv2d(4 * channels, channels, 1)
        nn.init.zeros_(self.fuse.weight)
        nn.init.zeros_(self.fuse.bias)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        first = torch.cat([self.act(self.small_1(x)), self.act(self.large_1(x))], 1)
        second = torch.cat([self.act(self.small_2(first)), self.act(self.large_2(first))], 1)
        return x + self.fuse(second)


class ImportanceMap(nn.Module):
    """``y * 2 sigmoid(f(y))``: a gain in (0, 2) per element, learned from the latent, 1 at the start.

    Applied by the encoder before quantisation, it lets the transform spend bits where
    they buy the most distortion, region by region; the decoder decodes the gained
    latent as it is and never needs the map.
    """

    def __init__(self, channels: int, hidden: int = 64) -> None:
        super().__init__()
        self.logits = _zero_last(
            nn.Sequential(nn.Conv2d(channels, hidden, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(hidden, channels, 3, padding=1))
        )

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return y * (2 * torch.sigmoid(self.logits(y)))


class PostQuantisationFilter(nn.Module):
    """``y_hat + f(y_hat)`` on the decoded latent, before synthesis; the identity at the start.

    It runs after quantisation, so it changes no bit of the file, only what the
    decoder makes of it. Cheap at latent resolution: at ``hidden`` = 64 and M = 160
    it costs about 4% of the default synthesis transform's multiply-adds
    (``benchmarks/pqf_probe.py``).
    """

    def __init__(self, channels: int, hidden: int = 64) -> None:
        super().__init__()
        self.net = _zero_last(
            nn.Sequential(
                nn.Conv2d(channels, hidden, 3, padding=1),
                nn.ReLU(inplace=True),
                nn.Conv2d(hidden, hidden, 3, padding=1),
                nn.ReLU(inplace=True),
                nn.Conv2d(hidden, channels, 3, padding=1),
            )
        )

    def forward(self, y_hat: torch.Tensor) -> torch.Tensor:
        return y_hat + self.net(y_hat)
