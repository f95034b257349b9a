import dataclasses
import json

import numpy as np
import pytest
import torch
from PIL import Image

import licodec
from licodec.cli import main
from licodec.lossless.codec import NETWORKS
from licodec.lossless.model import LosslessConfig, MultiScaleProgressive, compile_coder
from licodec.lossless.order import ENTRIES, PROFILES, schedule
from licodec.lossless.weights import save_lossless
from licodec.nn.fixed_point import load_into_float
from licodec.nn.integer_network import FixedPointNetwork
from licodec.train.lossless import LosslessTrainer, LosslessTraining, lossless_images, sample_grids
from tests.conftest import smooth_image

TINY = ["--width", "8", "--entry-width", "8", "--head-width", "8", "--batch-size", "2", "--crop", "16", "--log-every", "1"]
TINY_CONFIG = LosslessConfig(width=8, context_layers=2, entry_width=8, entry_layers=1, head_width=8)


def train(folder, run_dir, steps, *extra):
    assert main(["train", "lossless", str(folder), "--run-dir", str(run_dir), "--steps", str(steps), *TINY, *extra]) == 0
    return torch.load(run_dir / "checkpoint.pt", weights_only=False)


def test_training_resumes_exactly_and_exports_weights_that_code_losslessly(image_folder, tmp_path):
    straight = train(image_folder, tmp_path / "a", 4, "--export", str(tmp_path / "a.safetensors"))
    train(image_folder, tmp_path / "b", 2)
    resumed = train(image_folder, tmp_path / "b", 4, "--resume")
    for key, value in straight["model"].items():
        assert torch.equal(value, resumed["model"][key]), key
    rows = [json.loads(line) for line in (tmp_path / "a" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "bpsp" in r] == [1, 2, 3, 4]
    image = Image.fromarray(smooth_image(20, 28))
    data = licodec.compress(image, lossless=True, model=str(tmp_path / "a.safetensors"))
    np.testing.assert_array_equal(np.asarray(licodec.decompress(data, model=str(tmp_path / "a.safetensors"))), np.asarray(image))


def test_jpeg_sources_are_left_out_and_each_batch_is_coded_in_one_profile(image_folder):
    data = lossless_images([str(image_folder)], 32)
    assert len(data) == 5  # the five PNGs, not the JPEG
    grids, profile = sample_grids(data, 0, 0, 8, 16)
    assert grids.shape == (8, 12, 8, 8) and grids.max() <= 255 and profile in PROFILES
    assert {sample_grids(data, 0, step, 1, 16)[1] for step in range(20)} == set(PROFILES)


@pytest.mark.parametrize("earlier_format", [False, True])
def test_growing_a_smaller_model_keeps_what_it_computes(image_folder, tmp_path, earlier_format):
    torch.manual_seed(0)
    small = MultiScaleProgressive(TINY_CONFIG)
    if earlier_format:  # one that read no symbols and wrote no channel coefficients
        with torch.no_grad():
            small.entries[0].weight[:, 2 * ENTRIES :] = 0
            small.head[-1].weight[2 * ENTRIES :] = 0
            small.head[-1].bias[2 * ENTRIES :] = 0
    coder = compile_coder(small)
    for name in NETWORKS:
        load_into_float(getattr(coder, name), getattr(small, name))
    if earlier_format:
        first, last = coder.entries.layers[0], coder.head.layers[-1]
        coder = dataclasses.replace(
            coder,
            entries=FixedPointNetwork((first.select(inputs=np.arange(2 * ENTRIES)), *coder.entries.layers[1:])),
            head=FixedPointNetwork((*coder.head.layers[:-1], last.select(outputs=np.arange(2 * ENTRIES)))),
        )
    save_lossless(coder, tmp_path / "small.safetensors", "small", {})
    settings = LosslessTraining(data=[str(image_folder)], run_dir=str(tmp_path / "run"), init_weights=str(tmp_path / "small.safetensors"))
    large = LosslessTrainer(settings).model  # the default configuration: wider, deeper
    grids, _ = sample_grids(lossless_images([str(image_folder)], 32), 0, 0, 4, 16)
    with torch.no_grad():
        for profile in PROFILES:
            torch.testing.assert_close(large.scale_bits(grids, schedule(profile, 3)), small.scale_bits(grids, schedule(profile, 3)))


def test_a_device_this_machine_lacks_is_one_line(image_folder, tmp_path, capsys):
    if torch.cuda.is_available():
        return
    assert main(["train", "lossless", str(image_folder), "--run-dir", str(tmp_path), "--device", "cuda", *TINY]) == 1
    assert "sees no CUDA GPU" in capsys.readouterr().err
