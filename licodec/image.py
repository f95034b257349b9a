"""Turning whatever the user gives into 8-bit RGB (+ alpha), and back. No torch here.

Conversions (documented in README, "Inputs"):
- EXIF orientation is applied, so the decoded image looks as the original was displayed.
- Grayscale (L, 1, I;16, I) is coded as three equal channels and returned as L.
- 16-bit sources are reduced to 8 bits by rounding (v * 255 / 65535); the header records 16.
- Alpha (RGBA, LA, palette transparency) is kept losslessly in its own PNG-compressed stream.
- Palette, CMYK, YCbCr, LAB and HSV images are converted to RGB.
- Floating-point images (mode F) are refused: there is no single right way to map them to 8 bits.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from licodec.errors import CorruptBitstreamError, InvalidImageError


@dataclass(frozen=True)
class PreparedImage:
    rgb: np.ndarray  # (H, W, 3) uint8
    colour_mode: str  # "RGB", "L", "RGBA" or "LA"
    bit_depth: int  # of the source: 8 or 16
    alpha: np.ndarray | None  # (H, W) uint8, or None


def open_image(source, label: str = "input") -> Image.Image:
    """A PIL image from a path, bytes, a file object, a numpy array or a PIL image.

    Errors name the path, or ``label`` when the source has none (bytes, file objects).
    """
    if isinstance(source, Image.Image):
        return source
    if isinstance(source, np.ndarray):
        try:
            return Image.fromarray(source)
        except (TypeError, ValueError) as exc:
            raise InvalidImageError(f"cannot interpret array of shape {source.shape} and dtype {source.dtype} as an image") from exc
    if isinstance(source, (bytes, bytearray, memoryview)):
        source = io.BytesIO(bytes(source))
    if not isinstance(source, (str, Path)) and not hasattr(source, "read"):
        raise TypeError(f"expected a path, bytes, a file object, a numpy array or a PIL image, not {type(source).__name__}")
    name = str(source) if isinstance(source, (str, Path)) else label
    try:
        image = Image.open(source)
        image.load()
    except FileNotFoundError:
        raise InvalidImageError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise InvalidImageError(f"{name}: is a directory") from None
    except PermissionError:
        raise InvalidImageError(f"{name}: permission denied") from None
    except UnidentifiedImageError:
        raise InvalidImageError(f"{name}: not an image Pillow can read") from None
    except Image.DecompressionBombError as exc:  # Pillow's own limit, left as the user configured it
        raise InvalidImageError(f"{name}: {exc}") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidImageError(f"{name}: damaged or unsupported image ({exc})") from None
    return image


def prepare(image: Image.Image) -> PreparedImage:
    with contextlib.suppress(Exception):  # a broken EXIF block must not stop compression; orientation stays as stored
        image = ImageOps.exif_transpose(image)
    if image.width < 1 or image.height < 1:
        raise InvalidImageError("image is empty")
    mode = image.mode
    bit_depth = 16 if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I") else 8
    if mode == "F":
        raise InvalidImageError("floating-point images (mode F) are not supported; convert to 8 or 16 bits first")
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode == "PA":
        image = image.convert("RGBA")
    elif mode == "1":
        image = image.convert("L")
    elif bit_depth == 16:
        values = np.asarray(image, dtype=np.int64)
        image = Image.fromarray(np.clip(np.rint(values * 255 / 65535), 0, 255).astype(np.uint8), "L")
    elif mode == "La":
        image = image.convert("LA")
    elif mode in ("RGBa", "RGBX"):
        image = image.convert("RGBA" if mode == "RGBa" else "RGB")
    elif mode not in ("RGB", "L", "RGBA", "LA"):
        try:
            image = image.convert("RGB")
        except ValueError as exc:
            raise InvalidImageError(f"images of mode {mode} are not supported") from exc
    colour_mode = image.mode
    alpha = np.asarray(image.getchannel("A")) if colour_mode in ("RGBA", "LA") else None
    rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
    return PreparedImage(rgb, colour_mode, bit_depth, alpha)


def finish(rgb: np.ndarray, colour_mode: str, alpha: np.ndarray | None) -> Image.Image:
    """Decoded (H, W, 3) uint8 back to the user's colour mode."""
    image = Image.fromarray(rgb, "RGB")
    if colour_mode in ("L", "LA"):
        gray = np.rint(rgb.astype(np.float32).mean(axis=2)).astype(np.uint8)
        image = Image.fromarray(gray, "L")
    if alpha is not None:
        image.putalpha(Image.fromarray(alpha, "L"))
    return image


def encode_alpha(alpha: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(alpha, "L").save(out, format="PNG", optimize=True)
    return out.getvalue()


def decode_alpha(data: bytes, width: int, height: int) -> np.ndarray:
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            alpha = np.asarray(im)
    except Exception as exc:
        raise CorruptBitstreamError(f"alpha stream is damaged ({exc})") from None
    if alpha.shape != (height, width) or alpha.dtype != np.uint8:
        raise CorruptBitstreamError("alpha stream does not match the image size")
    return alpha
