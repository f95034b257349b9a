"""Folders of stand-in photographs in both splits of the text-image generator."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from licodec.machines.text_images import split_of
from tests.conftest import smooth_image


@pytest.fixture(scope="session")
def photos(tmp_path_factory) -> Path:
    """Twelve smooth 'photographs', at least one in each split (the split follows the file name)."""
    folder = tmp_path_factory.mktemp("photos")
    names = [f"photo-{i}.png" for i in range(40)]
    chosen = [n for n in names if split_of(Path(n)) == "eval"][:3] + [n for n in names if split_of(Path(n)) == "train"][:9]
    for seed, name in enumerate(chosen):
        Image.fromarray(smooth_image(160, 200, seed)).save(folder / name)
    return folder


needs_ocr = pytest.mark.skipif(not __import__("importlib").util.find_spec("rapidocr_onnxruntime"), reason="the machines extra is not installed")
needs_faces = pytest.mark.skipif(not __import__("importlib").util.find_spec("dlib"), reason="the machines extra is not installed")
