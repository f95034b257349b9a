"""Learned post-filters: a small bank of filters applied after a standard decoder.

The encoder, which has the original, picks for each 64-pixel block the bank member
(or none) that brings the decoded block closest to it, and signals the choices
in the file: in a JPEG comment segment (``COM``, ignored by every decoder), or for
other formats in a sidecar ``FILE.postfilter.json``. Without a signal, the bank
member chosen most often in training is applied everywhere ("blind" mode).

The bank is trained competitively (content-adaptive filter banks): each training
crop's loss is shared among the filters by a softmax over their losses whose
temperature is annealed from soft to winner-take-all, so the filters specialise.
Every filter also sees the compression strength, read from the JPEG luma
quantisation table (blind mode for other formats assumes a middle strength).
"""

from __future__ import annotations

import base64
import io
import json
import math
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from licodec.codecs.jpeg import jpeg_strength
from licodec.errors import InvalidImageError, LicodecError
from licodec.nn.layers import apply_filter, strength_conditioned_filter
from licodec.storage import find_file, foreign_file, load_arrays, save_arrays

DEFAULT_POSTFILTER = "postfilter-jpeg"
TASK_FORMATS = {"JPEG": "jpeg", "AVIF": "avif"}
"""The formats that have banks trained for a machine, and their names' codec part."""
BLOCK = 64
SIGNAL_TAG = b"licodec-postfilter 1 "
SIDECAR_SUFFIX = ".postfilter.json"
BLIND_STRENGTH = 0.5


@dataclass(frozen=True)
class PostFilterConfig:
    filters: int = 4
    channels: int = 32
    layers: int = 4


class PostFilterBank(nn.Module):
    """``filters`` residual CNNs; :meth:`forward` returns every member's output (K, N, 3, H, W)."""

    def __init__(self, config: PostFilterConfig = PostFilterConfig(), default_index: int = 0) -> None:
        super().__init__()
        self.config = config
        self.default_index = default_index
        self.members = nn.ModuleList(
            strength_conditioned_filter(config.channels, config.layers, init_std=1e-3, seed=seed) for seed in range(config.filters)
        )

    def forward(self, x: torch.Tensor, strength: torch.Tensor) -> torch.Tensor:
        return torch.stack([apply_filter(member, x, strength) for member in self.members])

    @torch.no_grad()
    def candidates(self, image: Image.Image, strength: float) -> np.ndarray:
        """uint8 images (K + 1, H, W, 3): every member's output, then the unfiltered input."""
        x = torch.from_numpy(np.asarray(image.convert("RGB"), dtype=np.float32) / 255).permute(2, 0, 1)[None]
        outputs = self(x, torch.tensor([strength]))[:, 0]
        filtered = np.clip(np.rint(outputs.permute(0, 2, 3, 1).numpy() * 255), 0, 255).astype(np.uint8)
        return np.concatenate([filtered, np.asarray(image.convert("RGB"))[None]])

    def choose(self, original: Image.Image, decoded: Image.Image, strength: float) -> np.ndarray:
        """Per-block index of the candidate closest to ``original`` (K means "leave as decoded")."""
        candidates = self.candidates(decoded, strength).astype(np.int64)
        errors = (candidates - np.asarray(original.convert("RGB"), dtype=np.int64)[None]) ** 2
        return _block_sums(errors.sum(-1)).argmin(0).astype(np.uint8)

    def apply(self, decoded: Image.Image, strength: float, choices: np.ndarray | None = None) -> Image.Image:
        candidates = self.candidates(decoded, strength)
        rows, cols = _block_grid(decoded.height, decoded.width)
        if choices is None:
            choices = np.full((rows, cols), self.default_index, dtype=np.uint8)
        if choices.shape != (rows, cols) or choices.max(initial=0) >= len(candidates):
            raise InvalidImageError("the post-filter signal does not fit this image")
        index = np.kron(choices, np.ones((BLOCK, BLOCK), dtype=np.uint8))[: decoded.height, : decoded.width]
        picked = np.take_along_axis(candidates, index[None, :, :, None].astype(np.int64), 0)[0]
        return Image.fromarray(picked, "RGB")


def _block_grid(height: int, width: int) -> tuple[int, int]:
    return math.ceil(height / BLOCK), math.ceil(width / BLOCK)


def _block_sums(values: np.ndarray) -> np.ndarray:
    """Sum (K, H, W) over 64-pixel blocks -> (K, rows, cols); edge blocks may be partial."""
    k, h, w = values.shape
    rows, cols = _block_grid(h, w)
    padded = np.zeros((k, rows * BLOCK, cols * BLOCK), dtype=values.dtype)
    padded[:, :h, :w] = values
    return padded.reshape(k, rows, BLOCK, cols, BLOCK).sum(axis=(2, 4))


# -- strength and signalling ----------------------------------------------------------


def encode_signal(bank_name: str, choices: np.ndarray) -> bytes:
    payload = base64.b64encode(zlib.compress(choices.tobytes(), 9)).decode("ascii")
    rows, cols = choices.shape
    return SIGNAL_TAG + json.dumps({"bank": bank_name, "block": BLOCK, "grid": [rows, cols], "choices": payload}).encode()


