"""A lossless model's weights file: its integer networks and tables, nothing else (numpy only).

The decoder needs the integers alone; training resumes from checkpoints, not from these files.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from licodec.errors import LicodecError
from licodec.lossless.codec import LosslessCoder, coder_arrays, coder_from_arrays
from licodec.storage import find_file, foreign_file, load_arrays, save_arrays, weights_hash

KIND = "lossless-msp"
"""The ``kind`` a lossless weights file's metadata records."""


def save_lossless(coder: LosslessCoder, path: Path, name: str, metadata: dict[str, str]) -> str:
    """Write ``coder`` as the weights of model ``name``; returns the weights hash."""
    return save_arrays(Path(path), coder_arrays(coder), {**metadata, "kind": KIND, "name": name})


def load_lossless(path: Path, check_format: bool = True) -> tuple[LosslessCoder, dict[str, str]]:
    """A lossless weights file's coder and metadata; ``check_format=False`` also loads an earlier format's, to grow
    a model from."""
    arrays, metadata = load_arrays(Path(path), "lossless weights")
    with foreign_file(path, "lossless weights"):
        if metadata.get("kind") != KIND or "name" not in metadata:
            raise KeyError(f"not a lossless model (kind {metadata.get('kind')!r})")
        return coder_from_arrays(arrays, check_format), metadata


LOSSLESS_MODEL = "licodec-lossless"
"""The shipped lossless model."""


@dataclass(frozen=True)
class LosslessModel:
    coder: LosslessCoder
    name: str  # what files written with it record
    weights_hash: str


def load_lossless_model(name: str | None = None) -> LosslessModel:
    """The shipped lossless model, or a lossless weights file; loaded once per file version."""
    path = find_file(name or LOSSLESS_MODEL, ".safetensors", "lossless model", "train lossless")
    return _loaded(path.resolve(), path.stat().st_mtime_ns)


@lru_cache(maxsize=4)
def _loaded(path: Path, modified_ns: int) -> LosslessModel:
    coder, metadata = load_lossless(path)
    return LosslessModel(coder, metadata["name"], weights_hash(path))


def lossless_weights_status(model_name: str, hash_hex: str) -> str:
    """Whether a lossless file naming these weights decodes with this installation as it is, for ``licodec info``."""
    try:
        installed = load_lossless_model(model_name).weights_hash == hash_hex
    except LicodecError:
        installed = False
    return "installed" if installed else "not installed: decode with the weights that wrote the file as --model"
