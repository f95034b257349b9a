"""Where the learned JPEG tools' files live, and how a tool name finds its file (no torch import)."""

from __future__ import annotations

from pathlib import Path

from licodec.errors import UnknownModelError

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"


def installed_file(name: str, suffix: str, what: str, command: str) -> Path:
    """The file ``name`` stands for: a path the user gave, or the shipped ``WEIGHTS_DIR/name+suffix``.

    ``name`` is a path when that file exists, ends in ``suffix`` or contains a directory; its content is
    checked by the loader, so a file of the wrong kind is refused as such rather than as "not installed".
    """
    given = Path(name)
    if given.is_file():
        return given
    if name.endswith(suffix) or given.name != name:
        raise UnknownModelError(f"{name}: no such {what} file")
    shipped = WEIGHTS_DIR / f"{name}{suffix}"
    if not shipped.exists():
        raise UnknownModelError(f"no {what} {name!r} is installed; make one with 'licodec {command}'")
    return shipped
