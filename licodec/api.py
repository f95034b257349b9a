"""The Python API: ``compress(image) -> bytes`` and ``decompress(bytes) -> Image``.

::

    image -> prepare (8-bit RGB, alpha apart) -> tiles -> pad -> model.compress -> streams --+
    header (model, weights hash, quality, size, mode) ------------------------------------> LicFile.to_bytes

    bytes -> LicFile.from_bytes (checksum, stream roles) -> decoder.decompress per tile -> crop -> finish (mode, alpha)

Decoding imports no PyTorch: it runs :class:`licodec.decoder.Decoder` (numpy), or the PyTorch
model when the process has already imported torch (its synthesis is faster there) or the
file's architecture needs it. Compressing imports torch on first use.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

import numpy as np
from PIL import Image

from licodec.adapt.roi import decode_roi, encode_roi, roi_map, tile_rate_map
from licodec.bitstream import FLAG_DECODER_UPDATES, FORMAT_VERSION, Header, LicFile, tile_grid, tile_side
from licodec.coding.decoder_updates import decode_bias_updates, encode_bias_updates
from licodec.decoder import Decoder, NeedsTorchError, load_decoder
from licodec.errors import ImageTooLargeError, LicodecError, TargetUnreachableError, WeightsMismatchError
from licodec.image import decode_alpha, encode_alpha, finish, open_image, prepare
from licodec.lossless.files import compress_lossless, decompress_lossless, lossless_planes
from licodec.lossless.weights import load_lossless_model
from licodec.models.catalog import SHIPPED, retired_origin, retired_weights
from licodec.options import TASKS, CompressOptions

if TYPE_CHECKING:
    import torch

    from licodec.models.base import LearnedCodec

NEEDS_TORCH = "this needs PyTorch, which is not installed: pip install 'licodec[torch]'"

Progress = Callable[[int, float], None]
"""``progress(step, cost)``, called at each step of latent optimisation."""


def load_model(name: str | None = None) -> LearnedCodec:
    """A model ready to code: a shipped one by registry name (``None``: the default), or a ``.safetensors`` weights file."""
    return _torch_registry().load_model(name)


def _torch_registry():
    """:mod:`licodec.models.registry`, whose models are PyTorch modules; a one-line error where torch is missing."""
    try:
        from licodec.models import registry
    except ImportError as exc:
        if exc.name != "torch":
            raise
        raise LicodecError(NEEDS_TORCH) from None
    return registry


def compress(image, quality: float = 75, model: str | LearnedCodec | None = None, *, progress: Progress | None = None, **options) -> bytes:
    """Compress an image (path, bytes, PIL image or uint8 array) to the bytes of a .lic file.

    ``quality`` runs from 1 to 100 (higher: more bits, better fidelity), like JPEG's.
    ``options`` are the other fields of :class:`~licodec.options.CompressOptions`:
    ``roi``, ``roi_quality``, ``optimize_steps`` (with ``task="ocr"``: for a machine too), ``adapt_decoder_steps``, ``local_models``,
    ``target_bytes``, and ``lossless`` with ``lossless_profile`` (``model`` then names a lossless model).
    """
    return compress_with(image, CompressOptions(quality=quality, **options), model, progress)[0]


def compress_to_size(image, max_bytes: int, model: str | LearnedCodec | None = None, **options) -> tuple[bytes, float]:
    """The highest-quality file of at most ``max_bytes`` bytes, and the quality that made it.

    With a region of interest, the search sets the quality outside it; ``roi_quality``
    stays as given (default: 25 above the searched quality). Raises
    :class:`TargetUnreachableError` if even quality 1 is too large.
    """
    return compress_with(image, CompressOptions(target_bytes=max_bytes, **options), model)


def compress_with(image, options: CompressOptions, model: str | LearnedCodec | None = None, progress: Progress | None = None) -> tuple[bytes, float]:
    """The file ``options`` ask for, and the quality it was written at (the searched one for a target size)."""
    if options.lossless:
        return _compress_lossless(image, options, model), 100.0
    codec = load_model(model) if model is None or isinstance(model, str) else model
    source = open_image(image)
    if options.target_bytes is None:
        return _compress_at(source, options, codec, progress), round(float(options.quality), 2)
    return _compress_to_target(source, options, codec)


def _compress_lossless(image, options: CompressOptions, model: str | LearnedCodec | None) -> bytes:
    lossy_only = {"target size": options.target_bytes is not None, "a region of interest": options.roi is not None}
    lossy_only |= {"latent optimisation": options.optimize_steps > 0 or options.task is not None}
    refused = [name for name, given in lossy_only.items() if given]
    if refused:
        raise LicodecError(f"lossless mode codes every pixel exactly: {', '.join(refused)} do not apply")
    if model is not None and not isinstance(model, str):
        raise LicodecError("lossless mode takes a lossless model's name or weights file, not a loaded lossy model")
    source = open_image(image)
    plain = compress_lossless(source, options.lossless_profile, model)
    if options.adapt_decoder_steps == 0:
        return plain
    from licodec.adapt.lossless_bias import fit_lossless_bias_updates  # torch, on first use

    updates = fit_lossless_bias_updates(load_lossless_model(model).coder, lossless_planes(source)[0], options.adapt_decoder_steps)
    if not updates.any():
        return plain
    return min(plain, compress_lossless(source, options.lossless_profile, model, updates), key=len)  # sent only where they pay


def _compress_to_target(image: Image.Image, options: CompressOptions, codec: LearnedCodec) -> tuple[bytes, float]:
    """Bisection on the continuous quality (steps of 0.01), which the rate follows monotonically; about 14 encodes."""
    if options.target_bytes < 1:
        raise LicodecError(f"target size must be a positive number of bytes, not {options.target_bytes}")

    def encode_at(centi_quality: int) -> bytes:
        return _compress_at(image, dataclasses.replace(options, quality=centi_quality / 100), codec)

    low, high = 100, 10000  # centi-quality; the file at `low` always fits
    best = encode_at(low)
    if len(best) > options.target_bytes:
        raise TargetUnreachableError(options.target_bytes, len(best))
    largest = encode_at(high)
    if len(largest) <= options.target_bytes:
        return largest, 100.0
    while high - low > 1:
        middle = (low + high) // 2
        data = encode_at(middle)
        if len(data) <= options.target_bytes:
            low, best = middle, data
        else:
            high = middle
    return best, low / 100


def _compress_at(image: Image.Image, options: CompressOptions, codec: LearnedCodec, progress: Progress | None = None) -> bytes:
    """One file at ``options.quality``: each tile through the model, then alpha, ROI cells and decoder updates."""
    import torch

    from licodec.adapt import decoder_bias
    from licodec.adapt.latent import optimize_latent, task_loss_for

    _check_quality(options.quality)
    _check_task(options)
    prepared = prepare(image)
    height, width = prepared.rgb.shape[:2]
    tile_px = tile_side(height, width)
    quality = round(float(options.quality), 2)
    roi_quality, cells = None, None
    if options.roi is not None:
        roi_quality = round(float(min(100.0, quality + 25) if options.roi_quality is None else options.roi_quality), 2)
        _check_quality(roi_quality, "ROI quality")
        cells = roi_map(options.roi, width, height)
    tiles, coded_tiles = [], []
    for top, left, h, w in tile_grid(height, width, tile_px):
        x = torch.from_numpy(np.array(prepared.rgb[top : top + h, left : left + w])).permute(2, 0, 1)
        x = _pad(x.unsqueeze(0).float() / 255.0, codec.pad_multiple)
        position = _tile_position(codec, quality, roi_quality, cells, top, left, x.shape[-2], x.shape[-1])
        task_loss = task_loss_for(options.task, x) if options.task else None
        y = optimize_latent(codec, x, position, options.optimize_steps, on_step=progress, task_loss=task_loss) if options.optimize_steps > 0 else None
        tile_streams = codec.compress(x, position, y, options.local_models)
        tiles.append(tuple(tile_streams))
        if options.adapt_decoder_steps > 0:
            y_hat = codec.decode_symbols(tile_streams, x.shape[-2], x.shape[-1], FORMAT_VERSION)
            coded_tiles.append((x, y_hat, position))
    updates = decoder_bias.fit_bias_updates(codec, coded_tiles, options.adapt_decoder_steps) if coded_tiles else None
    header = Header(
        model_name=codec.name,
        weights_hash=bytes.fromhex(codec.weights_hash),
        quality=quality,
        width_px=width,
        height_px=height,
        colour_mode=prepared.colour_mode,
        bit_depth=prepared.bit_depth,
        tile_px=tile_px,
        roi_quality=roi_quality if cells is not None else 0.0,
        flags=FLAG_DECODER_UPDATES if updates is not None else 0,
    )
    return LicFile(
        header,
        tuple(tiles),
        alpha=encode_alpha(prepared.alpha) if prepared.alpha is not None else None,
        roi=encode_roi(cells) if cells is not None else None,
        decoder_updates=encode_bias_updates(updates) if updates is not None else None,
    ).to_bytes()


def _check_task(options: CompressOptions) -> None:
    if options.task is None:
        return
    if options.task not in TASKS:
        raise LicodecError(f"unknown task {options.task!r}; one of {', '.join(TASKS)}")
    if options.optimize_steps < 1:
        raise LicodecError(f"a task ({options.task}) steers the latent optimisation; ask for optimisation steps too (--optimize)")


def _check_quality(quality, what: str = "quality") -> None:
    try:
        value = float(quality)
    except (TypeError, ValueError):
        raise LicodecError(f"{what} must be a number between 1 and 100, not {quality!r}") from None
    if not 1 <= value <= 100:  # also refuses NaN
        raise LicodecError(f"{what} must be between 1 and 100, not {quality}")


def _tile_position(codec: LearnedCodec, quality, roi_quality, cells, top: int, left: int, padded_h: int, padded_w: int):
    """The tile's rate position: a number, or a rate map when a region of interest is set."""
    position = codec.rate_position(quality)
    if cells is None:
        return position
    return tile_rate_map(cells, position, codec.rate_position(roi_quality), top, left, padded_h, padded_w)


