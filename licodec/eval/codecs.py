"""Every codec ``licodec eval`` can measure, behind one tiny interface.

``licodec`` is the default learned model, ``licodec:NAME`` another shipped one,
optionally adapted to each image as ``compress`` can (``licodec+optimize[:STEPS]``,
``+adapt-decoder[:STEPS]``); the rest are the conventional codecs of
:mod:`licodec.codecs`, optionally followed by learned tools: ``jpeg+tables``,
``jpeg+tables:NAME+prefilter`` (a tool's ``:NAME`` picks a table set, filter or bank
other than the shipped default), and ``+huffman``: JPEG with Huffman tables fitted
to each image, which changes bytes but no pixel, so what the learned tools gain
can be told apart from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from PIL import Image

from licodec.api import compress_with, decompress, load_model
from licodec.bitstream import FORMAT_VERSION
from licodec.codecs import CODECS
from licodec.errors import CodecUnavailableError, LicodecError
from licodec.jpeg_tools.postfilter import (
    bank_file,
    jpeg_with_signal,
    load_bank,
    postfilter_decode,
)
from licodec.jpeg_tools.prefilter import load_prefilter, prefilter_file
from licodec.jpeg_tools.qtables import load_table_set
from licodec.options import ADAPT_DECODER_STEPS, OPTIMIZE_STEPS, CompressOptions
from licodec.storage import weights_hash

LICODEC_QUALITIES = (1, 12, 25, 40, 55, 70, 85, 100)


@dataclass(frozen=True)
class EvalCodec:
    name: str
    description: str
    version: str  # part of the cache key: a new encoder invalidates old results
    qualities: tuple[int, ...]
    encode: Callable[[Image.Image, int], bytes]
    decode: Callable[[bytes], Image.Image]
    # JPEG family only: encode(image, quality, comment, optimize_huffman), with a comment (COM)
    # segment where post-filter choices travel, and Huffman tables fitted to the image
    encode_jpeg: Callable[[Image.Image, int, bytes | None, bool], bytes] | None = None


def resolve(name: str) -> EvalCodec:
    """An evaluation codec by name; raises :class:`LicodecError` if unknown or unavailable."""
    base, *tools = _tool_parts(name)
    if _is_learned(base):
        return _learned(base, name, _adaptation_steps(tools, name))
    codec, label = _conventional(base), base
    for part in tools:
        tool, _, option = part.partition(":")
        if tool in ADAPTATIONS:
            raise LicodecError(f"+{tool} adapts a licodec model to the image, not {base!r}; try licodec+{tool}")
        label = f"{label}+{part}"
        codec = _TOOLS[tool](codec, label, option or None)
    return codec


ADAPTATIONS = {"optimize": OPTIMIZE_STEPS, "optimize-ocr": OPTIMIZE_STEPS, "adapt-decoder": ADAPT_DECODER_STEPS}
"""Per-image encoder adaptations of a licodec model (``licodec+optimize[:STEPS]``), with the CLI's default steps;
``optimize-ocr`` is ``--optimize STEPS --task ocr``."""
_FLAGS = {"optimize": "--optimize {}", "optimize-ocr": "--optimize {} --task ocr", "adapt-decoder": "--adapt-decoder {}"}


def _adaptation_steps(tools: list[str], name: str) -> dict[str, int]:
    """Steps of each adaptation in ``tools`` (``licodec+optimize:50`` -> ``{"optimize": 50}``)."""
    steps = {}
    for part in tools:
        tool, _, option = part.partition(":")
        if tool not in ADAPTATIONS:
            raise LicodecError(f"+{tool} is for conventional codecs; a licodec model takes {' or '.join(f'+{a}' for a in ADAPTATIONS)} ({name!r})")
        if option and not option.isdigit():
            raise LicodecError(f"+{tool}:STEPS takes a whole number of steps, not {option!r}")
        steps[tool] = int(option) if option else ADAPTATIONS[tool]
    return steps


def _tool_parts(name: str) -> list[str]:
    """``jpeg+tables:a+b.json+prefilter`` -> ``[jpeg, tables:a+b.json, prefilter]``.

    A ``+`` starts a tool only where a known tool's name follows, so a named
    file may hold a ``+`` of its own.
    """
    known = [*_TOOLS, *ADAPTATIONS]
    base, *rest = name.split("+")
    parts = [base]
    for piece in rest:
        tool = piece.partition(":")[0]
        if tool in known:
            parts.append(piece)
        elif ":" in parts[-1]:
            parts[-1] += f"+{piece}"
        else:
            raise LicodecError(f"unknown learned tool {tool!r} in {name!r}; known: {', '.join(known)}")
    return parts


def _conventional(name: str) -> EvalCodec:
    module = CODECS.get(name)
    if module is None:
        raise LicodecError(f"unknown codec {name!r}; known: licodec, licodec:NAME, {', '.join(CODECS)}")
    if not module.is_available():
        raise CodecUnavailableError(name)
    return EvalCodec(
        name=name,
        description=(module.__doc__ or name).strip().splitlines()[0],
        version=module.version(),
        qualities=tuple(module.QUALITIES),
        encode=module.encode,
        decode=module.decode,
        encode_jpeg=module.encode if getattr(module, "JPEG_OPTIONS", False) else None,
    )


def _prefiltered(base: EvalCodec, label: str, filter_name: str | None) -> EvalCodec:
    """``base`` fed through a learned pre-filter (the shipped one unless named); decoded by the unchanged standard decoder."""
    path = prefilter_file(filter_name)
    prefilter = load_prefilter(str(path))

    def filtered(image: Image.Image, quality: int) -> Image.Image:
        return prefilter.apply_for(image, lambda probe: base.encode(probe, quality))

    write = base.encode_jpeg
    return EvalCodec(
        name=label,
        description=f"{base.description}, after the learned pre-filter {path.stem}",
        version=f"{base.version} + {path.stem} {weights_hash(path)}",
        qualities=base.qualities,
        encode=lambda image, quality: base.encode(filtered(image, quality), quality),
        decode=base.decode,
        encode_jpeg=None if write is None else lambda image, quality, *options: write(filtered(image, quality), quality, *options),
    )


def _with_tables(base: EvalCodec, label: str, table_set_name: str | None) -> EvalCodec:
    """JPEG with learned quantisation tables (the shipped default set unless named): ordinary baseline files."""
    if base.name != "jpeg":
        raise LicodecError(f"learned quantisation tables exist for jpeg only, not {base.name!r} (+tables comes right after jpeg)")
    table_set = load_table_set(table_set_name)
    return EvalCodec(
        name=label,
        description=f"{base.description}, learned quantisation tables {table_set.name}",
        version=f"{base.version} + {table_set.name} {table_set.digest}",
        qualities=base.qualities,
        encode=table_set.encode,
        decode=base.decode,
        encode_jpeg=table_set.encode,
    )


def _with_optimized_huffman(base: EvalCodec, label: str, option: str | None) -> EvalCodec:
    """``base`` with libjpeg's Huffman tables fitted to each image: the same pixels in fewer bytes."""
    write = base.encode_jpeg
    if write is None:
        raise LicodecError(f"+huffman fits JPEG's Huffman tables, which {base.name!r} does not let it set (it goes before +postfilter)")
    if option:
        raise LicodecError(f"+huffman takes no name, not {option!r}")

    def fitted(image: Image.Image, quality: int, comment: bytes | None = None, _optimize_huffman: bool = True) -> bytes:
        return write(image, quality, comment, True)  # whatever a later tool asks, the tables are fitted

    return EvalCodec(
        name=label,
        description=f"{base.description}, Huffman tables fitted to the image",
        version=f"{base.version} + optimized Huffman",
        qualities=base.qualities,
        encode=fitted,
        decode=base.decode,
        encode_jpeg=fitted,
    )