def decode_signal(signal: bytes) -> tuple[str, np.ndarray]:
    """(bank name, per-block choices) from :func:`encode_signal`'s bytes; a clear error if damaged."""
    if not signal.startswith(SIGNAL_TAG):
        raise InvalidImageError("not a licodec post-filter signal")
    try:
        document = json.loads(signal[len(SIGNAL_TAG) :])
        rows, cols = (int(v) for v in document["grid"])
        if document["block"] != BLOCK:
            raise ValueError(f"block size {document['block']}")
        raw = zlib.decompress(base64.b64decode(document["choices"], validate=True), bufsize=rows * cols + 1)
        choices = np.frombuffer(raw, dtype=np.uint8).reshape(rows, cols)
        return str(document["bank"]), choices
    except (ValueError, KeyError, TypeError, zlib.error) as exc:
        raise InvalidImageError(f"the post-filter signal is damaged ({exc})") from None


def read_signal(data: bytes, path: Path | None) -> bytes | None:
    """The signal from a JPEG's comment segment, else from a sidecar beside ``path``, else None."""
    with Image.open(io.BytesIO(data)) as image:
        comment = image.info.get("comment") if image.format == "JPEG" else None
    if isinstance(comment, bytes) and comment.startswith(SIGNAL_TAG):
        return comment
    sidecar = Path(str(path) + SIDECAR_SUFFIX) if path is not None else None
    if sidecar is not None and sidecar.exists():
        return sidecar.read_bytes()
    return None


def strength_of(data: bytes) -> float:
    with Image.open(io.BytesIO(data)) as image:
        if image.format == "JPEG" and getattr(image, "quantization", None):
            return jpeg_strength(image.quantization[0])
    return BLIND_STRENGTH


# -- weights --------------------------------------------------------------------------


def save_bank(bank: PostFilterBank, path: Path, extra: dict) -> None:
    """Half-precision weights with their config and blind choice, through :func:`licodec.storage.save_arrays`."""
    state = {k: v.detach().half().numpy() for k, v in bank.state_dict().items()}
    metadata = {"config": json.dumps(asdict(bank.config)), "default_index": str(bank.default_index), "extra": json.dumps(extra)}
    save_arrays(path, state, metadata)


def bank_file(name_or_path: str | None = None) -> Path:
    """The weights file of a shipped post-filter bank (the default if no name) or a path; must exist."""
    return find_file(name_or_path or DEFAULT_POSTFILTER, ".safetensors", "post-filter bank", "train postfilter")


def task_bank_name(task: str, data: bytes) -> str:
    """The shipped bank trained for machine ``task`` on files like ``data``: ``postfilter-jpeg-ocr``, ``postfilter-avif-ocr``."""
    format = _format_of(data)
    if format not in TASK_FORMATS:
        raise LicodecError(f"post-filters for {task} exist for JPEG and AVIF files; this is {format or 'an unknown format'}")
    return f"postfilter-{TASK_FORMATS[format]}-{task}"


def _format_of(data: bytes) -> str | None:
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.format
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidImageError(f"cannot decode the image: {exc}") from None


def load_bank(name_or_path: str | None = None) -> tuple[str, PostFilterBank]:
    """A shipped bank by name (the default if none) or a weights file by path, and its name."""
    path = bank_file(name_or_path)
    arrays, metadata = load_arrays(path, "post-filter bank")
    with foreign_file(path, "post-filter bank"):
        bank = PostFilterBank(PostFilterConfig(**json.loads(metadata["config"])), int(metadata["default_index"]))
        bank.load_state_dict({k: torch.from_numpy(v.astype(np.float32)) for k, v in arrays.items()})
    return path.stem, bank.eval()


# -- the codec round trip ----------------------------------------------------------


def jpeg_with_signal(image: Image.Image, encode: Callable[[Image.Image, bytes | None], bytes], bank_name: str, bank: PostFilterBank) -> bytes:
    """A standard JPEG whose comment segment carries the per-block filter choices.

    ``encode(image, comment)`` writes the JPEG (e.g. :func:`licodec.codecs.jpeg.encode`
    at some quality). A comment does not change the coded pixels, so the choices made
    on the first encode hold for the second.
    """
    first = encode(image, None)
    with Image.open(io.BytesIO(first)) as decoded:
        choices = bank.choose(image, decoded.convert("RGB"), strength_of(first))
    return encode(image, encode_signal(bank_name, choices))


POSTFILTERED_FORMATS = frozenset({"JPEG", "WEBP", "AVIF", "HEIF"})
"""Pillow's names of the lossy formats whose decodes the filters were made for."""


def postfilter_decode(data: bytes, bank: PostFilterBank, bank_name: str, path: Path | None = None) -> Image.Image:
    """Decode with the standard decoder, then apply the signalled (or blind) filter choices."""
    format = _format_of(data)
    if format not in POSTFILTERED_FORMATS:
        raise InvalidImageError(f"post-filters undo the artefacts of JPEG, WebP, AVIF and HEIC files; this is {format or 'an unknown format'}")
    signal = read_signal(data, path)
    choices = None
    if signal is not None:
        signalled_bank, choices = decode_signal(signal)
        if signalled_bank != bank_name:
            raise LicodecError(f"the file's filter choices are for bank {signalled_bank!r}, not {bank_name!r}; pass --filters {signalled_bank}")
    with Image.open(io.BytesIO(data)) as image:
        decoded = image.convert("RGB")
    return bank.apply(decoded, strength_of(data), choices)
