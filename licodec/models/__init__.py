"""Learned codecs: transforms composed with entropy models, registered by stable name.

The names below are loaded on first use: ``licodec.models.catalog`` and ``licodec.models.config``
stay importable without PyTorch (``licodec info``, ``licodec models`` and the numpy decoder use them).
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "LearnedCodec": "licodec.models.base",
    "SHIPPED_CONFIG": "licodec.models.config",
    "TINY": "licodec.models.config",
    "CodecConfig": "licodec.models.config",
    "DEFAULT_MODEL": "licodec.models.catalog",
    "SHIPPED": "licodec.models.catalog",
    "ARCHITECTURES": "licodec.models.registry",
    "build_coding_tables": "licodec.models.registry",
    "create_model": "licodec.models.registry",
    "load_model": "licodec.models.registry",
    "load_weights": "licodec.models.registry",
    "save_weights": "licodec.models.registry",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'licodec.models' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
