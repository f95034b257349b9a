"""The numpy decoder decodes what the PyTorch model decodes: the same latent, bit for bit, and pixels within rounding."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import licodec
from licodec.adapt import decoder_bias
from licodec.decoder import Decoder, NeedsTorchError
from licodec.models import load_model, save_weights
from tests.coding.test_channel_mask import latent_with_dead_channels, sparse_model
from tests.conftest import REPO, loud_model, smooth_image
from tests.models.test_models import as_tensor

NUMPY_ARCHITECTURES = ["bmshj2018-factorized", "bmshj2018-hyperprior", "mbt2018-mean", "mbt2018", "he2021-checkerboard", "fu2023-gllmm"]


def saved(architecture: str, folder) -> str:
    path = folder / f"{architecture}.safetensors"
    if not path.exists():
        save_weights(loud_model(architecture), path, f"test-{architecture}")
    return str(path)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("weights")


@pytest.mark.parametrize("architecture", NUMPY_ARCHITECTURES)
def test_the_latent_is_the_torch_models_and_the_pixels_within_rounding(architecture, folder):
    path = saved(architecture, folder)
    torch_model, numpy_decoder = load_model(path), Decoder(Path(path))
    x = as_tensor(smooth_image(64, 128))
    for position in (0.0, 0.6, 1.0):
        streams = torch_model.compress(x, position)
        np.testing.assert_array_equal(numpy_decoder.decode_symbols(streams, 64, 128), torch_model.decode_symbols(streams, 64, 128).numpy())
        expected = torch_model.decompress(streams, position, 64, 128).numpy()
        assert np.abs(numpy_decoder.decompress(streams, position, 64, 128) - expected).max() < 1e-4


def test_rate_maps_and_decoder_updates_decode_as_with_torch(folder, monkeypatch):
    path = saved("he2021-checkerboard", folder)
    torch_model = load_model(path)
    forced = (np.arange(sum(torch_model.bias_sizes().values())) % 60 - 30).astype(np.int8)
    monkeypatch.setattr(decoder_bias, "fit_bias_updates", lambda model, tiles, steps: forced)
    image, mask = smooth_image(80, 96), np.zeros((80, 96), dtype=np.uint8)
    mask[10:40, 20:70] = 255
    data = licodec.compress(image, quality=40, model=torch_model, roi=mask, adapt_decoder_steps=1)
    header = licodec.bitstream.read_header(data)
    assert header.has_decoder_updates and header.roi_quality > 0
    ours = np.asarray(licodec.decompress(data, model=Decoder(Path(path))), dtype=np.int16)
    theirs = np.asarray(licodec.decompress(data, model=torch_model), dtype=np.int16)
    assert np.abs(ours - theirs).max() <= 1 and np.mean(ours != theirs) < 0.01


def test_layers_the_numpy_decoder_does_not_run_are_refused(folder):
    with pytest.raises(NeedsTorchError):
        Decoder(Path(saved("fu2023-asymmetric", folder)))


NO_TORCH = """
import sys
sys.modules["torch"] = None  # as if it were not installed: importing it raises ImportError
from licodec.cli import main
code = main(sys.argv[1:])
assert "torch" not in sys.modules or sys.modules["torch"] is None
sys.exit(code)
"""


def run_without_torch(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", NO_TORCH, *args], capture_output=True, text=True, cwd=REPO)


def test_the_command_decodes_shipped_model_files_without_torch(tmp_path):
    data = licodec.compress(smooth_image(72, 100, seed=2), quality=60)
    (tmp_path / "a.lic").write_bytes(data)
    result = run_without_torch("decompress", str(tmp_path / "a.lic"), "-o", str(tmp_path / "a.png"))
    assert result.returncode == 0, result.stderr
    ours = np.asarray(licodec.image.open_image(str(tmp_path / "a.png")), dtype=np.int16)
    theirs = np.asarray(licodec.decompress(data), dtype=np.int16)  # this process has torch: its model decodes
    assert np.abs(ours - theirs).max() <= 1 and np.mean(ours != theirs) < 0.001


def test_without_torch_a_file_that_needs_it_is_a_one_line_error(tmp_path, folder):
    path = saved("fu2023-asymmetric", folder)
    model = load_model(path)
    (tmp_path / "b.lic").write_bytes(licodec.compress(smooth_image(32, 32), model=model))
    result = run_without_torch("decompress", str(tmp_path / "b.lic"), "--model", path, "-o", str(tmp_path / "b.png"))
    assert result.returncode == 1 and "needs PyTorch" in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("command", [["compress", "tests/data/v2-he2021-checkerboard-decoder-updates.png"], ["eval", "tests/data"]])
def test_without_torch_the_commands_that_need_it_say_so_in_one_line(command, tmp_path):
    result = run_without_torch(*command, *(["-o", str(tmp_path / "x.lic")] if command[0] == "compress" else ["--out", str(tmp_path)]))
    assert result.returncode == 1 and "pip install 'licodec[torch]'" in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


IMPORTS_AFTER = """
import sys
from licodec.cli import main
try:
    main(sys.argv[1:])
