"""A learned pre-filter: edits an image before a standard encoder so it costs fewer bits at equal quality.

The standard decoder is untouched: ``licodec jpeg --prefilter`` writes ordinary
baseline JPEG. The filter is a small residual CNN that sees the compression
strength it is about to meet (read from the encoder's luma quantisation table,
so it follows learned tables too). Training lives in :mod:`licodec.train.prefilter`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from licodec.jpeg_tools.postfilter import strength_of
from licodec.nn.layers import apply_filter, strength_conditioned_filter
from licodec.storage import find_file, foreign_file, load_arrays, save_arrays

DEFAULT_PREFILTER = "prefilter-jpeg-msssim"
PREFILTER_NAMES = {"ms-ssim": DEFAULT_PREFILTER, "perceptual": "prefilter-jpeg-perceptual"}
"""Short names ``licodec jpeg --prefilter NAME`` takes for the shipped pre-filters, by what they were trained for."""


@dataclass(frozen=True)
class PreFilterConfig:
    channels: int = 32
    layers: int = 5


class PreFilter(nn.Module):
    """``x + f(x, strength)`` for RGB in [0, 1]; starts as the identity."""

    def __init__(self, config: PreFilterConfig = PreFilterConfig()) -> None:
        super().__init__()
        self.config = config
        self.residual = strength_conditioned_filter(config.channels, config.layers)

    def forward(self, x: torch.Tensor, strength: torch.Tensor) -> torch.Tensor:
        return apply_filter(self.residual, x, strength)

    @torch.no_grad()
    def apply(self, image: Image.Image, strength: float) -> Image.Image:
        x = torch.from_numpy(np.asarray(image.convert("RGB"), dtype=np.float32) / 255).permute(2, 0, 1)[None]
        y = self(x, torch.tensor([strength]))[0].permute(1, 2, 0).numpy()
        return Image.fromarray(np.clip(np.rint(y * 255), 0, 255).astype(np.uint8), "RGB")

    def apply_for(self, image: Image.Image, encode: Callable[[Image.Image], bytes]) -> Image.Image:
        """:meth:`apply` at the strength ``encode`` (the encoder about to code the result) applies."""
        return self.apply(image, strength_for(encode))


def strength_for(encode: Callable[[Image.Image], bytes]) -> float:
    """The strength an encoder applies, read from the luma table of a tiny probe file it writes.

    Works for plain JPEG at any quality and for learned tables alike; for formats
    without JPEG tables, the middle strength the post-filters also assume.
    """
    return strength_of(encode(Image.new("RGB", (16, 16), (128, 128, 128))))


def save_prefilter(model: PreFilter, path: Path, extra: dict) -> None:
    """Half-precision weights with their config, through :func:`licodec.storage.save_arrays`."""
    state = {k: v.detach().half().numpy() for k, v in model.state_dict().items()}
    save_arrays(path, state, {"config": json.dumps(asdict(model.config)), "extra": json.dumps(extra)})


def prefilter_file(name_or_path: str | None = None) -> Path:
    """The weights file of a shipped pre-filter (the default if no name; a short name of :data:`PREFILTER_NAMES`)
    or a path; must exist."""
    name = name_or_path or DEFAULT_PREFILTER
    if name in PREFILTER_NAMES and not Path(name).is_file():
        name = PREFILTER_NAMES[name]
    return find_file(name, ".safetensors", "pre-filter weights", "train prefilter")


def load_prefilter(name_or_path: str | None = None) -> PreFilter:
    """A shipped pre-filter by name (the default if none) or a weights file by path, ready to apply."""
    path = prefilter_file(name_or_path)
    arrays, metadata = load_arrays(path, "pre-filter")
    with foreign_file(path, "pre-filter"):
        model = PreFilter(PreFilterConfig(**json.loads(metadata["config"])))
        model.load_state_dict({k: torch.from_numpy(v.astype(np.float32)) for k, v in arrays.items()})
    return model.eval()
