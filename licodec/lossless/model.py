"""The networks of the multi-scale progressive lossless model, and the bits they spend, for training.

Three networks, each plain convolutions and ReLUs so that they compile to exact integers
(:func:`licodec.nn.fixed_point.compile_network`):

- ``context`` reads a scale's phase 0 (the coarser scale) once per scale;
- ``entries`` reads every entry of the 2 x 2 blocks decoded so far, with flags saying which,
  and the symbols they were coded as (how far each sat from its predicted mean, a local
  measure of how predictable the neighbourhood is);
- ``head`` turns both into a logistic density per entry (its mean and scale) and, per
  phase, three channel coefficients: Co's mean moves by ``a`` times Y's symbol, Cg's by
  ``b`` times Y's and ``c`` times Co's, where those are decoded (PixelCNN++'s linear
  channel dependence), so even a step that codes all channels at once conditions each
  pixel's chroma on its luma.

Every step of every profile runs the same ``entries`` and ``head``; only the flags differ.
Means are rounded to whole pixel values before coding (:mod:`licodec.lossless.codec`),
and the training pass rounds them the same way (straight through).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from licodec.entropy.gaussian import LIKELIHOOD_BOUND
from licodec.entropy.mixture import bin_probability
from licodec.entropy.mixture_coding import MixtureLatentTables
from licodec.entropy.quantize import round_ste
from licodec.lossless.codec import CHANNEL_TERMS, NETWORKS, LosslessCoder
from licodec.lossless.order import CENTRES, CHANNELS, COEFFICIENTS, ENTRIES, PHASES, PIXEL_STEP
from licodec.nn.fixed_point import compile_network, load_into_float
from licodec.nn.layers import conv

FAMILY = "logistic"
"""Each sample's density: one discretised logistic, coded through its scale's table. A mixture would have to build
frequency rows per sample: with three components that took 1.1 of 1.9 s coding a 256 x 256 crop."""
ENTRY_INPUTS = 3 * ENTRIES
"""What ``entries`` reads per entry: its value where known (else 0), the flag, and its symbol (0 where none)."""
HEAD_OUTPUTS = 2 * ENTRIES + COEFFICIENTS
"""What ``head`` emits per block: every entry's mean, then every entry's scale, then the channel coefficients."""


@dataclass(frozen=True)
class LosslessConfig:
    width: int = 48  # channels of the context features
    context_layers: int = 4
    entry_width: int = 24  # channels of the entries' features
    entry_layers: int = 2
    head_width: int = 48  # hidden channels of the head

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> LosslessConfig:
        return cls(**json.loads(text))


def _stack(inputs: int, width: int, layers: int) -> nn.Sequential:
    """``layers`` 3 x 3 convolutions, each followed by a ReLU."""
    modules: list[nn.Module] = []
    for i in range(layers):
        modules += [conv(inputs if i == 0 else width, width, 3, 1), nn.ReLU(inplace=True)]
    return nn.Sequential(*modules)


class MultiScaleProgressive(nn.Module):
    def __init__(self, config: LosslessConfig = LosslessConfig()) -> None:
        super().__init__()
        self.config = config
        self.context = _stack(CHANNELS, config.width, config.context_layers)
        self.entries = _stack(ENTRY_INPUTS, config.entry_width, config.entry_layers)
        self.head = nn.Sequential(
            nn.Conv2d(config.width + config.entry_width, config.head_width, 1), nn.ReLU(inplace=True),
            nn.Conv2d(config.head_width, HEAD_OUTPUTS, 1),
        )  # fmt: skip

    def density(
        self, grid: torch.Tensor, known: torch.Tensor, symbols: torch.Tensor, features: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(means, scales, coefficients) of the entries of ``grid`` (N, ENTRIES, h, w) sample values (YCoCg-R),
        given the entries ``known`` (N, ENTRIES, 1, 1) bool and their ``symbols`` (N, ENTRIES, h, w; 0 where none):
        means and scales (N, ENTRIES, h, w) in sample values, means unrounded and before the channel terms;
        coefficients (N, COEFFICIENTS, h, w). ``features``: the context's output for this scale."""
        pixels = _pixels(grid)
        flags = known.to(grid).expand_as(grid)
        seen = self.entries(torch.cat([pixels * flags, flags, symbols / PIXEL_STEP], 1))
        means, scales, coefficients = self.head(torch.cat([features, seen], 1)).split([ENTRIES, ENTRIES, COEFFICIENTS], 1)
        centres = torch.from_numpy(CENTRES).to(grid)[:, None, None]
        return means * PIXEL_STEP + centres, scales * PIXEL_STEP, coefficients  # the networks' units are the inputs'

    def scale_bits(self, grid: torch.Tensor, schedule: list[tuple[np.ndarray, np.ndarray]]) -> tuple[torch.Tensor, torch.Tensor]:
        """(bits, samples) of coding every step of ``schedule`` ((known, coded) entry masks, as
        :func:`licodec.lossless.order.schedule` gives) on ``grid`` (N, ENTRIES, h, w), as coding spends them.
        A grey image's context sees its one channel three times, as the coder's does."""
        grey = not schedule[0][0][1]
        features = self.context(_pixels(grid)[:, [0, 0, 0] if grey else [0, 1, 2]])
        symbols = torch.zeros_like(grid)
        bits, samples = grid.new_zeros(()), grid.new_zeros(())
        for known, coded in schedule:
            means, scales, coefficients = self.density(grid, _mask(known, grid), symbols, features)
            whole, step_symbols = whole_means(grid, means, coefficients, symbols, _mask(coded, grid))
            likelihood = bin_probability(FAMILY, grid, whole, scales).clamp(min=LIKELIHOOD_BOUND)
            weight = _mask(coded, grid).to(grid).expand_as(grid)
            bits = bits - (torch.log2(likelihood) * weight).sum()
            samples = samples + weight.sum()
            symbols = step_symbols.detach()
        return bits, samples


