"""The learned factorized density ("entropy bottleneck") of Ballé et al. 2018, appendix 6.1."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from licodec.entropy.coding_tables import ONE, FactorizedLatentTables
from licodec.entropy.quantize import quantize_around
from licodec.entropy.tables import TAIL_MASS, CategoricalTables

LIKELIHOOD_BOUND = 1e-9


class FactorizedDensity(nn.Module):
    """A flexible, channel-wise density for latents that have no side information.

    The cumulative is a small monotone network per channel; the probability of an
    integer bin is the difference of the cumulative at its two edges. Three learned
    quantiles per channel (tail, median, tail) set the range of the coding table and
    are fitted by :meth:`aux_loss` alone.
    """

    def __init__(self, channels: int, filters: tuple[int, ...] = (3, 3, 3), init_scale: float = 10.0) -> None:
        super().__init__()
        self.channels = channels
        widths = (1, *filters, 1)
        scale = init_scale ** (1.0 / (len(widths) - 1))
        self.matrices = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.factors = nn.ParameterList()
        for i in range(len(widths) - 1):
            init = math.log(math.expm1(1.0 / scale / widths[i + 1]))
            self.matrices.append(nn.Parameter(torch.full((channels, widths[i + 1], widths[i]), init)))
            self.biases.append(nn.Parameter(torch.empty(channels, widths[i + 1], 1).uniform_(-0.5, 0.5)))
            if i < len(widths) - 2:
                self.factors.append(nn.Parameter(torch.zeros(channels, widths[i + 1], 1)))
        self.quantiles = nn.Parameter(torch.tensor([-init_scale, 0.0, init_scale]).repeat(channels, 1, 1))
        target = math.log(2.0 / TAIL_MASS - 1.0)
        self.register_buffer("target", torch.tensor([-target, 0.0, target]), persistent=False)

    @property
    def medians(self) -> torch.Tensor:  # (C,)
        return self.quantiles[:, 0, 1].detach()

    def _logits_cumulative(self, x: torch.Tensor, detach: bool) -> torch.Tensor:  # x: (C, 1, K)
        logits = x
        for i, (matrix, bias) in enumerate(zip(self.matrices, self.biases)):
            if detach:
                matrix, bias = matrix.detach(), bias.detach()
            logits = torch.matmul(F.softplus(matrix), logits) + bias
            if i < len(self.factors):
                factor = self.factors[i].detach() if detach else self.factors[i]
                logits = logits + torch.tanh(factor) * torch.tanh(logits)
        return logits

    def likelihood(self, x: torch.Tensor) -> torch.Tensor:
        """P(bin of width 1 centred on x) per element of ``x`` (N, C, H, W)."""
        n, c, h, w = x.shape
        v = x.permute(1, 0, 2, 3).reshape(c, 1, -1)
        lower = self._logits_cumulative(v - 0.5, detach=False)
        upper = self._logits_cumulative(v + 0.5, detach=False)
        # Evaluate on the side of the median where the sigmoid is far from 1 (precision).
        sign = -torch.sign(lower + upper).detach()
        p = torch.abs(torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower))
        p = torch.clamp(p, min=LIKELIHOOD_BOUND)
        return p.reshape(c, n, h, w).permute(1, 0, 2, 3)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(x_hat, likelihoods)`` for training or rate estimation."""
        center = self.medians.view(1, -1, 1, 1)
        x_noisy, x_hat = quantize_around(x, center, self.training)
        return x_hat, self.likelihood(x_noisy)

    def aux_loss(self) -> torch.Tensor:
        """Fit the three quantiles; gradients reach only ``quantiles``."""
        logits = self._logits_cumulative(self.quantiles, detach=True)
        return torch.abs(logits - self.target).sum()

    @torch.no_grad()
    def coding_tables(self) -> FactorizedLatentTables:
        """The integer tables a coder uses for this density, around its medians rounded onto the fixed-point grid."""
        medians = np.round(self.medians.double().numpy() * ONE).astype(np.int64)
        return FactorizedLatentTables(self.build_tables(medians / ONE), medians)

    def build_tables(self, medians: np.ndarray) -> CategoricalTables:
        """Integer tables of symbol = round(x - median), one per channel, in float64.

        ``medians`` are the exact values the coder adds back (already on the fixed-point grid).
        """
        quantiles = self.quantiles.detach().double()[:, 0, :].numpy()
        pmfs, offsets = [], []
        for c in range(self.channels):
            lo = math.floor(quantiles[c, 0] - medians[c])
            hi = math.ceil(quantiles[c, 2] - medians[c])
            lo, hi = min(lo, -1), max(hi, 1)
            symbols = torch.arange(lo, hi + 1, dtype=torch.float64) + float(medians[c])
            pmfs.append(self._pmf64(c, symbols))
            offsets.append(lo)
        return CategoricalTables.from_pmfs(pmfs, offsets)

    def _pmf64(self, channel: int, values: torch.Tensor) -> np.ndarray:
        def cumulative(v: torch.Tensor) -> torch.Tensor:
            logits = v.view(1, 1, -1)
            for i, (matrix, bias) in enumerate(zip(self.matrices, self.biases)):
                m = F.softplus(matrix[channel : channel + 1].double())
                logits = torch.matmul(m, logits) + bias[channel : channel + 1].double()
                if i < len(self.factors):
                    logits = logits + torch.tanh(self.factors[i][channel : channel + 1].double()) * torch.tanh(logits)
            return logits.view(-1)

        lower, upper = cumulative(values - 0.5), cumulative(values + 0.5)
        sign = -torch.sign(lower + upper)
        return torch.abs(torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower)).numpy()
