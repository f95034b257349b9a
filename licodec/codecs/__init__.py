"""Conventional codecs behind one interface, for evaluation and for learned pre/post-processing.

Each codec is one module with ``is_available()``, ``version()``, ``encode(image, quality) -> bytes``
and ``decode(bytes) -> Image``. :data:`CODECS` maps stable names to them.
"""

from __future__ import annotations

from types import ModuleType

from licodec.codecs import avif, heic, jpeg, jpeg444, jpeg2000, jxl, webp

CODECS: dict[str, ModuleType] = {
    "jpeg": jpeg,
    "jpeg444": jpeg444,
    "webp": webp,
    "jpeg2000": jpeg2000,
    "avif": avif,
    "heic": heic,
    "jxl": jxl,
}

__all__ = ["CODECS"]
