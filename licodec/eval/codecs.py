"""Every codec ``licodec eval`` can measure, behind one tiny interface.

``licodec`` is the default learned model, ``licodec:NAME`` another shipped one;
the rest are the conventional codecs of :mod:`licodec.conventional`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from PIL import Image

from licodec.conventional import CODECS
from licodec.errors import LicodecError

LICODEC_QUALITIES = (1, 12, 25, 40, 55, 70, 85, 100)


@dataclass(frozen=True)
class EvalCodec:
    name: str
    description: str
    version: str  # part of the cache key: a new encoder invalidates old results
    qualities: tuple[int, ...]
    encode: Callable[[Image.Image, int], bytes]
    decode: Callable[[bytes], Image.Image]


def resolve(name: str) -> EvalCodec:
    """An evaluation codec by name; raises :class:`LicodecError` if unknown or unavailable."""
    if name == "licodec" or name.startswith("licodec:"):
        return _learned(name.partition(":")[2] or None, name)
    if name.endswith("+prefilter"):
        return _prefiltered(resolve(name[: -len("+prefilter")]), name)
    module = CODECS.get(name)
    if module is None:
        raise LicodecError(f"unknown codec {name!r}; known: licodec, licodec:NAME, {', '.join(CODECS)}")
    if not module.is_available():
        raise LicodecError(f"codec {name!r} is not available on this machine")
    return EvalCodec(
        name=name,
        description=(module.__doc__ or name).strip().splitlines()[0],
        version=module.version(),
        qualities=tuple(module.QUALITIES),
        encode=module.encode,
        decode=module.decode,
    )


def _prefiltered(base: EvalCodec, label: str) -> EvalCodec:
    """``base`` fed through the shipped learned pre-filter; decoded by the unchanged standard decoder."""
    from licodec.conventional.prefilter import DEFAULT_PREFILTER, WEIGHTS_DIR, load_prefilter
    from licodec.models.registry import weights_hash

    prefilter = load_prefilter()
    digest = weights_hash(WEIGHTS_DIR / f"{DEFAULT_PREFILTER}.safetensors")
    return EvalCodec(
        name=label,
        description=f"{base.description}, after the learned pre-filter {DEFAULT_PREFILTER}",
        version=f"{base.version} + {DEFAULT_PREFILTER} {digest}",
        qualities=base.qualities,
        encode=lambda image, quality: base.encode(prefilter.apply(image), quality),
        decode=base.decode,
    )


def _learned(model_name: str | None, label: str) -> EvalCodec:
    import licodec

    model = licodec.load_model(model_name)
    return EvalCodec(
        name=label,
        description=f"licodec model {model.name}",
        version=f"{model.name} weights {model.weights_hash}",
        qualities=LICODEC_QUALITIES,
        encode=lambda image, quality: licodec.compress(image, quality=quality, model=model),
        decode=lambda data: licodec.decompress(data),
    )
