"""Factorized prior (Ballé et al. 2018, "bmshj2018-factorized")."""

from __future__ import annotations

import torch

from licodec.coding.procedures import FactorizedProcedure
from licodec.entropy.coding_tables import CodingTables
from licodec.entropy.factorized import FactorizedDensity
from licodec.models.base import LearnedCodec
from licodec.models.config import CodecConfig


class FactorizedPrior(LearnedCodec):
    """x -> g_a -> y -> [factorized density] -> y_hat -> g_s -> x_hat. No side information."""

    procedure = FactorizedProcedure

    def __init__(self, config: CodecConfig) -> None:
        super().__init__(config)
        self.y_density = FactorizedDensity(config.latent_channels)

    def forward_latent(self, y: torch.Tensor, rate_position=None) -> dict:
        y_hat, y_likelihoods = self.y_density(y)
        return {"x_hat": self.decode_latent(y_hat, rate_position), "likelihoods": {"y": y_likelihoods}}

    def aux_loss(self) -> torch.Tensor:
        return self.y_density.aux_loss()

    def build_tables(self) -> CodingTables:
        return CodingTables(y=self.y_density.coding_tables())
