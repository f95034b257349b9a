"""What every learned codec shares: the rate ladder, the frozen coding state, and the z path."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from licodec.bitstream import FORMAT_VERSION
from licodec.entropy.coder import SymbolDecoder, SymbolEncoder
from licodec.entropy.latent_coding import encode_latent, read_mode
from licodec.entropy.factorized import FactorizedDensity
from licodec.entropy.gaussian import build_gaussian_tables, scale_thresholds
from licodec.entropy.tables import CategoricalTables
from licodec.models.config import CodecConfig
from licodec.models.transforms import GainUnits, analysis_transform, synthesis_transform
from licodec.nn.fixed_point import ACT_FRAC_BITS, ACT_LIMIT, FixedPointNetwork, compile_network, from_fixed

ONE = float(1 << ACT_FRAC_BITS)


@dataclass(frozen=True, eq=False)
class CodingTables:
    """Everything the coder needs, in integers: built once by :func:`build_coding_tables`.

    Stored beside the weights and loaded unchanged by encoder and decoder, so that
    no float computation on either machine can change a probability.
    """

    categorical: dict[str, CategoricalTables] = field(default_factory=dict)
    networks: dict[str, FixedPointNetwork] = field(default_factory=dict)
    integers: dict[str, np.ndarray] = field(default_factory=dict)  # medians, scale thresholds (int64)

    def to_arrays(self) -> dict[str, np.ndarray]:
        arrays: dict[str, np.ndarray] = {}
        for name, table in self.categorical.items():
            arrays.update(table.to_arrays(f"tables.{name}"))
        for name, network in self.networks.items():
            arrays.update(network.to_arrays(f"fixed.{name}"))
        for name, values in self.integers.items():
            arrays[f"integers.{name}"] = values
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> "CodingTables":
        def names(prefix: str, suffix: str = "") -> set[str]:
            return {k[len(prefix) :].split(".")[0] for k in arrays if k.startswith(prefix) and k.endswith(suffix)}

        return cls(
            categorical={n: CategoricalTables.from_arrays(arrays, f"tables.{n}") for n in names("tables.")},
            networks={n: FixedPointNetwork.from_arrays(arrays, f"fixed.{n}") for n in names("fixed.")},
            integers={n: np.asarray(arrays[f"integers.{n}"], dtype=np.int64) for n in names("integers.")},
        )


class LearnedCodec(nn.Module):
    """Analysis transform, latent codec, synthesis transform (CompressAI's vocabulary).

    ``forward`` trains: it returns ``x_hat`` and the likelihoods whose negative log2
    is the rate. ``compress``/``decompress`` code one padded tile through integer
    tables; they need :attr:`tables`, which :func:`build_coding_tables` creates.
    """

    pad_multiple = 64  # total downsampling of the deepest latent

    def __init__(self, config: CodecConfig) -> None:
        super().__init__()
        self.config = config
        self.g_a = analysis_transform(config.channels, config.latent_channels)
        self.g_s = synthesis_transform(config.latent_channels, config.decoder_widths)
        self.gains = GainUnits(config.num_rates, config.latent_channels)
        self.tables: CodingTables | None = None
        self.mixed_precision = False  # training only: see _transform

    # -- rate control -------------------------------------------------------------

    def rate_position(self, quality: float) -> float:
        """Map quality 1..100 (higher = more bits) onto the rate ladder, monotonically."""
        q = min(max(float(quality), 1.0), 100.0)
        return (q - 1.0) / 99.0 * (self.config.num_rates - 1)

    def _positions(self, x: torch.Tensor, rate_position) -> torch.Tensor:
        """Rate positions as (N,), or a rate map (N, 1, h, w) at latent resolution, passed through."""
        if rate_position is None:
            rate_position = self.config.num_rates - 1
        position = torch.as_tensor(rate_position, dtype=torch.float32)
        return position.expand(x.shape[0]) if position.dim() == 0 else position

    def encode_latent(self, x: torch.Tensor, rate_position) -> torch.Tensor:
        return self._transform(self.g_a, x) * self.gains.gain(self._positions(x, rate_position))

    def decode_latent(self, y_hat: torch.Tensor, rate_position, bias_updates: dict | None = None) -> torch.Tensor:
        """g_s of the inverse-gained latent; ``bias_updates`` maps g_s bias names to additive deltas."""
        y_hat = y_hat * self.gains.inverse_gain(self._positions(y_hat, rate_position))
        if not bias_updates:
            return self._transform(self.g_s, y_hat)
        parameters = {name: p + bias_updates[name] if name in bias_updates else p for name, p in self.g_s.named_parameters()}
        return torch.func.functional_call(self.g_s, parameters, (y_hat,))

    def _transform(self, net: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
        """Run g_a or g_s: channels-last in eval mode; in training, under :attr:`mixed_precision`,
        all but the last layer run in bfloat16.

        bfloat16 is a training speed-up (about 2x with ``torch.compile`` on AVX-512 CPUs). The last
        layer stays float32 so that y and x_hat keep their full precision: bfloat16
        resolves only 0.25 at |y| = 32, as coarse as the quantiser itself.
        """
        if not self.training:  # inference: channels-last decodes about a quarter faster (oneDNN)
            return net(x.contiguous(memory_format=torch.channels_last))
        if not self.mixed_precision:
            return net(x)
        with torch.autocast(x.device.type, dtype=torch.bfloat16):
            hidden = net[:-1](x)
        return net[-1](hidden.float())

    # -- coding -------------------------------------------------------------------

    def _require_tables(self) -> CodingTables:
        if self.tables is None:
            raise RuntimeError("this model has no coding tables; run licodec.models.build_coding_tables(model) first")
        return self.tables

    def build_tables(self) -> CodingTables:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, x: torch.Tensor, rate_position=None) -> dict:
        """Training pass: ``{"x_hat", "likelihoods": {name: tensor}}``; -log2 of the likelihoods is the rate."""
        return self.forward_latent(self.encode_latent(x, rate_position), rate_position)

    def forward_latent(self, y: torch.Tensor, rate_position=None) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def lagrange_multiplier(self, rate_position) -> torch.Tensor:
        """The lambda the model was trained with at ``rate_position`` (geometric between rungs).

        A scalar position gives a 0-d tensor; a rate map (N, 1, h, w) gives a lambda map.
        """
        log_lambdas = torch.log(torch.tensor(self.config.lambdas, dtype=torch.float64))
        position = torch.as_tensor(rate_position, dtype=torch.float64).clamp(0, len(log_lambdas) - 1)
        low = position.floor().long()
        high = (low + 1).clamp(max=len(log_lambdas) - 1)
        frac = position - low.double()
        return torch.exp((1 - frac) * log_lambdas[low] + frac * log_lambdas[high]).float()

    def compress(self, x: torch.Tensor, rate_position, y: torch.Tensor | None = None, local_models: bool = True) -> list[bytes]:
        """Code one tile (1, 3, H, W) in [0, 1], H and W multiples of :attr:`pad_multiple`.

        ``rate_position`` is a number, or a rate map (1, 1, H/16, W/16) for spatially
        varying quality. ``y`` replaces the analysis transform's latent, e.g. after
        per-image optimisation. ``local_models=False`` codes with the model's tables only.
        """
        encoder = SymbolEncoder(local_models)
        with torch.no_grad():
            self._encode(self.encode_latent(x, rate_position) if y is None else y, encoder)
        return encoder.finish()

    def decompress(
        self,
        streams: list[bytes],
        rate_position,
        height: int,
        width: int,
        bias_updates: dict | None = None,
        format_version: int = FORMAT_VERSION,
    ) -> torch.Tensor:
        """Inverse of :meth:`compress` for a padded tile of ``height`` x ``width`` pixels."""
        with torch.no_grad():
            y_hat = self.decode_symbols(streams, height, width, format_version)
            return self.decode_latent(y_hat, rate_position, bias_updates).clamp(0, 1)

    def decode_symbols(self, streams: list[bytes], height: int, width: int, format_version: int = FORMAT_VERSION) -> torch.Tensor:
        """The decoded latent y_hat (1, M, H/16, W/16) of a tile, before the synthesis transform."""
        with torch.no_grad():
            return self._decode(SymbolDecoder(streams, format_version), height // 16, width // 16)

    def _encode(self, y: torch.Tensor, encoder: SymbolEncoder) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _decode(self, decoder: SymbolDecoder, height: int, width: int) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError


# -- helpers shared by the latent codecs ----------------------------------------------


def fixed_medians(density: FactorizedDensity) -> np.ndarray:
    """Medians on the fixed-point grid (int64): the exact offsets both coder sides use."""
    return np.round(density.medians.double().numpy() * ONE).astype(np.int64)


def factorized_tables(density: FactorizedDensity) -> tuple[CategoricalTables, np.ndarray]:
    medians = fixed_medians(density)
    return density.build_tables(medians / ONE), medians


def gaussian_coding_state() -> tuple[CategoricalTables, np.ndarray]:
    """Indexed Gaussian tables and their integer selection thresholds (ceil on the fixed grid)."""
    thresholds = np.ceil(scale_thresholds() * ONE).astype(np.int64)
    return build_gaussian_tables(), thresholds


def encode_factorized(
    latent: torch.Tensor, medians: np.ndarray, tables: CategoricalTables, encoder: SymbolEncoder
) -> torch.Tensor:
    """Code ``latent`` (1, C, h, w) channel-wise around its medians, plainly or adaptively
    (:mod:`licodec.entropy.latent_coding`); returns its value as fixed-point float64."""
    med = torch.from_numpy(medians.astype(np.float64)).view(1, -1, 1, 1)
    symbols = torch.round(latent.double() - med / ONE)
    encode_latent(encoder, [(symbols.numpy().astype(np.int64), _channel_indexes(latent.shape))], tables, offsets=False)
    return symbols * ONE + med


def decode_factorized(
    shape: tuple[int, int, int, int], medians: np.ndarray, tables: CategoricalTables, decoder: SymbolDecoder
) -> torch.Tensor:
    coder = read_mode(decoder, tables, shape[1], offsets=False)
    symbols = torch.from_numpy(coder.decode(decoder, _channel_indexes(shape)).astype(np.float64))
    return symbols * ONE + torch.from_numpy(medians.astype(np.float64)).view(1, -1, 1, 1)


def _channel_indexes(shape) -> np.ndarray:
    n, c, h, w = shape
    return np.broadcast_to(np.arange(c, dtype=np.int32).reshape(1, c, 1, 1), (n, c, h, w))


def scale_indexes(scales_fixed: torch.Tensor, thresholds: np.ndarray) -> np.ndarray:
    """Table index per element: how many thresholds the integer scale reaches (int32)."""
    return np.searchsorted(thresholds, scales_fixed.numpy().astype(np.int64), side="right").astype(np.int32)


def quantize_to_symbols(y: torch.Tensor, means_fixed: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Symbols round(y - mean) and y_hat = symbol + mean on the fixed grid (both float64)."""
    symbols = torch.round(y.double() - means_fixed / ONE)
    return symbols, symbols * ONE + means_fixed


def symbols_to_fixed(symbols: np.ndarray, means_fixed: torch.Tensor) -> torch.Tensor:
    """Decoder side of :func:`quantize_to_symbols`: y_hat = symbol + mean on the fixed grid."""
    return torch.from_numpy(symbols.astype(np.float64)) * ONE + means_fixed


def context_input(y_hat_fixed: torch.Tensor) -> torch.Tensor:
    """y_hat as input to an integer context network: clamped to the activation range."""
    return torch.clamp(y_hat_fixed, -ACT_LIMIT, ACT_LIMIT)


def to_float(y_hat_fixed: torch.Tensor) -> torch.Tensor:
    return from_fixed(y_hat_fixed)


def compile_networks(**networks: nn.Sequential) -> dict[str, FixedPointNetwork]:
    return {name: compile_network(network) for name, network in networks.items()}
