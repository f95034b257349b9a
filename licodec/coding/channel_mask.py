"""Which of y's channels a tile codes (format version 3): a channel that is zero throughout is flagged, not coded.

A model trained with an L1 penalty on its latent (``licodec train model --l1-weights``) leaves
whole channels of y near zero for a given image, and more of them the lower the rate. The
encoder calls a channel *inactive* when every element rounds to zero (``|y| < 0.5``); its
y_hat is then exactly 0, none of its symbols is coded, and the decoder skips its share of
the work: its entropy parameters, its column of the context model and of the synthesis
transform's first layer.

Syntax, at the head of y in a tile's range-coded stream (after z): one bit, set when some
channel is inactive; if set, one bit per channel, set where the channel is active. Each bit
is uniform (:func:`licodec.entropy.latent_coding.write_flags`): 1 bit a tile for a latent with
every channel active, M + 1 for a mask.
"""

from __future__ import annotations

import numpy as np

from licodec.entropy.coder import SymbolDecoder, SymbolEncoder
from licodec.entropy.latent_coding import read_flags, write_flags

ACTIVE_FROM = 0.5
"""A channel is active when some element of y reaches this magnitude, i.e. does not round to zero.
The training pass (:meth:`licodec.models.hyperprior.HyperpriorCodec.mask_inactive`) applies the same rule."""
MASK_VERSION = 3
"""The first format version whose y carries a channel mask."""


def active_channels(y: np.ndarray) -> np.ndarray:
    """(M,) bool: the channels of y (1, M, h, w) that the encoder codes."""
    return np.abs(y).max(axis=(0, 2, 3), initial=0.0) >= ACTIVE_FROM


def write_channel_mask(encoder: SymbolEncoder, active: np.ndarray) -> None:
    partial = not active.all()
    write_flags(encoder, np.array([partial]))
    if partial:
        write_flags(encoder, active)


def read_channel_mask(decoder: SymbolDecoder, channels: int) -> np.ndarray:
    if not read_flags(decoder, 1)[0]:
        return np.ones(channels, dtype=bool)
    return read_flags(decoder, channels)
