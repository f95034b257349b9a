"""Neural-network layers: no rate, table or file logic lives here."""

from licodec.nn.gdn import GDN
from licodec.nn.layers import (
    CheckerboardMaskedConv2d,
    MaskedConv2d,
    SubpixelTransposedConv2d,
    checkerboard_anchor_mask,
    conv,
    deconv,
)

__all__ = [
    "GDN",
    "CheckerboardMaskedConv2d",
    "MaskedConv2d",
    "SubpixelTransposedConv2d",
    "checkerboard_anchor_mask",
    "conv",
    "deconv",
]
