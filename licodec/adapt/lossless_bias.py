"""Per-image updates to a lossless model's head biases: fit to this image, sent in the file.

The shipped model's densities are an average over its training photographs; a film scan
with grain, a rendered image or a scan of a page each sit a little off it. The encoder
fits additive updates to the biases of the ``head`` network (84 numbers) to the bits of
this image, quantises them as decoder bias updates are quantised (int8 multiples of
``BIAS_STEP``) and the file carries them; :func:`licodec.lossless.files.compress_lossless`
keeps them only where the file comes out smaller. JPEG XL and WebP fit their entropy
codes to each image the same way, in their own terms.
"""

from __future__ import annotations

import numpy as np
import torch

from licodec.coding.decoder_updates import BIAS_LIMIT, BIAS_STEP
from licodec.lossless.codec import LosslessCoder
from licodec.lossless.model import float_model
from licodec.lossless.order import pyramid, schedule, to_grid, to_ycocg

LEARNING_RATE = 1e-3
FIT_SIDE = 512
"""The fit sees at most a FIT_SIDE x FIT_SIDE crop of the image's centre: its time and memory stay bounded."""
FIT_SCALES = 3
"""...and its three finest scales, which hold nearly all the bits (the crop's sides are multiples of 8, so every
entry of those scales is a sample)."""
FIT_PROFILE = "fast"
"""The fit codes in the fastest profile whatever the file's: the updates carry over, at a third of the time."""


class _Shifted(torch.nn.Module):
    """A convolution whose bias moves by a trainable ``delta``."""

    def __init__(self, conv: torch.nn.Conv2d) -> None:
        super().__init__()
        self.conv = conv
        self.delta = torch.nn.Parameter(torch.zeros(conv.out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x) + self.delta[None, :, None, None]


def fit_lossless_bias_updates(coder: LosslessCoder, planes: np.ndarray, steps: int) -> np.ndarray:
    """Quantised updates (int8, in the order of :meth:`LosslessCoder.head_bias_sizes`) to the head's biases that
    lower the bits of ``planes`` (H, W, 1 or 3) uint8."""
    model = float_model(coder).requires_grad_(False)
    model.head = torch.nn.Sequential(*(_Shifted(m) if isinstance(m, torch.nn.Conv2d) else m for m in model.head))
    deltas = [m.delta for m in model.head if isinstance(m, _Shifted)]
    grids = _fit_grids(planes)
    if not grids:
        return np.zeros(sum(coder.head_bias_sizes().values()), dtype=np.int8)
    steps_of_profile = schedule(FIT_PROFILE, planes.shape[2])
    samples = sum(float(model.scale_bits(grid, steps_of_profile)[1]) for grid in grids)
    optimizer = torch.optim.Adam(deltas, lr=LEARNING_RATE)
    for _ in range(steps):
        optimizer.zero_grad(set_to_none=True)
        (sum(model.scale_bits(grid, steps_of_profile)[0] for grid in grids) / samples).backward()
        optimizer.step()
    vector = torch.cat([d.detach() for d in deltas]).numpy()
    return np.clip(np.round(vector / BIAS_STEP), -BIAS_LIMIT, BIAS_LIMIT).astype(np.int8)


def _fit_grids(planes: np.ndarray) -> list[torch.Tensor]:
    """The grids of the finest FIT_SCALES scales of the centre crop the fit sees (empty for an image under 8 x 8)."""
    height, width = (min(side, FIT_SIDE) // 8 * 8 for side in planes.shape[:2])
    top, left = (planes.shape[0] - height) // 2, (planes.shape[1] - width) // 2
    crop = planes[top : top + height, left : left + width].transpose(2, 0, 1)
    if not crop.size:
        return []
    samples = to_ycocg(crop) if crop.shape[0] == 3 else crop.astype(np.int64)
    return [torch.from_numpy(to_grid(scale)).float()[None] for scale in pyramid(samples)[:FIT_SCALES]]
