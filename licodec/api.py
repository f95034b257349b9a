"""The Python API: ``compress(image) -> bytes`` and ``decompress(bytes) -> Image``."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from licodec.adapt.decoder_bias import decode_bias_updates, encode_bias_updates, fit_bias_updates
from licodec.adapt.latent import optimize_latent
from licodec.adapt.roi import decode_roi, encode_roi, roi_map, tile_rate_map
from licodec.bitstream import FLAG_DECODER_UPDATES, Header, LicFile
from licodec.errors import CorruptBitstreamError, LicodecError, TargetUnreachableError, WeightsMismatchError
from licodec.image import decode_alpha, encode_alpha, finish, open_image, prepare
from licodec.models import SHIPPED
from licodec.models import load_model as _load_model
from licodec.models.registry import retired_origin, retired_weights
from licodec.models.base import LearnedCodec

TILE_PX = 1024
"""Images larger than this on either side are cut into independent tiles of this size,
which bounds memory (about 1.5 GB at the default model) whatever the image size."""
MAX_TILE_PX = 4096
"""Decoders refuse larger tiles: memory per tile stays bounded whatever a file claims."""
STREAMS_PER_TILE = 2


def load_model(name: str | None = None) -> LearnedCodec:
    """A model ready to code: a shipped one by registry name (``None``: the default), or a ``.safetensors`` weights file."""
    return _load_model(name)


def compress(
    image,
    quality: float = 75,
    model: str | LearnedCodec | None = None,
    optimize_steps: int = 0,
    progress: Callable[[int, float], None] | None = None,
    roi=None,
    roi_quality: float | None = None,
    adapt_decoder_steps: int = 0,
    local_models: bool = True,
) -> bytes:
    """Compress an image (path, bytes, PIL image or uint8 array) to the bytes of a .lic file.

    ``quality`` runs from 1 to 100 (higher: more bits, better fidelity), like JPEG's.
    ``optimize_steps`` > 0 refines each tile's latent for this image first
    (:mod:`licodec.adapt.latent`): slower encoding, same decoder.
    ``roi`` is a mask image of the same size (nonzero = region of interest), coded
    at ``roi_quality`` (default: 25 above ``quality``, at most 100) (:mod:`licodec.adapt.roi`).
    ``adapt_decoder_steps`` > 0 fits per-image decoder bias updates and sends them
    when they pay for their bytes (:mod:`licodec.adapt.decoder_bias`).
    ``local_models=False`` codes with the model's own entropy tables only, never an
    image-dependent entropy model (:mod:`licodec.entropy.latent_coding`): a little faster.
    """
    _check_quality(quality)
    codec = load_model(model) if model is None or isinstance(model, str) else model
    prepared = prepare(open_image(image))
    height, width = prepared.rgb.shape[:2]
    tile_px = TILE_PX if max(height, width) > TILE_PX else 0
    quality = round(float(quality), 2)
    cells = None
    if roi is not None:
        roi_quality = round(float(min(100.0, quality + 25) if roi_quality is None else roi_quality), 2)
        _check_quality(roi_quality, "ROI quality")
        cells = roi_map(roi, width, height)
    streams: list[bytes] = []
    coded_tiles = []
    for top, left, h, w in _tiles(height, width, tile_px):
        x = torch.from_numpy(np.array(prepared.rgb[top : top + h, left : left + w])).permute(2, 0, 1)
        x = _pad(x.unsqueeze(0).float() / 255.0, codec.pad_multiple)
        position = _tile_position(codec, quality, roi_quality, cells, top, left, x.shape[-2], x.shape[-1])
        y = optimize_latent(codec, x, position, optimize_steps, on_step=progress) if optimize_steps > 0 else None
        tile_streams = codec.compress(x, position, y, local_models)
        streams.extend(tile_streams)
        if adapt_decoder_steps > 0:
            coded_tiles.append((x, codec.decode_symbols(tile_streams, x.shape[-2], x.shape[-1]), position))
    if prepared.alpha is not None:
        streams.append(encode_alpha(prepared.alpha))
    if cells is not None:
        streams.append(encode_roi(cells))
    updates = fit_bias_updates(codec, coded_tiles, adapt_decoder_steps) if coded_tiles else None
    if updates is not None:
        streams.append(encode_bias_updates(updates))
    header = Header(
        model_name=getattr(codec, "name", "unnamed"),
        weights_hash=bytes.fromhex(getattr(codec, "weights_hash", "0" * 16)),
        quality=quality,
        width_px=width,
        height_px=height,
        colour_mode=prepared.colour_mode,
        bit_depth=prepared.bit_depth,
        tile_px=tile_px,
        roi_quality=roi_quality if cells is not None else 0.0,
        flags=FLAG_DECODER_UPDATES if updates is not None else 0,
    )
    return LicFile(header, tuple(streams)).to_bytes()


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


def compress_to_size(
    image,
    max_bytes: int,
    model: str | LearnedCodec | None = None,
    optimize_steps: int = 0,
    roi=None,
    roi_quality: float | None = None,
    adapt_decoder_steps: int = 0,
    local_models: bool = True,
) -> tuple[bytes, float]:
    """The highest-quality file of at most ``max_bytes`` bytes, and the quality that made it.

    With a region of interest, the search sets the quality outside it; ``roi_quality``
    stays as given (default: 25 above the searched quality).

    Bisection on the continuous quality (steps of 0.01), which the rate follows
    monotonically; about 14 encodes. Raises :class:`TargetUnreachableError` if even quality 1 is too large.
    """
    codec = load_model(model) if model is None or isinstance(model, str) else model
    source = open_image(image)
    if max_bytes < 1:
        raise LicodecError(f"target size must be a positive number of bytes, not {max_bytes}")

    def encode_at(centi_quality: int) -> bytes:
        return compress(
            source, centi_quality / 100, codec, optimize_steps=optimize_steps, roi=roi, roi_quality=roi_quality,
            adapt_decoder_steps=adapt_decoder_steps, local_models=local_models,
        )  # fmt: skip

    low, high = 100, 10000  # centi-quality; the file at `low` always fits
    best = encode_at(low)
    if len(best) > max_bytes:
        raise TargetUnreachableError(max_bytes, len(best))
    largest = encode_at(high)
    if len(largest) <= max_bytes:
        return largest, 100.0
    while high - low > 1:
        middle = (low + high) // 2
        data = encode_at(middle)
        if len(data) <= max_bytes:
            low, best = middle, data
        else:
            high = middle
    return best, low / 100


def decompress(data: bytes, model: str | LearnedCodec | None = None) -> Image.Image:
    """Decode the bytes of a .lic file to a PIL image of the original size and colour mode.

    ``model`` (a name, a ``.safetensors`` path or a loaded model) overrides the shipped model the
    file names: for files written with one's own or retired weights. Its hash must match the file's.
    """
    lic = LicFile.from_bytes(data)
    header = lic.header
    codec = _decoding_model(header, model)
    if header.tile_px == 0 and max(header.width_px, header.height_px) > TILE_PX or header.tile_px > MAX_TILE_PX:
        raise CorruptBitstreamError("header describes tiles no licodec encoder writes")
    tiles = list(_tiles(header.height_px, header.width_px, header.tile_px))
    expected = len(tiles) * STREAMS_PER_TILE + header.has_alpha + header.has_roi + header.has_decoder_updates
    if len(lic.streams) != expected:
        raise CorruptBitstreamError(f"file holds {len(lic.streams)} streams where {expected} were expected")
    extra = iter(lic.streams[len(tiles) * STREAMS_PER_TILE :])
    alpha = decode_alpha(next(extra), header.width_px, header.height_px) if header.has_alpha else None
    cells = decode_roi(next(extra), header.width_px, header.height_px) if header.has_roi else None
    updates = decode_bias_updates(codec, next(extra)) if header.has_decoder_updates else None
    rgb = np.empty((header.height_px, header.width_px, 3), dtype=np.uint8)
    for i, (top, left, h, w) in enumerate(tiles):
        ph, pw = _padded(h, codec.pad_multiple), _padded(w, codec.pad_multiple)
        position = _tile_position(codec, header.quality, header.roi_quality, cells, top, left, ph, pw)
        tile_streams = list(lic.streams[i * STREAMS_PER_TILE : (i + 1) * STREAMS_PER_TILE])
        x_hat = codec.decompress(tile_streams, position, ph, pw, updates, header.format_version)
        rgb[top : top + h, left : left + w] = to_uint8(x_hat[0, :, :h, :w])
    return finish(rgb, header.colour_mode, alpha)


def _decoding_model(header: Header, model: str | LearnedCodec | None) -> LearnedCodec:
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
    codec = model if isinstance(model, LearnedCodec) else load_model(model or header.model_name)
    given = getattr(codec, "weights_hash", "0" * 16)  # models built in memory write a zero hash
    if given == written:
        return codec
    retired = retired_weights(written)
    if retired is not None:
        raise WeightsMismatchError(
            f"file was written with licodec's retired {retired['model']} weights (hash {written}), {retired_origin(retired)}; "
            f"decode it with that commit's licodec/weights/{retired['model']}.safetensors passed as --model FILE"
        )
    raise WeightsMismatchError(
        f"file was written with {header.model_name!r} weights of hash {written}, not these ({given}); "
        "decode it with the weights that wrote it (--model FILE.safetensors)"
    )


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """(3, H, W) float in [0, 1] to (H, W, 3) uint8, rounding to nearest."""
    return x.clamp(0, 1).mul_(255).round_().to(torch.uint8).permute(1, 2, 0).numpy()  # one temporary, not three


def _tiles(height: int, width: int, tile_px: int) -> Iterator[tuple[int, int, int, int]]:
    """(top, left, height, width) of each tile in raster order."""
    if tile_px == 0:
        yield 0, 0, height, width
        return
    for top in range(0, height, tile_px):
        for left in range(0, width, tile_px):
            yield top, left, min(tile_px, height - top), min(tile_px, width - left)


def _padded(size: int, multiple: int) -> int:
    return -(-size // multiple) * multiple


def _pad(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Replicate-pad (N, C, H, W) up to multiples of ``multiple``: edges cost fewer bits than zeros."""
    h, w = x.shape[-2:]
    pad_h, pad_w = _padded(h, multiple) - h, _padded(w, multiple) - w
    if pad_h == 0 and pad_w == 0:
        return x
    return F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
