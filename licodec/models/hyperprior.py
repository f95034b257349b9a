"""Scale hyperprior (Ballé et al. 2018) and mean-scale hyperprior (Minnen et al. 2018, no context)."""

from __future__ import annotations

import torch
from torch import nn

from licodec.entropy.coder import SymbolDecoder, SymbolEncoder
from licodec.entropy.coding_tables import (
    CodingTables,
    FactorizedLatentTables,
    GaussianLatentTables,
    LatentTables,
    quantize_to_symbols,
    symbols_to_fixed,
    to_float,
)
from licodec.entropy.factorized import FactorizedDensity
from licodec.entropy.gaussian import GaussianConditional
from licodec.entropy.latent_coding import Chunks, Classes, LatentCoder, encode_latent, read_mode
from licodec.models.base import LearnedCodec, compile_networks
from licodec.models.config import CodecConfig
from licodec.models.transforms import hyper_analysis, hyper_synthesis


class HyperpriorCodec(LearnedCodec):
    """Shared z path: y -> h_a -> z -> [factorized density] -> z_hat -> h_s -> entropy parameters."""

    def __init__(self, config: CodecConfig) -> None:
        super().__init__(config)
        self.h_a = hyper_analysis(config.latent_channels, config.hyper_channels)
        self.z_density = FactorizedDensity(config.hyper_channels)
        self.gaussian = GaussianConditional()

    def hyper_input(self, y: torch.Tensor) -> torch.Tensor:
        return y

    def aux_loss(self) -> torch.Tensor:
        return self.z_density.aux_loss()

    def build_tables(self) -> CodingTables:
        """z tables, the Gaussian tables, and h_s in integers; context models add their networks."""
        return self._hyper_tables(h_s=self.h_s)

    def _hyper_tables(self, **networks: nn.Sequential) -> CodingTables:
        return CodingTables(y=self._build_y_tables(), z=FactorizedLatentTables.from_density(self.z_density), networks=compile_networks(**networks))

    def _build_y_tables(self) -> LatentTables:
        """y's tables: the Gaussian scale grid; a model with another density for y overrides this."""
        return GaussianLatentTables.build()

    def _y_tables(self) -> GaussianLatentTables:
        return self._require_tables().y

    def _encode_y_chunks(self, encoder: SymbolEncoder, chunks: Chunks, local_models: bool, classes: Classes = None) -> None:
        """Code (symbols, table indexes) chunks of y in the cheapest coding mode (:mod:`licodec.entropy.latent_coding`)."""
        encode_latent(encoder, chunks, self._y_tables().table, local_models=local_models, classes=classes)

    def _y_coder(self, decoder: SymbolDecoder, format_version: int, num_classes: int = 1) -> LatentCoder:
        """Reads the tile's coding mode; the returned coder decodes y's chunks in order."""
        table = self._y_tables().table
        return read_mode(decoder, table, self.config.latent_channels, format_version=format_version, num_classes=num_classes)

    def _z_shape(self, height: int, width: int) -> tuple[int, int, int, int]:
        return (1, self.config.hyper_channels, height // 4, width // 4)

    def _encode_z(self, y: torch.Tensor, encoder: SymbolEncoder, local_models: bool) -> torch.Tensor:
        return self._require_tables().z.encode(self.h_a(self.hyper_input(y)), encoder, local_models)

    def _decode_z(self, decoder: SymbolDecoder, height: int, width: int, format_version: int) -> torch.Tensor:
        return self._require_tables().z.decode(self._z_shape(height, width), decoder, format_version)


class ScaleHyperprior(HyperpriorCodec):
    """Ballé et al. 2018 ("bmshj2018-hyperprior"): zero-mean Gaussian whose scales come from z."""

    def __init__(self, config: CodecConfig) -> None:
        super().__init__(config)
        self.h_s = hyper_synthesis(config.hyper_channels, config.latent_channels, final_relu=True)

    def hyper_input(self, y: torch.Tensor) -> torch.Tensor:
        return torch.abs(y)

    def forward_latent(self, y: torch.Tensor, rate_position=None) -> dict:
        z_hat, z_likelihoods = self.z_density(self.h_a(self.hyper_input(y)))
        y_hat, y_likelihoods = self.gaussian(y, self.h_s(z_hat))
        x_hat = self.decode_latent(y_hat, rate_position)
        return {"x_hat": x_hat, "likelihoods": {"y": y_likelihoods, "z": z_likelihoods}}

    def _encode(self, y: torch.Tensor, encoder: SymbolEncoder, local_models: bool) -> None:
        z_hat = self._encode_z(y, encoder, local_models)
        scales = self._require_tables().network("h_s")(z_hat)
        symbols, _ = quantize_to_symbols(y, torch.zeros_like(scales))
        self._encode_y_chunks(encoder, [(symbols.numpy(), self._y_tables().scale_indexes(scales))], local_models)

    def _decode(self, decoder: SymbolDecoder, height: int, width: int, format_version: int) -> torch.Tensor:
        scales = self._require_tables().network("h_s")(self._decode_z(decoder, height, width, format_version))
        symbols = self._y_coder(decoder, format_version).decode(decoder, self._y_tables().scale_indexes(scales))
        return torch.from_numpy(symbols).float()


class MeanScaleHyperprior(HyperpriorCodec):
    """Minnen et al. 2018 without context ("mbt2018-mean"): z predicts both means and scales."""

    def __init__(self, config: CodecConfig) -> None:
        super().__init__(config)
        m = config.latent_channels
        self.h_s = hyper_synthesis(config.hyper_channels, 2 * m, hidden=config.hyper_channels * 3 // 2)

    def forward_latent(self, y: torch.Tensor, rate_position=None) -> dict:
        z_hat, z_likelihoods = self.z_density(self.h_a(y))
        scales, means = self.h_s(z_hat).chunk(2, 1)
        y_hat, y_likelihoods = self.gaussian(y, scales, means)
        x_hat = self.decode_latent(y_hat, rate_position)
        return {"x_hat": x_hat, "likelihoods": {"y": y_likelihoods, "z": z_likelihoods}}

    def _encode(self, y: torch.Tensor, encoder: SymbolEncoder, local_models: bool) -> None:
        scales, means = self._require_tables().network("h_s")(self._encode_z(y, encoder, local_models)).chunk(2, 1)
        symbols, _ = quantize_to_symbols(y, means)
        self._encode_y_chunks(encoder, [(symbols.numpy(), self._y_tables().scale_indexes(scales))], local_models)

    def _decode(self, decoder: SymbolDecoder, height: int, width: int, format_version: int) -> torch.Tensor:
        scales, means = self._require_tables().network("h_s")(self._decode_z(decoder, height, width, format_version)).chunk(2, 1)
        symbols = self._y_coder(decoder, format_version).decode(decoder, self._y_tables().scale_indexes(scales))
        return to_float(symbols_to_fixed(symbols, means))
