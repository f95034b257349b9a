"""Generalized divisive normalization (Ballé, Laparra, Simoncelli 2016)."""

from __future__ import annotations

import torch
from torch import nn


class _NonNegative(nn.Module):
    """Reparametrise a non-negative parameter as the square of a bounded variable.

    Keeps gradients alive near zero (Ballé 2018, "Efficient nonlinear transforms").
    """

    PEDESTAL = 2.0**-36

    def __init__(self, minimum: float = 0.0) -> None:
        super().__init__()
        self.bound = (minimum + self.PEDESTAL) ** 0.5

    def init(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sqrt(torch.clamp(x + self.PEDESTAL, min=self.PEDESTAL))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(x, min=self.bound) ** 2 - self.PEDESTAL


class GDN(nn.Module):
    """y_i = x_i / sqrt(beta_i + sum_j gamma_ij x_j^2); ``inverse=True`` multiplies instead (IGDN)."""

    def __init__(self, channels: int, inverse: bool = False, beta_min: float = 1e-6, gamma_init: float = 0.1) -> None:
        super().__init__()
        self.inverse = inverse
        self._beta = _NonNegative(beta_min)
        self._gamma = _NonNegative()
        self.beta = nn.Parameter(self._beta.init(torch.ones(channels)))
        self.gamma = nn.Parameter(self._gamma.init(gamma_init * torch.eye(channels)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, H, W), either memory layout
        n, c, h, w = x.shape
        gamma, beta = self._gamma(self.gamma), self._beta(self.beta)
        # A matrix product rather than a 1x1 conv2d: oneDNN's 1x1 convolution changes
        # its summation order with the thread count, which would make decoded pixels
        # depend on it; the GEMM does not (tests/test_api.py checks this).
        if _is_channels_last(x):  # pixels are rows of C values: (N, HW, C) @ gamma^T, no copy
            if not (torch.is_grad_enabled() and (x.requires_grad or gamma.requires_grad)):
                return self._normalize_in_blocks(x, gamma, beta)
            pixels = x.permute(0, 2, 3, 1).reshape(n, h * w, c)
            norm = torch.matmul(pixels * pixels, gamma.t()).view(n, h, w, c).permute(0, 3, 1, 2)
        else:
            norm = torch.matmul(gamma, (x * x).reshape(n, c, h * w)).view(n, c, h, w)
        norm = torch.sqrt(norm + beta.view(1, c, 1, 1))
        return x * norm if self.inverse else x / norm

    BLOCK_PIXELS = 4096
    """Pixels per block at inference: a block's temporaries stay in cache."""

    def _normalize_in_blocks(self, x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        """Inference on a channels-last ``x``, one block of pixels at a time.

        Whole-tensor steps (square, product, add, sqrt, multiply) each stream the
        activation through memory, and IGDN at half resolution was memory-bound;
        in blocks the temporaries are reused while in cache, and the only fresh
        full-size tensor is the result.
        """
        n, c, h, w = x.shape
        pixels = x.permute(0, 2, 3, 1).reshape(n * h * w, c)
        out = torch.empty_like(pixels)
        block = min(self.BLOCK_PIXELS, pixels.shape[0])
        squares = pixels.new_empty(block, c)
        gamma_t = gamma.t().contiguous()
        for start in range(0, pixels.shape[0], block):
            rows, result = pixels[start : start + block], out[start : start + block]
            square = squares[: rows.shape[0]]
            torch.mul(rows, rows, out=square)
            torch.addmm(beta, square, gamma_t, out=result).sqrt_()
            if self.inverse:
                result.mul_(rows)
            else:
                torch.div(rows, result, out=result)
        return out.view(n, h, w, c).permute(0, 3, 1, 2)


def _is_channels_last(x: torch.Tensor) -> bool:
    return x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
