"""Shared fixtures: tiny untrained models (milliseconds per image), generated images and a generated video clip."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from licodec.entropy.latent_coding import CodingMode
from licodec.lossless.model import LosslessConfig, MultiScaleProgressive, compile_coder
from licodec.lossless.weights import save_lossless
from licodec.models import ARCHITECTURES, TINY, build_coding_tables, create_model

REPO = Path(__file__).resolve().parent.parent
KODAK = REPO.parent / "shared" / "data" / "kodak"


def tiny_model(architecture: str, seed: int = 0):
    torch.manual_seed(seed)
    model = create_model(architecture, TINY)
    model.name = f"test-{architecture}"
    build_coding_tables(model)
    return model


def loud_model(architecture: str):
    """A tiny model with gains e^4: most symbols of y are nonzero, so a coding error shows in the pixels."""
    model = tiny_model(architecture)
    with torch.no_grad():
        model.gains.log_gain.fill_(4.0)  # the gains scale y outside the coding tables: no rebuild
    return model


def forced_mode(number: int):
    """A ``choose_mode`` that always picks mode ``number`` (bit 0: offsets, where the latent takes them; bit 1: adaptive)."""

    def choose(chunks, tables, offsets=True, adaptive=True, classes=None):
        shifts = (np.arange(chunks[0][0].shape[1]) % 16 - 8).astype(np.int32) if number & 1 and offsets else None
        return CodingMode(shifts, adaptive=bool(number & 2))

    return choose


def rate_ladder_model():
    """A tiny checkerboard model whose two rungs differ clearly in rate (gains 1/e and e^1.5)."""
    model = tiny_model("he2021-checkerboard")
    with torch.no_grad():
        model.gains.log_gain.copy_(torch.tensor([[-1.0] * 8, [1.5] * 8]))
    return model


@pytest.fixture(scope="session", params=list(ARCHITECTURES))
def any_tiny_model(request):
    return tiny_model(request.param)


@pytest.fixture(scope="session")
def checkerboard_model():
    return tiny_model("he2021-checkerboard")


TINY_LOSSLESS = LosslessConfig(width=8, context_layers=2, entry_width=8, entry_layers=2, head_width=8)


def tiny_lossless_coder(seed: int = 0):
    torch.manual_seed(seed)
    return compile_coder(MultiScaleProgressive(TINY_LOSSLESS))


@pytest.fixture(scope="session")
def lossless_weights(tmp_path_factory):
    path = tmp_path_factory.mktemp("lossless") / "tiny.safetensors"
    save_lossless(tiny_lossless_coder(), path, "test-lossless", {})
    return path


def smooth_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A photo-like (H, W, 3) uint8 image: smooth gradients plus mild noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    channels = [128 + 100 * np.sin(xx / (7 + 5 * c) + yy / (11 + 3 * c) + c) for c in range(3)]
    image = np.stack(channels, axis=-1) + rng.normal(0, 4, (height, width, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


@pytest.fixture
def photo() -> np.ndarray:
    return smooth_image(48, 40)


HAVE_FFMPEG = shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None
HAVE_LIBVPX = Path("/usr/include/vpx/vpx_ext_ratectrl.h").exists() and shutil.which("cc") is not None
needs_ffmpeg = pytest.mark.skipif(not HAVE_FFMPEG, reason="Debian's ffmpeg is not installed ('make system')")
needs_libvpx = pytest.mark.skipif(not (HAVE_LIBVPX and HAVE_FFMPEG), reason="Debian's libvpx-dev, ffmpeg and a C compiler ('make system')")


@pytest.fixture(scope="session")
def clip(tmp_path_factory) -> Path:
    """24 frames of ffmpeg's moving test pattern, 96x64 at 12 fps, stored losslessly."""
    if not HAVE_FFMPEG:
        pytest.skip("Debian's ffmpeg is not installed ('make system')")
    path = tmp_path_factory.mktemp("video") / "clip.mkv"
    command = ["ffmpeg", "-v", "error", "-nostdin", "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=12", "-frames:v", "24", "-c:v", "ffv1", str(path)]
    subprocess.run(command, check=True)
    return path
