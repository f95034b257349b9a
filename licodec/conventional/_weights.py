"""Where the learned JPEG tools' files live, and how a tool name finds its file (no torch import)."""

from __future__ import annotations

from pathlib import Path

from licodec.errors import UnknownModelError

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"


def installed_file(name: str, suffix: str, what: str, command: str) -> Path:
    """``name`` as a path if it ends in ``suffix``, else the shipped ``WEIGHTS_DIR/name+suffix``; must exist."""
    path = Path(name) if name.endswith(suffix) else WEIGHTS_DIR / f"{name}{suffix}"
    if not path.exists():
        raise UnknownModelError(f"no {what} {name!r} is installed; make one with 'licodec {command}'")
    return path