except SystemExit:  # --help and --version exit from argparse
    pass
print("torch imported:", "torch" in sys.modules)
"""


@pytest.mark.parametrize(
    "args", [["--version"], ["--help"], ["models"], ["info", "tests/data/v2-he2021-checkerboard-tiles.lic"], ["compress", "--help"]]
)
def test_commands_that_do_not_code_import_no_torch(args):
    result = subprocess.run([sys.executable, "-c", IMPORTS_AFTER, *args], capture_output=True, text=True, cwd=REPO)
    assert result.stdout.strip().splitlines()[-1] == "torch imported: False", result.stdout + result.stderr


def test_the_torch_model_decodes_where_torch_is_imported_already():
    assert torch is not None and isinstance(licodec.api._tile_decoder("licodec-mse"), licodec.models.LearnedCodec)


def test_tiles_and_alpha_decode_as_with_torch(folder):
    path = saved("he2021-checkerboard", folder)
    torch_model = load_model(path)
    rgba = np.dstack([smooth_image(40, 1100, seed=4), np.linspace(0, 255, 1100 * 40).reshape(40, 1100).astype(np.uint8)])
    data = licodec.compress(rgba, quality=70, model=torch_model)
    assert licodec.bitstream.read_header(data).tile_px > 0
    ours, theirs = licodec.decompress(data, model=Decoder(Path(path))), licodec.decompress(data, model=torch_model)
    assert ours.mode == theirs.mode == "RGBA"
    difference = np.abs(np.asarray(ours, dtype=np.int16) - np.asarray(theirs, dtype=np.int16))
    assert difference.max() <= 1 and np.array_equal(np.asarray(ours)[..., 3], rgba[..., 3])


ONE_CORE_OR_TWO = """
import hashlib, os, sys
sys.modules["torch"] = None
if sys.argv[1] == "1":
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
import licodec
print(hashlib.sha256(licodec.decompress(open(sys.argv[2], "rb").read()).tobytes()).hexdigest())
"""


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs CPU affinity (Linux)")
def test_the_numpy_decoder_gives_the_same_pixels_on_one_core_and_on_two(tmp_path):
    (tmp_path / "a.lic").write_bytes(licodec.compress(smooth_image(200, 300, seed=5), quality=90))
    digests = {
        subprocess.run(
            [sys.executable, "-c", ONE_CORE_OR_TWO, cores, str(tmp_path / "a.lic")], capture_output=True, text=True, cwd=REPO, check=True
        ).stdout
        for cores in ("1", "2")
    }
    assert len(digests) == 1


@pytest.mark.parametrize("architecture", ["mbt2018-mean", "he2021-checkerboard"])
def test_a_masked_latent_decodes_as_with_torch(architecture, tmp_path):
    model = sparse_model(architecture)
    path = tmp_path / "sparse.safetensors"
    save_weights(model, path, "test-sparse")
    torch_model, numpy_decoder = load_model(str(path)), Decoder(path)
    x = as_tensor(smooth_image(64, 128))
    streams = torch_model.compress(x, 1.0, y=latent_with_dead_channels(torch_model, x))
    y_hat = numpy_decoder.decode_symbols(streams, 64, 128)
    np.testing.assert_array_equal(y_hat, torch_model.decode_symbols(streams, 64, 128).numpy())
    assert not y_hat[:, [1, 4, 6]].any() and y_hat.any()
    expected = torch_model.decompress(streams, 1.0, 64, 128).numpy()
    assert np.abs(numpy_decoder.decompress(streams, 1.0, 64, 128) - expected).max() < 1e-4
