"""A folder of two small smooth images, for the evaluation tests that code real files."""

import pytest
from PIL import Image

from tests.conftest import smooth_image


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("imgs")
    for i in range(2):
        Image.fromarray(smooth_image(64, 80, seed=i)).save(path / f"{i}.png")
    return path
