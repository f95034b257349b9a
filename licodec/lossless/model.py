"""The networks of the multi-scale progressive lossless model, and the bits they spend, for training.

Three networks, each plain convolutions and ReLUs so that they compile to exact integers
(:func:`licodec.nn.fixed_point.compile_network`):

- ``context`` reads a scale's phase 0 (the coarser scale) once per scale;
- ``entries`` reads every entry of the 2 x 2 blocks decoded so far, with flags saying which;
- ``head`` turns both into a logistic density per entry: its mean and scale.

Every step of every profile runs the same ``entries`` and ``head``; only the flags differ.
Means are rounded to whole pixel values before coding (:mod:`licodec.lossless.codec`),
and the training pass rounds them the same way (straight through).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import torch
from torch import nn

from licodec.entropy.gaussian import LIKELIHOOD_BOUND
from licodec.entropy.mixture import bin_probability
from licodec.entropy.mixture_coding import MixtureLatentTables
from licodec.entropy.quantize import round_ste
from licodec.lossless.codec import NETWORKS, LosslessCoder
from licodec.lossless.order import CENTRES, CHANNELS, ENTRIES, PIXEL_STEP
from licodec.nn.fixed_point import compile_network
from licodec.nn.layers import conv

FAMILY = "logistic"
"""Each sample's density: one discretised logistic, coded through its scale's table. A mixture would have to build
frequency rows per sample: with three components that took 1.1 of 1.9 s coding a 256 x 256 crop."""


@dataclass(frozen=True)
class LosslessConfig:
    width: int = 48  # channels of the context features
    entry_width: int = 24  # channels of the entries' features
    head_width: int = 32  # hidden channels of the head

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> LosslessConfig:
        return cls(**json.loads(text))


class MultiScaleProgressive(nn.Module):
    def __init__(self, config: LosslessConfig = LosslessConfig()) -> None:
        super().__init__()
        self.config = config
        w = config.width
        self.context = nn.Sequential(
            conv(CHANNELS, w, 3, 1), nn.ReLU(inplace=True),
            conv(w, w, 3, 1), nn.ReLU(inplace=True),
            conv(w, w, 3, 1), nn.ReLU(inplace=True),
        )  # fmt: skip
        self.entries = nn.Sequential(conv(2 * ENTRIES, config.entry_width, 3, 1), nn.ReLU(inplace=True))
        self.head = nn.Sequential(
            nn.Conv2d(w + config.entry_width, config.head_width, 1), nn.ReLU(inplace=True),
            nn.Conv2d(config.head_width, 2 * ENTRIES, 1),
        )  # fmt: skip

    def density(self, grid: torch.Tensor, known: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(means, scales), each (N, ENTRIES, h, w), of every entry of ``grid`` (N, ENTRIES, h, w) sample values
        (YCoCg-R), given the entries ``known`` (N, ENTRIES, 1, 1) bool; in sample values, means unrounded."""
        centres = torch.from_numpy(CENTRES).to(grid)[:, None, None]
        pixels = (grid - centres) / PIXEL_STEP
        features = self.context(pixels[:, :CHANNELS])
        flags = known.float().expand_as(grid)
        means, scales = self.head(torch.cat([features, self.entries(torch.cat([pixels * flags, flags], 1))], 1)).chunk(2, 1)
        return means * PIXEL_STEP + centres, scales * PIXEL_STEP  # the networks' units are the inputs'

    def bits(self, grid: torch.Tensor, known: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Bits per coded sub-pixel of the ``targets`` entries (N, ENTRIES, 1, 1) bool, given ``known``, as coding
        spends them (means rounded to whole values)."""
        means, scales = self.density(grid, known)
        likelihood = bin_probability(FAMILY, grid, round_ste(means), scales).clamp(min=LIKELIHOOD_BOUND)
        weight = targets.float().expand_as(grid)
        return -(torch.log2(likelihood) * weight).sum() / weight.sum().clamp(min=1)


def compile_coder(model: MultiScaleProgressive) -> LosslessCoder:
    """The integer coder of a trained model: its networks compiled, its logistic's tables built."""
    networks = {name: compile_network(getattr(model, name)) for name in NETWORKS}
    return LosslessCoder(**networks, tables=MixtureLatentTables.build((FAMILY,)))
