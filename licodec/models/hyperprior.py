"""Scale hyperprior (Ballé et al. 2018) and mean-scale hyperprior (Minnen et al. 2018, no context)."""

from __future__ import annotations

import torch

from licodec.entropy.coder import SymbolDecoder, SymbolEncoder
from licodec.entropy.factorized import FactorizedDensity
from licodec.entropy.gaussian import GaussianConditional
from licodec.entropy.latent_coding import Chunks, Classes, LatentCoder, encode_latent, read_mode
from licodec.models.base import (
    CodingTables,
    LearnedCodec,
    compile_networks,
    decode_factorized,
    encode_factorized,
    factorized_tables,
    gaussian_coding_state,
    quantize_to_symbols,
    scale_indexes,
    symbols_to_fixed,
    to_float,
)
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
        return CodingTables(**self._hyper_tables(), networks=compile_networks(h_s=self.h_s))

    def _hyper_tables(self) -> dict:
        z_table, z_medians = factorized_tables(self.z_density)
        y_table, thresholds = gaussian_coding_state()
        return {
            "categorical": {"z": z_table, "y": y_table},
            "integers": {"z_medians": z_medians, "scale_thresholds": thresholds},
        }

    def _encode_y_chunks(self, encoder: SymbolEncoder, chunks: Chunks, classes: Classes = None) -> None:
        """Code (symbols, table indexes) chunks of y in the cheapest coding mode (:mod:`licodec.entropy.latent_coding`)."""
        encode_latent(encoder, chunks, self._require_tables().categorical["y"], classes=classes)

    def _y_coder(self, decoder: SymbolDecoder, num_classes: int = 1) -> LatentCoder:
        """Reads the tile's coding mode; the returned coder decodes y's chunks in order."""
        return read_mode(decoder, self._require_tables().categorical["y"], self.config.latent_channels, num_classes=num_classes)

    def _z_shape(self, height: int, width: int) -> tuple[int, int, int, int]:
        return (1, self.config.hyper_channels, height // 4, width // 4)

    def _encode_z(self, y: torch.Tensor, encoder: SymbolEncoder) -> torch.Tensor:
        tables = self._require_tables()
        z = self.h_a(self.hyper_input(y))
        return encode_factorized(z, tables.integers["z_medians"], tables.categorical["z"], encoder)

    def _decode_z(self, decoder: SymbolDecoder, height: int, width: int) -> torch.Tensor:
        tables = self._require_tables()
        shape = self._z_shape(height, width)
        return decode_factorized(shape, tables.integers["z_medians"], tables.categorical["z"], decoder)


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

    def _encode(self, y: torch.Tensor, encoder: SymbolEncoder) -> None:
        tables = self._require_tables()
        z_hat = self._encode_z(y, encoder)
        scales = tables.networks["h_s"](z_hat)
        symbols, _ = quantize_to_symbols(y, torch.zeros_like(scales))
        self._encode_y_chunks(encoder, [(symbols.numpy(), scale_indexes(scales, tables.integers["scale_thresholds"]))])

    def _decode(self, decoder: SymbolDecoder, height: int, width: int) -> torch.Tensor:
        tables = self._require_tables()
        scales = tables.networks["h_s"](self._decode_z(decoder, height, width))
        symbols = self._y_coder(decoder).decode(decoder, scale_indexes(scales, tables.integers["scale_thresholds"]))
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

    def _encode(self, y: torch.Tensor, encoder: SymbolEncoder) -> None:
        tables = self._require_tables()
        scales, means = tables.networks["h_s"](self._encode_z(y, encoder)).chunk(2, 1)
        symbols, _ = quantize_to_symbols(y, means)
        self._encode_y_chunks(encoder, [(symbols.numpy(), scale_indexes(scales, tables.integers["scale_thresholds"]))])

    def _decode(self, decoder: SymbolDecoder, height: int, width: int) -> torch.Tensor:
        tables = self._require_tables()
        scales, means = tables.networks["h_s"](self._decode_z(decoder, height, width)).chunk(2, 1)
        symbols = self._y_coder(decoder).decode(decoder, scale_indexes(scales, tables.integers["scale_thresholds"]))
        return to_float(symbols_to_fixed(symbols, means))
