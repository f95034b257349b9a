from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import smooth_image

TINY_ARGS = [
    "--channels", "8", "--latent-channels", "8", "--hyper-channels", "8", "--decoder-widths", "8,8,8",
    "--lambdas", "0.01,0.05", "--batch-size", "2", "--crop", "64", "--no-progress", "--validate-every", "2", "--log-every", "1",
]  # fmt: skip


@pytest.fixture(scope="session")
def image_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("images")
    (folder / "sub").mkdir()
    for i in range(5):
        Image.fromarray(smooth_image(80, 96, seed=i)).save(folder / ("sub" if i % 2 else ".") / f"{i}.png")
    Image.fromarray(smooth_image(80, 96, seed=9)).save(folder / "j.jpg", quality=90)
    return folder
