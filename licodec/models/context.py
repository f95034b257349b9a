"""Mean-scale hyperprior with a spatial context: checkerboard (parallel) and serial autoregressive."""

from __future__ import annotations

import torch
from torch import nn

from licodec.coding.procedures import AutoregressiveProcedure, CheckerboardProcedure
from licodec.entropy.coding_tables import CodingTables
from licodec.entropy.quantize import round_ste
from licodec.models.config import CodecConfig
from licodec.models.hyperprior import HyperpriorCodec
from licodec.models.transforms import asymmetric_analysis, asymmetric_synthesis, entropy_parameters, hyper_synthesis
from licodec.nn.layers import CheckerboardMaskedConv2d, MaskedConv2d, checkerboard_anchor_mask


class CheckerboardContext(HyperpriorCodec):
    """He et al. 2021, "Checkerboard context model for efficient learned image compression".

    ::

        z_hat -> h_s -> params --------------------> ep_anchor -> (scales, means) of anchors
                           \\                                        |
                            \\   y_hat(anchors) -> context (5x5) --+
                             +-----------------------------------> ep_nonanchor -> (scales, means) of the rest

    Two parallel passes instead of one per latent position; separate parameter
    networks for the two halves. Everything on the probability path runs in exact
    integers at coding time (:class:`licodec.coding.procedures.CheckerboardProcedure`).
    """

    procedure = CheckerboardProcedure

    def __init__(self, config: CodecConfig) -> None:
        super().__init__(config)
        m = config.latent_channels
        self.h_s = hyper_synthesis(config.hyper_channels, 2 * m, hidden=config.hyper_channels * 3 // 2)
        self.context = CheckerboardMaskedConv2d(m, 2 * m, 5, padding=2)
        self.ep_anchor = entropy_parameters(2 * m, 2 * m, 2 * m)
        self.ep_nonanchor = entropy_parameters(4 * m, 2 * m, 2 * m)

    def latent_parameters(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(scales, means) of every element of y, and z's likelihoods, as the training pass models them."""
        z_hat, z_likelihoods = self.z_density(self.h_a(y))
        params = self.h_s(z_hat)
        anchor = checkerboard_anchor_mask(*y.shape[-2:]).to(y.device)
        scales_a, means_a = self.ep_anchor(params).chunk(2, 1)
        y_hat_anchor = (round_ste(y - means_a) + means_a) * anchor
        active = self.channel_activity(y)
        if active is not None:
            y_hat_anchor = y_hat_anchor * active
        ctx = self.context(y_hat_anchor)
        scales_n, means_n = self.ep_nonanchor(torch.cat([params, ctx], 1)).chunk(2, 1)
        return torch.where(anchor, scales_a, scales_n), torch.where(anchor, means_a, means_n), z_likelihoods

    def forward_latent(self, y: torch.Tensor, rate_position=None) -> dict:
        scales, means, z_likelihoods = self.latent_parameters(y)
        y_hat, y_likelihoods = self.mask_inactive(y, *self.gaussian(y, scales, means))
        x_hat = self.decode_latent(y_hat, rate_position)
        return {"x_hat": x_hat, "likelihoods": {"y": y_likelihoods, "z": z_likelihoods}}

    def latent_layout(self) -> dict[str, dict]:
        """Added channels of y are zero (g_a's last layer), predicted as always 0 at the smallest scale (the entropy
        parameters' outputs, scales then means), and read with zero weights everywhere (the default)."""
        if type(self) is not CheckerboardContext:  # subclasses add modules on y's channels
            return {}
        last = {net: f"{net}.{len(getattr(self, net)) - 1}" for net in ("g_a", "ep_anchor", "ep_nonanchor")}
        return {
            last["g_a"]: {"zero_added_outputs": True},
            "ep_nonanchor.0": {"in_groups": 2},  # the hyperprior's features, then the context's
            last["ep_anchor"]: {"out_groups": 2, "zero_added_outputs": True},
            last["ep_nonanchor"]: {"out_groups": 2, "zero_added_outputs": True},
        }

    def build_tables(self) -> CodingTables:
        context = nn.Sequential(self.context)
        return self._hyper_tables(h_s=self.h_s, context=context, ep_anchor=self.ep_anchor, ep_nonanchor=self.ep_nonanchor)


class AutoregressiveContext(HyperpriorCodec):
    """Minnen et al. 2018 ("mbt2018"): a causal 5x5 context, decoded one latent position at a time.

    Kept for comparison only: its decoder runs h*w sequential steps, which is what
    the checkerboard context was invented to avoid.
    """

    procedure = AutoregressiveProcedure

    def __init__(self, config: CodecConfig) -> None:
        super().__init__(config)
        m = config.latent_channels
        self.h_s = hyper_synthesis(config.hyper_channels, 2 * m, hidden=config.hyper_channels * 3 // 2)
        self.context = MaskedConv2d(m, 2 * m, 5, padding=2, mask_type="A")
        self.entropy_parameters = entropy_parameters(4 * m, 2 * m, 2 * m)

    def forward_latent(self, y: torch.Tensor, rate_position=None) -> dict:
        z_hat, z_likelihoods = self.z_density(self.h_a(y))
        params = self.h_s(z_hat)
        # Training sees the true causal context in one parallel pass: with mixed
        # quantisation y_hat depends on the means, so use y rounded alone for the context.
        ctx = self.context(round_ste(y))
        scales, means = self.entropy_parameters(torch.cat([params, ctx], 1)).chunk(2, 1)
        y_hat, y_likelihoods = self.gaussian(y, scales, means)
        x_hat = self.decode_latent(y_hat, rate_position)
        return {"x_hat": x_hat, "likelihoods": {"y": y_likelihoods, "z": z_likelihoods}}

    def build_tables(self) -> CodingTables:
        return self._hyper_tables(h_s=self.h_s, context=nn.Sequential(self.context), entropy_parameters=self.entropy_parameters)


class AsymmetricCheckerboard(CheckerboardContext):
    """The checkerboard codec with the asymmetric transforms of Fu et al. 2023 ("fu2023-asymmetric").

    Multi-scale residual blocks in three stages of the encoder and one of the decoder,
    an importance map scaling y before quantisation, and a post-quantisation filter
    before synthesis (:mod:`licodec.nn.blocks`). The entropy model, the coding tables and
    the file format are the checkerboard's, so files code and decode exactly as theirs do.
    """

    @staticmethod
    def analysis(config: CodecConfig) -> nn.Sequential:
        return asymmetric_analysis(config.channels, config.latent_channels)

    @staticmethod
    def synthesis(config: CodecConfig) -> nn.Sequential:
        return asymmetric_synthesis(config.latent_channels, config.decoder_widths)