def _with_postfilter(base: EvalCodec, label: str, bank_name: str | None) -> EvalCodec:
    """``base`` decoded through a post-filter bank (the shipped one unless named).

    JPEG carries the encoder's per-block choices in its comment; a format that cannot
    carry them is filtered blind (the bank's default member everywhere).
    """
    path = bank_file(bank_name)
    name, bank = load_bank(str(path))
    write = base.encode_jpeg
    if write is None:
        encode, how = base.encode, f"blind: member {bank.default_index} everywhere"
    else:
        encode, how = (
            lambda image, quality: jpeg_with_signal(image, lambda im, comment: write(im, quality, comment, False), name, bank),
            "choices per 64-px block in the comment",
        )
    return EvalCodec(
        name=label,
        description=f"{base.description}, learned post-filter bank {name} ({how})",
        version=f"{base.version} + {name} {weights_hash(path)}",
        qualities=base.qualities,
        encode=encode,
        decode=lambda data: postfilter_decode(data, bank, name),
    )


_TOOLS: dict[str, Callable[[EvalCodec, str, str | None], EvalCodec]] = {
    "prefilter": _prefiltered,
    "tables": _with_tables,
    "postfilter": _with_postfilter,
    "huffman": _with_optimized_huffman,
}


def _is_learned(name: str) -> bool:
    return name == "licodec" or name.startswith("licodec:")


def _learned(base: str, label: str, steps: dict[str, int]) -> EvalCodec:
    """``licodec`` or ``licodec:NAME`` (``base``), optionally with per-image encoder adaptation
    (``steps`` of each of :data:`ADAPTATIONS`, as the CLI's options; same decoder)."""
    model = load_model(base.partition(":")[2] or None)
    if steps.get("optimize") and steps.get("optimize-ocr"):
        raise LicodecError(f"+optimize and +optimize-ocr are two ways to optimise the latent; choose one ({label!r})")
    options = CompressOptions(
        optimize_steps=steps.get("optimize", 0) or steps.get("optimize-ocr", 0),
        task="ocr" if steps.get("optimize-ocr") else None,
        adapt_decoder_steps=steps.get("adapt-decoder", 0),
    )
    adaptation = [_FLAGS[tool].format(steps[tool]) for tool in ADAPTATIONS if steps.get(tool)]
    return EvalCodec(
        name=label,
        description=" ".join([f"licodec model {model.name}", *adaptation]),
        version=" + ".join([f"{model.name} weights {model.weights_hash} format {FORMAT_VERSION}", *adaptation]),
        qualities=LICODEC_QUALITIES,
        encode=lambda image, quality: compress_with(image, replace(options, quality=quality), model)[0],
        decode=lambda data: decompress(data, model=model),  # a weights file the package does not ship decodes too
    )
