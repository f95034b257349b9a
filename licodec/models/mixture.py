"""The checkerboard codec with y coded under a Gaussian-Laplacian-logistic mixture (GLLMM, Fu et al. 2023)."""

from __future__ import annotations

import torch

from licodec.coding.procedures import MixtureCheckerboardProcedure
from licodec.entropy.mixture import mixture_likelihood
from licodec.entropy.mixture_coding import FAMILIES, MixtureLatentTables
from licodec.entropy.quantize import quantize_around, round_ste
from licodec.models.config import CodecConfig
from licodec.models.context import CheckerboardContext
from licodec.models.transforms import entropy_parameters
from licodec.nn.layers import checkerboard_anchor_mask

GROWN_LOGIT = -6.0
"""Logit bias of the components a mixture grown from a Gaussian model adds: they start at 0.25% weight each,
so the grown model codes within a fraction of a percent of the Gaussian one, and Adam moves them from there."""


class MixtureCheckerboard(CheckerboardContext):
    """He et al.'s checkerboard codec whose y has K mixture components per element ("fu2023-gllmm").

    The entropy-parameter networks emit, per latent channel and component, a scale, a
    mean and a weight logit (``3 K M`` channels, in that order, component-major); the
    component families are :attr:`FAMILIES`. Coding is exact
    (:mod:`licodec.entropy.mixture_coding`); y's stream carries no coding mode: the
    image-dependent models of the Gaussian tables do not apply to a mixture.
    """

    FAMILIES = FAMILIES
    procedure = MixtureCheckerboardProcedure

    def __init__(self, config: CodecConfig) -> None:
        super().__init__(config)
        m, k = config.latent_channels, len(self.FAMILIES)
        self.ep_anchor = entropy_parameters(2 * m, 2 * m, 3 * k * m)
        self.ep_nonanchor = entropy_parameters(4 * m, 2 * m, 3 * k * m)

    def _split(self, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(logits, means, scales), each (N, M, K, ...), from an entropy-parameter output (N, 3KM, ...)."""
        k, m = len(self.FAMILIES), self.config.latent_channels
        scales, means, logits = out.reshape(out.shape[0], 3, k, m, *out.shape[2:]).unbind(1)
        return logits.transpose(1, 2), means.transpose(1, 2), scales.transpose(1, 2)

    @staticmethod
    def reference_means(logits: torch.Tensor, means: torch.Tensor) -> torch.Tensor:
        """The mean of each element's heaviest component (the first on a tie), around which y is rounded."""
        return means.gather(2, logits.detach().argmax(2, keepdim=True)).squeeze(2)

    def latent_parameters(self, y: torch.Tensor):
        """(logits, means, scales) of every element of y, each (N, M, K, H, W), and z's likelihoods."""
        z_hat, z_likelihoods = self.z_density(self.h_a(y))
        params = self.h_s(z_hat)
        anchor = checkerboard_anchor_mask(*y.shape[-2:]).to(y.device)
        anchors = self._split(self.ep_anchor(params))
        centre = self.reference_means(*anchors[:2])
        y_hat_anchor = (round_ste(y - centre) + centre) * anchor
        others = self._split(self.ep_nonanchor(torch.cat([params, self.context(y_hat_anchor)], 1)))
        mixture = tuple(torch.where(anchor, a, o) for a, o in zip(anchors, others))
        return mixture, z_likelihoods

    def forward_latent(self, y: torch.Tensor, rate_position=None) -> dict:
        (logits, means, scales), z_likelihoods = self.latent_parameters(y)
        y_noisy, y_hat = quantize_around(y, self.reference_means(logits, means), self.training)
        y_likelihoods = mixture_likelihood(y_noisy, logits, means, scales, self.FAMILIES)
        return {"x_hat": self.decode_latent(y_hat, rate_position), "likelihoods": {"y": y_likelihoods, "z": z_likelihoods}}

    def _build_y_tables(self) -> MixtureLatentTables:
        return MixtureLatentTables.build(self.FAMILIES)

    def grow_from_gaussian(self, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """A Gaussian checkerboard model's entropy-parameter weights as this mixture's: every component starts as
        the Gaussian (its scale and mean rows), the first at logit 0 and the others at :data:`GROWN_LOGIT`."""
        k, m = len(self.FAMILIES), self.config.latent_channels
        grown = dict(state)
        for name in ("ep_anchor", "ep_nonanchor"):
            last = f"{name}.{len(getattr(self, name)) - 1}"
            weight, bias = state[f"{last}.weight"], state[f"{last}.bias"]
            scale_rows, mean_rows = weight[:m], weight[m:]
            logit_bias = torch.full((k, m), GROWN_LOGIT)
            logit_bias[0] = 0.0
            grown[f"{last}.weight"] = torch.cat(
                [scale_rows.repeat(k, 1, 1, 1), mean_rows.repeat(k, 1, 1, 1), torch.zeros_like(scale_rows).repeat(k, 1, 1, 1)]
            )
            grown[f"{last}.bias"] = torch.cat([bias[:m].repeat(k), bias[m:].repeat(k), logit_bias.reshape(-1)])
        return grown
