"""The one way licodec writes, reads and finds its weights files, for models and JPEG tools alike.

Every learned part is one file in the package's ``weights/`` folder (or anywhere a user
names): safetensors for networks (named arrays plus string metadata), JSON for JPEG
table sets. Writes go through a temporary file and a rename, so an interrupted run
never leaves half a file; reads turn whatever a foreign file raises into one
:class:`~licodec.errors.LicodecError`.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save_file

from licodec.errors import LicodecError, UnknownModelError

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
"""The shipped weights, installed with the package: nothing is ever downloaded."""


def user_cache(*parts: str) -> Path:
    """``$XDG_CACHE_HOME/licodec/...`` (``~/.cache/licodec/...`` by default): what licodec fetches or builds per user."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base, "licodec", *parts)


def shipped_file(name: str, suffix: str) -> Path:
    """Where the shipped file ``name`` lives (it may be missing from a broken installation)."""
    return WEIGHTS_DIR / f"{name}{suffix}"


def find_file(name: str, suffix: str, what: str, command: str) -> Path:
    """The file ``name`` stands for: a path the user gave, or the shipped ``WEIGHTS_DIR/name+suffix``.

    ``name`` is a path when that file exists, ends in ``suffix`` or contains a directory; its content is
    checked by the loader, so a file of the wrong kind is refused as such rather than as "not installed".
    ``command`` is the ``licodec`` command that makes one, named in the error.
    """
    given = Path(name)
    if given.is_file():
        return given
    if name.endswith(suffix) or given.name != name:
        raise UnknownModelError(f"{name}: no such {what} file")
    shipped = shipped_file(name, suffix)
    if not shipped.exists():
        raise UnknownModelError(f"no {what} {name!r} is installed; make one with 'licodec {command}'")
    return shipped


def save_arrays(path: Path, arrays: dict[str, np.ndarray], metadata: dict[str, str]) -> str:
    """Write a safetensors file atomically (mode 0644, like any installed file); returns its :func:`weights_hash`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(temporary), metadata=metadata)
    temporary.chmod(0o644)
    temporary.replace(path)
    return weights_hash(path)


def load_arrays(path: Path, what: str, keep: Callable[[str], bool] | None = None) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The arrays (those whose names ``keep`` accepts, if given) and metadata of a safetensors file;
    anything else is ``not a licodec {what} file``."""
    if not Path(path).is_file():
        raise LicodecError(f"{path}: no such file")
    with foreign_file(path, what), safe_open(str(path), framework="numpy") as handle:
        return {name: handle.get_tensor(name) for name in handle.keys() if keep is None or keep(name)}, handle.metadata() or {}  # noqa: SIM118 (not a dict)


def pack_12bit(values: np.ndarray) -> np.ndarray:
    """Integers in [-2048, 2047], flattened, two to three bytes (uint8): 25% smaller than int16."""
    unsigned = np.asarray(values, dtype=np.int64).ravel() + 2048
    if unsigned.size and (unsigned.min() < 0 or unsigned.max() > 4095):
        raise ValueError("pack_12bit takes integers in [-2048, 2047]")
    pairs = np.concatenate([unsigned, np.zeros(unsigned.size % 2, dtype=np.int64)]).reshape(-1, 2)
    return np.stack([pairs[:, 0] & 0xFF, (pairs[:, 0] >> 8) | ((pairs[:, 1] & 0xF) << 4), pairs[:, 1] >> 4], 1).astype(np.uint8).ravel()


def unpack_12bit(packed: np.ndarray, count: int) -> np.ndarray:
    """The first ``count`` integers :func:`pack_12bit` packed (int64)."""
    triples = np.asarray(packed, dtype=np.int64).reshape(-1, 3)
    if 2 * len(triples) < count:
        raise ValueError(f"{len(triples) * 2} packed values, {count} wanted")
    first = triples[:, 0] | ((triples[:, 1] & 0xF) << 8)
    second = (triples[:, 1] >> 4) | (triples[:, 2] << 4)
    return np.stack([first, second], 1).ravel()[:count] - 2048


def save_document(path: Path, document: dict) -> None:
    """Write a JSON document atomically (a table set, a partial run)."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(document, indent=1) + "\n")
    os.replace(temporary, path)


def weights_hash(path: Path) -> str:
    """The 16 hex digits of the file's SHA-256 that a ``.lic`` file records; read once per file version."""
    status = Path(path).stat()
    return _file_hash(Path(path).resolve(), status.st_mtime_ns, status.st_size)


@lru_cache(maxsize=32)
def _file_hash(path: Path, modified_ns: int, size: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


@contextmanager
def foreign_file(path: Path | str, what: str) -> Iterator[None]:
    """Turn what loading a file licodec did not write raises (bad header, missing metadata, wrong shapes) into one error.

    Wrap the whole load, from parsing to building the network, so that any ``what`` file a user names is either
    loaded or refused as ``not a licodec {what} file``.
    """
    try:
        yield
    except (SafetensorError, OSError, ValueError, KeyError, TypeError, AttributeError, RuntimeError) as exc:
        raise LicodecError(f"{path}: not a licodec {what} file ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None
