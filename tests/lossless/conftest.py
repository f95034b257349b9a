import pytest
import torch

from licodec.lossless.model import LosslessConfig, MultiScaleProgressive, compile_coder
from licodec.lossless.weights import save_lossless

TINY = LosslessConfig(width=8, entry_width=8, head_width=8)


def tiny_coder(seed: int = 0):
    torch.manual_seed(seed)
    return compile_coder(MultiScaleProgressive(TINY))


@pytest.fixture(scope="session")
def lossless_weights(tmp_path_factory):
    path = tmp_path_factory.mktemp("lossless") / "tiny.safetensors"
    save_lossless(tiny_coder(), path, "test-lossless", {})
    return path
