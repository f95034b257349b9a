"""Every codec ``licodec eval`` can measure, behind one tiny interface.

``licodec`` is the default learned model, ``licodec:NAME`` another shipped one;
the rest are the conventional codecs of :mod:`licodec.conventional`, optionally
followed by learned tools: ``jpeg+tables``, ``jpeg+tables:NAME+prefilter`` (a
tool's ``:NAME`` picks a table set, filter or bank other than the shipped default).
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
    # JPEG family only: encode with a comment (COM) segment, where post-filter choices travel
    encode_with_comment: Callable[[Image.Image, int, bytes | None], bytes] | None = None


def resolve(name: str) -> EvalCodec:
    """An evaluation codec by name; raises :class:`LicodecError` if unknown or unavailable."""
    if name == "licodec" or name.startswith("licodec:"):
        return _learned(name.partition(":")[2] or None, name)
    base, *tools = _tool_parts(name)
    codec, label = _conventional(base), base
    for part in tools:
        tool, _, option = part.partition(":")
        label = f"{label}+{part}"
        codec = _TOOLS[tool](codec, label, option or None)
    return codec


def _tool_parts(name: str) -> list[str]:
    """``jpeg+tables:a+b.json+prefilter`` -> ``[jpeg, tables:a+b.json, prefilter]``.

    A ``+`` starts a tool only where a known tool's name follows, so a named
    file may hold a ``+`` of its own.
    """
    base, *rest = name.split("+")
    parts = [base]
    for piece in rest:
        if piece.partition(":")[0] in _TOOLS:
            parts.append(piece)
        elif len(parts) > 1 and ":" in parts[-1]:
            parts[-1] += f"+{piece}"
        else:
            raise LicodecError(f"unknown learned tool {piece.partition(':')[0]!r} in {name!r}; known: {', '.join(_TOOLS)}")
    return parts


def _conventional(name: str) -> EvalCodec:
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
        encode_with_comment=module.encode if getattr(module, "WRITES_COMMENTS", False) else None,
    )


def _prefiltered(base: EvalCodec, label: str, filter_name: str | None) -> EvalCodec:
    """``base`` fed through a learned pre-filter (the shipped one unless named); decoded by the unchanged standard decoder."""
    from licodec.conventional.prefilter import load_prefilter, prefilter_file
    from licodec.models.registry import weights_hash

    path = prefilter_file(filter_name)
    prefilter = load_prefilter(str(path))

    def encode(image: Image.Image, quality: int) -> bytes:
        return base.encode(prefilter.apply_for(image, lambda probe: base.encode(probe, quality)), quality)

    return EvalCodec(
        name=label,
        description=f"{base.description}, after the learned pre-filter {path.stem}",
        version=f"{base.version} + {path.stem} {weights_hash(path)}",
        qualities=base.qualities,
        encode=encode,
        decode=base.decode,
    )


def _with_tables(base: EvalCodec, label: str, table_set_name: str | None) -> EvalCodec:
    """JPEG with learned quantisation tables (the shipped default set unless named): ordinary baseline files."""
    from licodec.conventional.qtables import load_table_set

    if base.name != "jpeg":
        raise LicodecError(f"learned quantisation tables exist for jpeg only, not {base.name!r}")
    table_set = load_table_set(table_set_name)
    return EvalCodec(
        name=label,
        description=f"{base.description}, learned quantisation tables {table_set.name}",
        version=f"{base.version} + {table_set.name} {table_set.digest}",
        qualities=base.qualities,
        encode=table_set.encode,
        decode=base.decode,
        encode_with_comment=table_set.encode,
    )


def _with_postfilter(base: EvalCodec, label: str, bank_name: str | None) -> EvalCodec:
    """JPEG carrying per-block choices of a post-filter bank (the shipped one unless named), which the decode applies."""
    from licodec.conventional.postfilter import bank_file, jpeg_with_signal, load_bank, postfilter_decode
    from licodec.models.registry import weights_hash

    write = base.encode_with_comment
    if write is None:
        raise LicodecError(f"post-filter choices travel in JPEG comments, which {base.name} cannot carry; try jpeg+postfilter")
    path = bank_file(bank_name)
    name, bank = load_bank(str(path))
    return EvalCodec(
        name=label,
        description=f"{base.description}, learned post-filter bank {name} (choices per 64-px block in the comment)",
        version=f"{base.version} + {name} {weights_hash(path)}",
        qualities=base.qualities,
        encode=lambda image, quality: jpeg_with_signal(image, lambda im, comment: write(im, quality, comment), name, bank),
        decode=lambda data: postfilter_decode(data, bank, name),
    )


_TOOLS: dict[str, Callable[[EvalCodec, str, str | None], EvalCodec]] = {
    "prefilter": _prefiltered,
    "tables": _with_tables,
    "postfilter": _with_postfilter,
}


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
