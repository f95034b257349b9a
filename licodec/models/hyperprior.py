"""Scale hyperprior (Ballé et al. 2018) and mean-scale hyperprior (Minnen et al. 2018, no context)."""

from __future__ import annotations

import torch
from torch import nn

from licodec.coding.channel_mask import ACTIVE_FROM
from licodec.coding.procedures import HyperpriorProcedure, ScaleHyperpriorProcedure
from licodec.entropy.coding_tables import CodingTables, GaussianLatentTables, LatentTables
from licodec.entropy.factorized import FactorizedDensity
from licodec.entropy.gaussian import GaussianConditional
from licodec.models.base import LearnedCodec, compile_networks
from licodec.models.config import CodecConfig
from licodec.models.transforms import hyper_analysis, hyper_synthesis


class HyperpriorCodec(LearnedCodec):
    """Shared z path: y -> h_a -> z -> [factorized density] -> z_hat -> h_s -> entropy parameters."""

    procedure = HyperpriorProcedure

    def __init__(self, config: CodecConfig) -> None:
        super().__init__(config)
        self.h_a = hyper_analysis(config.latent_channels, config.hyper_channels)
        self.z_density = FactorizedDensity(config.hyper_channels)
        self.gaussian = GaussianConditional()

    def hyper_input(self, y: torch.Tensor) -> torch.Tensor:
        return y

    def side_latent(self, y: torch.Tensor) -> torch.Tensor:
        return self.h_a(self.hyper_input(y))

    def channel_activity(self, y: torch.Tensor) -> torch.Tensor | None:
        """(N, M, 1, 1) bool: the channels of y the coder codes (:mod:`licodec.coding.channel_mask`); None where the
        model codes every channel."""
        if not self.config.channel_mask:
            return None
        return y.detach().abs().amax(dim=(2, 3), keepdim=True) >= ACTIVE_FROM

    def mask_inactive(self, y: torch.Tensor, y_hat: torch.Tensor, likelihoods: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(y_hat, likelihoods) as coded: an inactive channel decodes to 0 and costs no bits.

        The gradient of y_hat still reaches y in an inactive channel (straight through), so that a channel
        the distortion needs can come back: without it, a channel once turned off would stay off.
        """
        active = self.channel_activity(y)
        if active is None:
            return y_hat, likelihoods
        return torch.where(active, y_hat, y_hat - y_hat.detach()), torch.where(active, likelihoods, torch.ones_like(likelihoods))

    def aux_loss(self) -> torch.Tensor:
        return self.z_density.aux_loss()

    def build_tables(self) -> CodingTables:
        """z tables, the Gaussian tables, and h_s in integers; context models add their networks."""
        return self._hyper_tables(h_s=self.h_s)

    def _hyper_tables(self, **networks: nn.Sequential) -> CodingTables:
        return CodingTables(y=self._build_y_tables(), z=self.z_density.coding_tables(), networks=compile_networks(**networks))

    def _build_y_tables(self) -> LatentTables:
        """y's tables: the Gaussian scale grid; a model with another density for y overrides this."""
        return GaussianLatentTables.build()


class ScaleHyperprior(HyperpriorCodec):
    """Ballé et al. 2018 ("bmshj2018-hyperprior"): zero-mean Gaussian whose scales come from z."""

    procedure = ScaleHyperpriorProcedure

    def __init__(self, config: CodecConfig) -> None:
        super().__init__(config)
        self.h_s = hyper_synthesis(config.hyper_channels, config.latent_channels, final_relu=True)

    def hyper_input(self, y: torch.Tensor) -> torch.Tensor:
        return torch.abs(y)

    def forward_latent(self, y: torch.Tensor, rate_position=None) -> dict:
        z_hat, z_likelihoods = self.z_density(self.h_a(self.hyper_input(y)))
        y_hat, y_likelihoods = self.mask_inactive(y, *self.gaussian(y, self.h_s(z_hat)))
        x_hat = self.decode_latent(y_hat, rate_position)
        return {"x_hat": x_hat, "likelihoods": {"y": y_likelihoods, "z": z_likelihoods}}


class MeanScaleHyperprior(HyperpriorCodec):
    """Minnen et al. 2018 without context ("mbt2018-mean"): z predicts both means and scales."""

    def __init__(self, config: CodecConfig) -> None:
        super().__init__(config)
        m = config.latent_channels
        self.h_s = hyper_synthesis(config.hyper_channels, 2 * m, hidden=config.hyper_channels * 3 // 2)

    def forward_latent(self, y: torch.Tensor, rate_position=None) -> dict:
        z_hat, z_likelihoods = self.z_density(self.h_a(y))
        scales, means = self.h_s(z_hat).chunk(2, 1)
        y_hat, y_likelihoods = self.mask_inactive(y, *self.gaussian(y, scales, means))
        x_hat = self.decode_latent(y_hat, rate_position)
        return {"x_hat": x_hat, "likelihoods": {"y": y_likelihoods, "z": z_likelihoods}}