def decompress(data: bytes, model: str | LearnedCodec | None = None, max_pixels: int | Literal["pillow"] | None = "pillow") -> Image.Image:
    """Decode the bytes of a .lic file to a PIL image of the original size and colour mode.

    ``model`` (a name, a ``.safetensors`` path or a loaded model) overrides the shipped model the
    file names: for files written with one's own or retired weights. Its hash must match the file's.

    ``max_pixels`` refuses a file that describes a larger image before any pixel is decoded
    (a few MB can describe tens of GB): by default Pillow's ``Image.MAX_IMAGE_PIXELS``, read
    at the call, so the same setting governs both; ``None`` sets no limit.
    """
    lic = LicFile.from_bytes(data)
    header = lic.header
    check_pixel_limit(header, Image.MAX_IMAGE_PIXELS if max_pixels == "pillow" else max_pixels)
    if header.is_lossless:
        if model is not None and not isinstance(model, str):
            raise LicodecError("a lossless file decodes with a lossless model's name or weights file, not a loaded lossy model")
        return decompress_lossless(lic, model)
    codec = _decoding_model(header, model)
    alpha = decode_alpha(lic.alpha, header.width_px, header.height_px) if lic.alpha is not None else None
    cells = decode_roi(lic.roi, header.width_px, header.height_px) if lic.roi is not None else None
    updates = decode_bias_updates(codec.bias_sizes(), lic.decoder_updates) if lic.decoder_updates is not None else None
    rgb = np.empty((header.height_px, header.width_px, 3), dtype=np.uint8)
    for (top, left, h, w), tile_streams in zip(tile_grid(header.height_px, header.width_px, header.tile_px), lic.tiles):
        ph, pw = _padded(h, codec.pad_multiple), _padded(w, codec.pad_multiple)
        position = _tile_position(codec, header.quality, header.roi_quality, cells, top, left, ph, pw)
        x_hat = codec.decompress(list(tile_streams), position, ph, pw, updates, header.format_version)
        rgb[top : top + h, left : left + w] = to_uint8(np.asarray(x_hat)[0, :, :h, :w])
    return finish(rgb, header.colour_mode, alpha)


