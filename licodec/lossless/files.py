"""Lossless ``.lic`` files: an image's samples through the lossless coder, tile by tile, and back (numpy only).

The file is an ordinary ``.lic`` file (:mod:`licodec.bitstream`) with the lossless flag: its
tiles hold the coder's streams, alpha travels as PNG as in every file, and a last stream
names the profile and holds the SHA-256 of the decoded samples, which the decoder checks:
a damaged file is an error, never different pixels.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from licodec.bitstream import FLAG_LOSSLESS, Header, LicFile, tile_grid, tile_side
from licodec.coding.decoder_updates import decode_bias_updates, encode_bias_updates, to_updates
from licodec.errors import CorruptBitstreamError, LicodecError
from licodec.image import PreparedImage, decode_alpha, encode_alpha, finish, prepare
from licodec.lossless.codec import image_digest, pack_info, unpack_info
from licodec.lossless.order import PROFILES
from licodec.lossless.weights import LosslessModel, load_lossless_model

GREY_MODES = ("L", "LA")


def lossless_planes(image: Image.Image) -> tuple[np.ndarray, PreparedImage]:
    """The samples lossless mode codes, (H, W, 1 or 3) uint8, and the prepared image they come from."""
    prepared = prepare(image)
    if prepared.bit_depth != 8:
        raise LicodecError("lossless mode codes 8-bit samples, and this image has 16 bits per sample: convert it to 8 bits first")
    return (prepared.rgb[..., :1] if prepared.colour_mode in GREY_MODES else prepared.rgb), prepared


def compress_lossless(image: Image.Image, profile: str, model: str | None = None, bias_updates: np.ndarray | None = None) -> bytes:
    """The bytes of a lossless ``.lic`` file of ``image`` (8-bit grey or RGB, alpha or not); ``bias_updates`` (int8,
    multiples of ``BIAS_STEP``, in the order of :meth:`~LosslessCoder.head_bias_sizes`) move the head's biases."""
    if profile not in PROFILES:
        raise LicodecError(f"unknown lossless profile {profile!r}; choose one of {', '.join(PROFILES)}")
    loaded = load_lossless_model(model)
    coder, updates = loaded.coder, b""
    if bias_updates is not None:
        coder, updates = coder.with_bias_updates(to_updates(coder.head_bias_sizes(), bias_updates)), encode_bias_updates(bias_updates)
    planes, prepared = lossless_planes(image)
    height, width = planes.shape[:2]
    tile_px = tile_side(height, width)
    tiles = tuple(
        tuple(coder.encode(np.ascontiguousarray(planes[top : top + h, left : left + w].transpose(2, 0, 1)), profile))
        for top, left, h, w in tile_grid(height, width, tile_px)
    )
    header = Header(
        model_name=loaded.name,
        weights_hash=bytes.fromhex(loaded.weights_hash),
        quality=100.0,
        width_px=width,
        height_px=height,
        colour_mode=prepared.colour_mode,
        tile_px=tile_px,
        flags=FLAG_LOSSLESS,
    )
    alpha = encode_alpha(prepared.alpha) if prepared.alpha is not None else None
    return LicFile(header, tiles, alpha=alpha, lossless=pack_info(profile, image_digest(planes, prepared.alpha), updates)).to_bytes()


def decompress_lossless(lic: LicFile, model: str | None = None) -> Image.Image:
    """The image of a lossless file, its samples checked against the file's digest."""
    header = lic.header
    loaded = check_weights(header, load_lossless_model(model or header.model_name))
    profile, digest, updates = unpack_info(lic.lossless)
    coder = loaded.coder
    if updates:
        coder = coder.with_bias_updates(decode_bias_updates(coder.head_bias_sizes(), updates))
    channels = 1 if header.colour_mode in GREY_MODES else 3
    planes = np.empty((header.height_px, header.width_px, channels), dtype=np.uint8)
    for (top, left, h, w), streams in zip(tile_grid(header.height_px, header.width_px, header.tile_px), lic.tiles):
        planes[top : top + h, left : left + w] = coder.decode(list(streams), channels, h, w, profile).transpose(1, 2, 0)
    alpha = decode_alpha(lic.alpha, header.width_px, header.height_px) if lic.alpha is not None else None
    if image_digest(planes, alpha) != digest:
        raise CorruptBitstreamError("lossless file is damaged: the decoded image does not match its checksum")
    return finish(np.repeat(planes, 3, axis=2) if channels == 1 else planes, header.colour_mode, alpha)


def check_weights(header: Header, loaded: LosslessModel) -> LosslessModel:
    if loaded.weights_hash != header.weights_hash.hex():
        raise LicodecError(
            f"file was written with {header.model_name!r} weights of hash {header.weights_hash.hex()}, not these "
            f"({loaded.weights_hash}); decode it with the weights that wrote it (--model FILE.safetensors)"
        )
    return loaded
