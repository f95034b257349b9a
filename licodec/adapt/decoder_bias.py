"""Per-image decoder bias updates: fine-tune the synthesis biases for this image, send them quantised.

After the latents are coded, the encoder knows exactly what the decoder will see
(y_hat). It fits additive updates to the biases of g_s's convolutions (a few
hundred numbers) to lower the distortion of this image, quantises them to
multiples of ``BIAS_STEP`` in int8, and sends them zlib-compressed. They are
kept only if the distortion they save is worth more than their bytes at the
model's lambda (Rozendaal et al. 2021 and Lam et al. 2020 adapt decoders this way).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from licodec.coding.decoder_updates import BIAS_LIMIT, BIAS_STEP, encode_bias_updates
from licodec.coding.decoder_updates import to_updates as _to_updates
from licodec.models.base import LearnedCodec
from licodec.options import ADAPT_DECODER_STEPS

LEARNING_RATE = 2e-3


def to_updates(model: LearnedCodec, quantised: np.ndarray) -> dict[str, torch.Tensor]:
    """int8 vector -> {bias name: delta tensor} for :meth:`LearnedCodec.decode_latent`."""
    return {name: torch.from_numpy(delta) for name, delta in _to_updates(model.bias_sizes(), quantised).items()}


def fit_bias_updates(
    model: LearnedCodec, tiles: list[tuple[torch.Tensor, torch.Tensor, object]], steps: int = ADAPT_DECODER_STEPS
) -> np.ndarray | None:
    """Quantised updates (int8) for ``tiles`` of (x, y_hat, rate position), or None if they do not pay."""
    sizes = model.bias_sizes()
    names, sizes = list(sizes), list(sizes.values())
    delta = torch.zeros(sum(sizes), requires_grad=True)
    optimizer = torch.optim.Adam([delta], lr=LEARNING_RATE)

    def updates_from(vector: torch.Tensor) -> dict[str, torch.Tensor]:
        return dict(zip(names, torch.split(vector, sizes)))

    def distortion(updates) -> torch.Tensor:
        return sum(F.mse_loss(model.decode_latent(y_hat, pos, updates), x, reduction="sum") for x, y_hat, pos in tiles)

    for _ in range(steps):
        optimizer.zero_grad(set_to_none=True)
        distortion(updates_from(delta)).backward()
        optimizer.step()
    quantised = np.clip(np.round(delta.detach().numpy() / BIAS_STEP), -BIAS_LIMIT, BIAS_LIMIT).astype(np.int8)
    with torch.no_grad():
        saved = float(distortion({})) - float(distortion(to_updates(model, quantised)))
    positions = [pos for _, _, pos in tiles]
    lam = float(torch.as_tensor(model.lagrange_multiplier(positions[0])).mean())
    cost_bits = 8 * len(encode_bias_updates(quantised))
    # The training loss weighs lambda * 255^2 * (per-pixel MSE) against bits per pixel,
    # i.e. lambda * 255^2 * (sum of squared errors / channels) against total bits.
    if lam * 255.0**2 * saved / 3.0 <= cost_bits:
        return None
    return quantised
