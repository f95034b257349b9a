"""Folders of images, as training, evaluation and the JPEG tools read them."""

from __future__ import annotations

from pathlib import Path

from licodec.errors import LicodecError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".ppm"}
"""What counts as an image file, by suffix (any case)."""


def find_images(folders: list[Path]) -> list[Path]:
    """Image files under ``folders`` (recursive), sorted; a missing folder is a user error."""
    paths = []
    for folder in map(Path, folders):
        if not folder.is_dir():
            raise LicodecError(f"{folder}: {'not a folder' if folder.exists() else 'no such folder'}")
        paths.extend(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    return sorted(paths)


def list_images(folder: Path) -> list[Path]:
    """The image files directly in ``folder``, sorted; none is a user error."""
    paths = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise LicodecError(f"no images found in {folder}")
    return paths
