"""The frozen coding state of a model: typed integer tables and the fixed-point grid latents are coded on.

Built once (:func:`licodec.models.build_coding_tables`, float64 on the CPU), stored
beside the weights and loaded unchanged by encoder and decoder, so that no float
computation on either machine can change a probability.

Coded latents live on the fixed-point grid of :mod:`licodec.nn.integer_network`
(``ONE`` = 1.0): a mean or median is an integer there, so ``round(y - mean)`` and
``symbol + mean`` come out the same on every machine. numpy only: decoders run it without PyTorch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from licodec.entropy.coder import SymbolDecoder, SymbolEncoder
from licodec.entropy.latent_coding import encode_latent, read_mode
from licodec.entropy.mixture_coding import MixtureLatentTables
from licodec.entropy.tables import CategoricalTables, build_gaussian_tables, scale_thresholds
from licodec.nn.integer_network import ACT_FRAC_BITS, ACT_LIMIT, FixedPointNetwork

ONE = float(1 << ACT_FRAC_BITS)
"""1.0 on the fixed-point grid."""


@dataclass(frozen=True, eq=False)
class FactorizedLatentTables:
    """A latent coded channel by channel around its medians, without side information:
    z of the hyperprior models, y of the factorized prior."""

    table: CategoricalTables  # one row per channel
    medians: np.ndarray  # (C,) int64 on the fixed-point grid: the exact offsets both sides use

    def encode(self, latent: np.ndarray, encoder: SymbolEncoder, local_models: bool) -> np.ndarray:
        """Code ``latent`` (1, C, h, w) around the medians in the cheapest mode (or plainly, without
        ``local_models``); returns its coded value on the fixed-point grid (float64)."""
        medians = self._medians_fixed()
        symbols = np.round(np.asarray(latent, dtype=np.float64) - medians / ONE)
        chunks = [(symbols.astype(np.int64), _channel_indexes(latent.shape))]
        encode_latent(encoder, chunks, self.table, offsets=False, local_models=local_models)
        return symbols * ONE + medians

    def decode(self, shape: tuple[int, int, int, int], decoder: SymbolDecoder, format_version: int) -> np.ndarray:
        """Inverse of :meth:`encode` for a latent of ``shape``, read in the syntax of ``format_version``."""
        coder = read_mode(decoder, self.table, shape[1], offsets=False, format_version=format_version)
        symbols = coder.decode(decoder, _channel_indexes(shape)).astype(np.float64)
        return symbols * ONE + self._medians_fixed()

    def to_arrays(self, name: str) -> dict[str, np.ndarray]:
        return {**self.table.to_arrays(f"tables.{name}"), f"integers.{name}_medians": self.medians}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], name: str) -> FactorizedLatentTables:
        return cls(CategoricalTables.from_arrays(arrays, f"tables.{name}"), np.asarray(arrays[f"integers.{name}_medians"], dtype=np.int64))

    def _medians_fixed(self) -> np.ndarray:
        return self.medians.astype(np.float64).reshape(1, -1, 1, 1)


@dataclass(frozen=True, eq=False)
class GaussianLatentTables:
    """A latent coded under discretised Gaussians whose table is chosen by a predicted scale (y of the hyperpriors)."""

    table: CategoricalTables  # one row per scale of the grid
    scale_thresholds: np.ndarray  # int64 on the fixed-point grid: a scale at or above entry t selects row t + 1

    @classmethod
    def build(cls) -> GaussianLatentTables:
        """The tables of the scale grid, with integer thresholds (ceil on the fixed grid)."""
        return cls(build_gaussian_tables(), np.ceil(scale_thresholds() * ONE).astype(np.int64))

    def to_arrays(self, name: str) -> dict[str, np.ndarray]:
        return {**self.table.to_arrays(f"tables.{name}"), "integers.scale_thresholds": self.scale_thresholds}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], name: str) -> GaussianLatentTables:
        return cls(CategoricalTables.from_arrays(arrays, f"tables.{name}"), np.asarray(arrays["integers.scale_thresholds"], dtype=np.int64))

    def scale_indexes(self, scales_fixed: np.ndarray) -> np.ndarray:
        """Table index per element (int32): how many thresholds the integer scale reaches."""
        return np.searchsorted(self.scale_thresholds, scales_fixed.astype(np.int64), side="right").astype(np.int32)


LatentTables = FactorizedLatentTables | GaussianLatentTables | MixtureLatentTables


@dataclass(frozen=True, eq=False)
class CodingTables:
    """Everything the coder needs, in integers: y's tables, z's for the hyperprior models, and the
    integer networks on the probability path, named as the model's modules they were compiled from."""

    y: LatentTables
    z: FactorizedLatentTables | None = None
    networks: dict[str, FixedPointNetwork] = field(default_factory=dict)

    def network(self, name: str) -> FixedPointNetwork:
        try:
            return self.networks[name]
        except KeyError:
            raise KeyError(f"these coding tables hold no integer network {name!r} (they have {', '.join(self.networks) or 'none'})") from None

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The arrays stored in a weights file (the names are part of the weights format)."""
        arrays = self.y.to_arrays("y")
        if self.z is not None:
            arrays.update(self.z.to_arrays("z"))
        for name, network in self.networks.items():
            arrays.update(network.to_arrays(f"fixed.{name}"))
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> CodingTables:
        kind: type[LatentTables] = GaussianLatentTables  # y's kind, told by the arrays only it stores
        if "integers.mixture_weights" in arrays:
            kind = MixtureLatentTables
        elif "integers.y_medians" in arrays:
            kind = FactorizedLatentTables
        z = FactorizedLatentTables.from_arrays(arrays, "z") if "integers.z_medians" in arrays else None
        names = {k.split(".")[1] for k in arrays if k.startswith("fixed.")}
        return cls(kind.from_arrays(arrays, "y"), z, {n: FixedPointNetwork.from_arrays(arrays, f"fixed.{n}") for n in sorted(names)})


def quantize_to_symbols(y: np.ndarray, means_fixed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symbols round(y - mean) (int64) and y_hat = symbol + mean on the fixed grid (float64)."""
    symbols = np.round(np.asarray(y, dtype=np.float64) - means_fixed / ONE)
    return symbols.astype(np.int64), symbols * ONE + means_fixed


def symbols_to_fixed(symbols: np.ndarray, means_fixed: np.ndarray) -> np.ndarray:
    """Decoder side of :func:`quantize_to_symbols`: y_hat = symbol + mean on the fixed grid."""
    return symbols.astype(np.float64) * ONE + means_fixed


def context_input(y_hat_fixed: np.ndarray) -> np.ndarray:
    """y_hat as input to an integer context network: clamped to the activation range."""
    return np.clip(y_hat_fixed, -ACT_LIMIT, ACT_LIMIT)


def to_float(y_hat_fixed: np.ndarray) -> np.ndarray:
    """A decoded latent off the fixed grid (float32), for the synthesis transform."""
    return (y_hat_fixed * (1.0 / ONE)).astype(np.float32)


def _channel_indexes(shape) -> np.ndarray:
    n, c, h, w = shape
    return np.broadcast_to(np.arange(c, dtype=np.int32).reshape(1, c, 1, 1), (n, c, h, w))