def whole_means(
    grid: torch.Tensor, means: torch.Tensor, coefficients: torch.Tensor, symbols: torch.Tensor, coded: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(whole means of every entry with the channel terms, symbols after coding ``coded``), channel by channel:
    Y's symbol moves Co's mean, then both move Cg's, as :class:`~licodec.lossless.codec.LosslessCoder` does."""
    shape = (grid.shape[0], len(PHASES), CHANNELS, *grid.shape[2:])
    values, means, symbols = grid.reshape(shape), means.reshape(shape), symbols.reshape(shape)
    coded = coded.reshape(1, len(PHASES), CHANNELS, 1, 1)
    coefficients = coefficients.reshape(shape)
    wholes, known_symbols = [], []
    for channel, terms in enumerate(CHANNEL_TERMS):
        mean = means[:, :, channel] + sum(coefficients[:, :, k] * known_symbols[other] for k, other in terms)
        whole = round_ste(mean)
        wholes.append(whole)
        known_symbols.append(torch.where(coded[:, :, channel], values[:, :, channel] - whole, symbols[:, :, channel]))
    return torch.stack(wholes, 2).reshape(grid.shape), torch.stack(known_symbols, 2).reshape(grid.shape)


def _pixels(grid: torch.Tensor) -> torch.Tensor:
    """Sample values as the networks read them: (v - centre) / PIXEL_STEP."""
    return (grid - torch.from_numpy(CENTRES).to(grid)[:, None, None]) / PIXEL_STEP


def _mask(entries: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    """(ENTRIES,) bool as (1, ENTRIES, 1, 1) on ``like``'s device."""
    return torch.from_numpy(np.asarray(entries, dtype=bool)).to(like.device)[None, :, None, None]


def compile_coder(model: MultiScaleProgressive) -> LosslessCoder:
    """The integer coder of a trained model: its networks compiled, its logistic's tables built."""
    networks = {name: compile_network(getattr(model, name)) for name in NETWORKS}
    return LosslessCoder(**networks, tables=MixtureLatentTables.build((FAMILY,)))


def float_model(coder: LosslessCoder) -> MultiScaleProgressive:
    """The float model whose networks compute what ``coder``'s integers stand for (its configuration read off them)."""
    context, entries, head = (getattr(coder, name).layers for name in NETWORKS)
    config = LosslessConfig(
        width=len(context[0].bias),
        context_layers=len(context),
        entry_width=len(entries[0].bias),
        entry_layers=len(entries),
        head_width=len(head[0].bias),
    )
    model = MultiScaleProgressive(config)
    for name in NETWORKS:
        load_into_float(getattr(coder, name), getattr(model, name))
    return model
