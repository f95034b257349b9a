import numpy as np
import pytest
import torch
from PIL import Image

from licodec.cli import main
from licodec.conventional.prefilter import PreFilter, PreFilterTraining, load_prefilter, prefilter_loss, save_prefilter, train_prefilter
from licodec.errors import UnknownModelError
from tests.conftest import smooth_image
from tests.train.conftest import image_folder  # noqa: F401  (fixture)


def test_a_new_filter_is_the_identity():
    image = Image.fromarray(smooth_image(32, 48))
    assert PreFilter().apply(image).tobytes() == image.tobytes()


def test_weights_round_trip(tmp_path):
    model = PreFilter()
    torch.nn.init.normal_(model.residual[-1].weight, std=0.01)
    save_prefilter(model, tmp_path / "f.safetensors", {"steps": 0})
    loaded = load_prefilter(str(tmp_path / "f.safetensors"))
    x = torch.rand(1, 3, 16, 16)
    assert torch.allclose(loaded(x), model(x), atol=1e-3)


def test_loss_is_differentiable_and_reports_rate_and_quality():
    model = PreFilter()
    x = torch.rand(2, 3, 176, 176)
    loss, stats = prefilter_loss(model, x, [30, 80], 40.0)
    loss.backward()
    assert model.residual[0].weight.grad is not None
    assert stats["bpp"] > 0 and 0 < stats["ms_ssim"] <= 1


def test_training_writes_weights_the_jpeg_command_uses(image_folder, tmp_path):  # noqa: F811
    folder = tmp_path / "big"
    folder.mkdir()
    for i in range(2):
        Image.fromarray(smooth_image(200, 200, seed=i)).save(folder / f"{i}.png")
    weights = tmp_path / "f.safetensors"
    train_prefilter(PreFilterTraining(data=[str(folder)], output=str(weights), steps=2, batch_size=2), log=lambda line: None)
    source = tmp_path / "p.png"
    Image.fromarray(smooth_image(64, 64)).save(source)
    assert main(["jpeg", str(source), "--prefilter", str(weights), "-q", "50"]) == 0
    assert Image.open(tmp_path / "p.jpg").format == "JPEG"


def test_missing_prefilter_weights_are_a_user_error():
    with pytest.raises(UnknownModelError, match="train-prefilter"):
        load_prefilter("no-such-prefilter")


def test_plain_jpeg_command_writes_baseline_jpeg(tmp_path):
    source = tmp_path / "p.png"
    Image.fromarray(smooth_image(40, 40)).save(source)
    assert main(["jpeg", str(source), "-q", "30", "-o", str(tmp_path / "o.jpg")]) == 0
    decoded = np.asarray(Image.open(tmp_path / "o.jpg").convert("RGB"))
    assert decoded.shape == (40, 40, 3)