def check_pixel_limit(header: Header, max_pixels: int | None) -> None:
    """Refuse a file whose image has more than ``max_pixels`` pixels (``None``: no limit)."""
    pixels = header.width_px * header.height_px
    if max_pixels is not None and pixels > max_pixels:
        raise ImageTooLargeError(
            f"file describes a {header.width_px}x{header.height_px} image ({pixels:,} pixels), above the limit of "
            f"{max_pixels:,}; if you trust it, raise the limit (--max-pixels, or PIL.Image.MAX_IMAGE_PIXELS)"
        )


def _decoding_model(header: Header, model: str | LearnedCodec | None) -> LearnedCodec | Decoder:
    """The model to decode ``header``'s file with, refused unless its weights are the ones that wrote it.

    Other weights would decode to a wrong image, never an error, so a mismatch is an error that
    says where the right weights are.
    """
    written = header.weights_hash.hex()
    if model is None and header.model_name not in SHIPPED:
        raise WeightsMismatchError(
            f"file was written with model {header.model_name!r}, which licodec does not ship; "
            "decode it with the weights that wrote it (--model FILE.safetensors)"
        )
    codec = model if model is not None and not isinstance(model, str) else _tile_decoder(model or header.model_name)
    if codec.weights_hash == written:
        return codec
    retired = retired_weights(written)
    if retired is not None:
        raise WeightsMismatchError(
            f"file was written with licodec's retired {retired['model']} weights (hash {written}), {retired_origin(retired)}; "
            f"decode it with that commit's licodec/weights/{retired['model']}.safetensors passed as --model FILE"
        )
    raise WeightsMismatchError(
        f"file was written with {header.model_name!r} weights of hash {written}, not these ({codec.weights_hash}); "
        "decode it with the weights that wrote it (--model FILE.safetensors)"
    )


