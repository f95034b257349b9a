"""Factorized prior (Ballé et al. 2018, "bmshj2018-factorized")."""

from __future__ import annotations

import torch

from licodec.entropy.coder import SymbolDecoder, SymbolEncoder
from licodec.entropy.factorized import FactorizedDensity
from licodec.models.base import (
    CodingTables,
    LearnedCodec,
    decode_factorized,
    encode_factorized,
    factorized_tables,
    to_float,
)
from licodec.models.config import CodecConfig


class FactorizedPrior(LearnedCodec):
    """x -> g_a -> y -> [factorized density] -> y_hat -> g_s -> x_hat. No side information."""

    pad_multiple = 16

    def __init__(self, config: CodecConfig) -> None:
        super().__init__(config)
        self.y_density = FactorizedDensity(config.latent_channels)

    def forward_latent(self, y: torch.Tensor, rate_position=None) -> dict:
        y_hat, y_likelihoods = self.y_density(y)
        return {"x_hat": self.decode_latent(y_hat, rate_position), "likelihoods": {"y": y_likelihoods}}

    def aux_loss(self) -> torch.Tensor:
        return self.y_density.aux_loss()

    def build_tables(self) -> CodingTables:
        table, medians = factorized_tables(self.y_density)
        return CodingTables(categorical={"y": table}, integers={"y_medians": medians})

    def _encode(self, y: torch.Tensor, encoder: SymbolEncoder) -> None:
        tables = self._require_tables()
        encode_factorized(y, tables.integers["y_medians"], tables.categorical["y"], encoder)

    def _decode(self, decoder: SymbolDecoder, height: int, width: int) -> torch.Tensor:
        tables = self._require_tables()
        shape = (1, self.config.latent_channels, height, width)
        return to_float(decode_factorized(shape, tables.integers["y_medians"], tables.categorical["y"], decoder))
