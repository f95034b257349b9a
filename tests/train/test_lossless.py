import json

import numpy as np
import torch
from PIL import Image

import licodec
from licodec.cli import main
from licodec.train.lossless import lossless_images, sample_grids
from tests.conftest import smooth_image

TINY = ["--width", "8", "--entry-width", "8", "--head-width", "8", "--batch-size", "2", "--crop", "16", "--log-every", "1"]


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


def test_jpeg_sources_are_left_out_and_each_sample_sees_one_step(image_folder):
    data = lossless_images([str(image_folder)], 32)
    assert len(data) == 5  # the five PNGs, not the JPEG
    grids, known, targets = sample_grids(data, 0, 0, 8, 16)
    assert grids.shape == (8, 12, 8, 8) and grids.max() <= 255
    assert not (known & targets).any() and targets.flatten(1).any(1).all() and known[:, :3].all()


def test_a_device_this_machine_lacks_is_one_line(image_folder, tmp_path, capsys):
    if torch.cuda.is_available():
        return
    assert main(["train", "lossless", str(image_folder), "--run-dir", str(tmp_path), "--device", "cuda", *TINY]) == 1
    assert "sees no CUDA GPU" in capsys.readouterr().err
