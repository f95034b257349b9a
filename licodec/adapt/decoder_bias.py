"""Per-image decoder bias updates: fine-tune the synthesis biases for this image, send them quantised.

After the latents are coded, the encoder knows exactly what the decoder will see
(y_hat). It fits additive updates to the biases of g_s's convolutions (a few
hundred numbers) to lower the distortion of this image, quantises them to
multiples of ``BIAS_STEP`` in int8, and sends them zlib-compressed. They are
kept only if the distortion they save is worth more than their bytes at the
model's lambda (Rozendaal et al. 2021 and Lam et al. 2020 adapt decoders this way).
"""

from __future__ import annotations

import zlib

import numpy as np
import torch
import torch.nn.functional as F

from licodec.errors import CorruptBitstreamError
from licodec.models.base import LearnedCodec

BIAS_STEP = 2.0**-8
"""Quantisation step of a bias update. Part of the format."""
BIAS_LIMIT = 127
DEFAULT_STEPS = 40
LEARNING_RATE = 2e-3


def bias_names(model: LearnedCodec) -> list[str]:
    """The g_s parameters that updates may touch, in a fixed order (part of the format)."""
    return [name for name, p in model.g_s.named_parameters() if name.endswith(".bias") and p.dim() == 1]


def to_updates(model: LearnedCodec, quantised: np.ndarray) -> dict[str, torch.Tensor]:
    """int8 vector -> {bias name: delta tensor} for :meth:`LearnedCodec.decode_latent`."""
    updates, offset = {}, 0
    parameters = dict(model.g_s.named_parameters())
    for name in bias_names(model):
        size = parameters[name].numel()
        updates[name] = torch.from_numpy(quantised[offset : offset + size].astype(np.float32) * BIAS_STEP)
        offset += size
    return updates


def fit_bias_updates(model: LearnedCodec, tiles: list[tuple[torch.Tensor, torch.Tensor, object]], steps: int = DEFAULT_STEPS) -> np.ndarray | None:
    """Quantised updates (int8) for ``tiles`` of (x, y_hat, rate position), or None if they do not pay."""
    names = bias_names(model)
    parameters = dict(model.g_s.named_parameters())
    sizes = [parameters[n].numel() for n in names]
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


def encode_bias_updates(quantised: np.ndarray) -> bytes:
    return zlib.compress(quantised.astype(np.int8).tobytes(), 9)


def decode_bias_updates(model: LearnedCodec, data: bytes) -> dict[str, torch.Tensor]:
    expected = sum(dict(model.g_s.named_parameters())[n].numel() for n in bias_names(model))
    try:
        raw = zlib.decompress(data)
    except zlib.error:
        raise CorruptBitstreamError("decoder-update stream is damaged") from None
    if len(raw) != expected:
        raise CorruptBitstreamError("decoder-update stream does not fit this model")
    return to_updates(model, np.frombuffer(raw, dtype=np.int8))