def _tile_decoder(name: str) -> LearnedCodec | Decoder:
    """What decodes files of model ``name``: the numpy decoder, or the PyTorch model where torch is imported already
    (its synthesis runs faster) or the architecture needs it."""
    if sys.modules.get("torch") is not None:
        return load_model(name)
    try:
        return load_decoder(name)
    except NeedsTorchError as exc:
        try:
            registry = _torch_registry()
        except LicodecError:
            raise LicodecError(f"{name}: {exc}; {NEEDS_TORCH}") from None
        return registry.load_model(name)


def to_uint8(x: np.ndarray) -> np.ndarray:
    """(3, H, W) float in [0, 1] to (H, W, 3) uint8, rounding to nearest (half to even)."""
    scaled = np.clip(x, 0, 1) * np.float32(255)
    return np.rint(scaled, out=scaled).astype(np.uint8).transpose(1, 2, 0)


def _padded(size: int, multiple: int) -> int:
    return -(-size // multiple) * multiple


def _pad(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Replicate-pad (N, C, H, W) up to multiples of ``multiple``: edges cost fewer bits than zeros."""
    import torch.nn.functional as F

    h, w = x.shape[-2:]
    pad_h, pad_w = _padded(h, multiple) - h, _padded(w, multiple) - w
    if pad_h == 0 and pad_w == 0:
        return x
    return F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
