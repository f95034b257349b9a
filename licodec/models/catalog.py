"""The trained models shipped with licodec and the weights it retired: names, files, hashes. No PyTorch.

Names and weights hashes are stored in every .lic file, so renaming a model is a format change.
``licodec info`` and ``licodec models`` read this, and both decoders resolve a model name here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from licodec.errors import UnknownModelError
from licodec.storage import WEIGHTS_DIR, shipped_file, weights_hash


@dataclass(frozen=True)
class ShippedModel:
    name: str
    description: str

    @property
    def weights_path(self) -> Path:
        return shipped_file(self.name, ".safetensors")


SHIPPED: dict[str, ShippedModel] = {
    "licodec-mse": ShippedModel("licodec-mse", "mean-scale hyperprior + checkerboard context, variable rate, MSE-optimised"),
    "licodec-ms-ssim": ShippedModel(
        "licodec-ms-ssim", "licodec-mse fine-tuned for MS-SSIM: same architecture and speed, fewer bits at equal MS-SSIM"
    ),
    "licodec-perceptual": ShippedModel(
        "licodec-perceptual", "licodec-mse's encoder and rates, its decoder fine-tuned for MS-SSIM + LPIPS: texture kept, PSNR given up"
    ),
}
DEFAULT_MODEL = "licodec-mse"

ARCHITECTURE_NAMES = (
    "bmshj2018-factorized",
    "bmshj2018-hyperprior",
    "mbt2018-mean",
    "mbt2018",
    "he2021-checkerboard",
    "fu2023-asymmetric",
    "fu2023-gllmm",
)
"""The registered architectures (:data:`licodec.models.registry.ARCHITECTURES` maps each to its class)."""


def weights_path(name: str | None) -> Path:
    """The weights file a model name stands for: a shipped model (default: the default model) or a path
    ending in ``.safetensors``. A missing file or an unknown name is an :class:`UnknownModelError`."""
    name = name or DEFAULT_MODEL
    if name.endswith(".safetensors"):
        path = Path(name).expanduser().resolve()
        if not path.is_file():
            raise UnknownModelError(f"{name}: no such weights file")
        return path
    shipped = SHIPPED.get(name)
    if shipped is None:
        if name in ARCHITECTURE_NAMES:
            raise UnknownModelError(f"{name!r} is an architecture with no trained weights shipped; use one of: {', '.join(SHIPPED)}")
        raise UnknownModelError(f"unknown model {name!r}; available: {', '.join(SHIPPED)}, or a .safetensors weights file")
    if not shipped.weights_path.exists():
        raise UnknownModelError(f"weights for {name!r} are missing from this installation ({shipped.weights_path})")
    return shipped.weights_path


def weights_status(model_name: str, hash_hex: str) -> str:
    """Whether a file naming these weights decodes with this installation as it is, for ``licodec info``."""
    shipped = SHIPPED.get(model_name)
    if shipped is not None and shipped.weights_path.exists() and weights_hash(shipped.weights_path) == hash_hex:
        return "installed"
    retired = retired_weights(hash_hex)
    if retired is not None:
        return f"retired: {retired_origin(retired)}; decode with those weights as --model"
    return "not shipped: decode with the weights that wrote the file as --model"


@lru_cache(maxsize=1)
def retired_table() -> dict[str, dict[str, str]]:
    """Every weights hash licodec shipped once but no longer does, to ``{"model", "commit", "date", "version"}``.

    Files written with those weights name their hash; ``licodec/weights/retired.json`` maps it to
    the commit that shipped them, so a user can fetch those weights and decode with ``--model FILE``.
    Read once per process (the file ships with the package); treat the result as read-only.
    """
    return json.loads((WEIGHTS_DIR / "retired.json").read_text())


def retired_weights(hash_hex: str) -> dict[str, str] | None:
    """Where retired weights of this hash came from (:func:`retired_table`), or None."""
    return retired_table().get(hash_hex)


def retired_origin(retired: dict[str, str]) -> str:
    """Where a user finds retired weights (an entry of :func:`retired_table`), in the words every message uses."""
    return f"shipped at commit {retired['commit']} (licodec {retired['version']}, {retired['date']})"
