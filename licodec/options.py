"""What ``compress`` takes besides the image and the model: one object for the Python API, the CLI and evaluation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

OPTIMIZE_STEPS = 100
"""Steps of per-image latent optimisation when asked for without a number (``--optimize``)."""
ADAPT_DECODER_STEPS = 40
"""Steps of fitting decoder bias updates when asked for without a number (``--adapt-decoder``)."""
TASKS = ("ocr",)
"""Machines ``--optimize --task`` can code for."""


@dataclass(frozen=True)
class CompressOptions:
    """How to compress one image. The defaults are ``licodec compress``'s.

    Every field changes the bits, never the decoder: any file decodes with plain
    ``licodec.decompress``.
    """

    quality: float = 75.0
    """1 to 100 in steps of 0.01, higher is more bits and better fidelity, like JPEG's."""
    target_bytes: int | None = None
    """Instead of ``quality``: the highest quality whose file fits in this many bytes (bisection, about 14 encodes)."""
    roi: Any = None
    """A mask image of the same size (path, bytes, PIL image or array): nonzero pixels get more bits (:mod:`licodec.adapt.roi`)."""
    roi_quality: float | None = None
    """Quality inside ``roi``; default 25 above ``quality``, at most 100."""
    optimize_steps: int = 0
    """Refine each tile's latent for this image first, this many steps (:mod:`licodec.adapt.latent`): slower, smaller."""
    task: str | None = None
    """With ``optimize_steps``: the machine the latent is optimised for too (``"ocr"``; :mod:`licodec.machines`)."""
    adapt_decoder_steps: int = 0
    """Fit per-image decoder bias updates, this many steps, and send them when they pay (:mod:`licodec.adapt.decoder_bias`)."""
    local_models: bool = True
    """Allow image-dependent entropy models (:mod:`licodec.entropy.latent_coding`); False: a little faster, rarely smaller."""
    lossless: bool = False
    """Code the pixels exactly (:mod:`licodec.lossless`) with a lossless model; ``quality`` and the adaptations do not apply."""
    lossless_profile: str = "default"
    """With ``lossless``: ``fast``, ``default`` or ``max``, fewer or more coding steps per scale (:mod:`licodec.lossless.order`)."""
