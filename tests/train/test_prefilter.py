"""Training the JPEG pre-filter through the proxy, against real files."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from licodec.cli import main
from licodec.errors import LicodecError
from licodec.jpeg_tools.prefilter import PreFilter, PreFilterConfig, load_prefilter, save_prefilter, strength_for
from licodec.jpeg_tools.qtables import load_table_set, standard_tables
from licodec.perceptual import weights as perceptual_weights
from licodec.train.prefilter import (
    OperatingPoint,
    PreFilterTraining,
    operating_points,
    plain_costs,
    prefilter_costs,
    relative_cost,
    train_prefilter,
)
from tests.conftest import smooth_image

TINY = PreFilterConfig(channels=8, layers=3)


def point(quality: int, lmbda: float) -> OperatingPoint:
    return OperatingPoint(standard_tables(quality), lmbda)


def crops(count: int, size: int = 176) -> torch.Tensor:
    return torch.stack([torch.from_numpy(smooth_image(size, size, seed=i)).permute(2, 0, 1).float() / 255 for i in range(count)])


def test_operating_points_have_a_positive_slope_that_rises_with_quality():
    points = operating_points([smooth_image(176, 176, seed=i) for i in range(2)], (30, 80))
    assert points[80].lmbda > points[30].lmbda > 0  # bits grow ever faster per unit of MS-SSIM
    assert points[30].strength > points[80].strength


def test_operating_points_of_a_table_set_use_its_tables_and_its_own_curve():
    images = [smooth_image(176, 176, seed=i) for i in range(2)]
    table_set = load_table_set("ms-ssim")
    learned, plain = operating_points(images, (40,), table_set)[40], operating_points(images, (40,))[40]
    assert learned.tables == table_set.tables(40) and plain.tables == standard_tables(40)
    assert learned.strength == strength_for(lambda im: table_set.encode(im, 40))
    assert learned.lmbda > 0 and learned.lmbda != plain.lmbda


def test_the_identity_filter_costs_exactly_what_the_encoder_costs_with_learned_tables_too():
    x = torch.round(crops(2) * 255) / 255
    table_set = load_table_set("ms-ssim")
    points = [OperatingPoint(table_set.tables(30), 5.0), OperatingPoint(table_set.tables(80), 20.0)]
    costs, bpp, _, _ = prefilter_costs(PreFilter(TINY), x, points)
    assert torch.allclose(costs.detach(), plain_costs(x, points), rtol=1e-5)
    sizes = [len(table_set.encode(Image.fromarray(np.rint(c.permute(1, 2, 0).numpy() * 255).astype(np.uint8)), q)) for c, q in zip(x, (30, 80))]
    assert bpp.tolist() == pytest.approx([8 * n / 176**2 for n in sizes])


def test_the_identity_filter_costs_exactly_what_plain_jpeg_costs():
    x = torch.round(crops(2) * 255) / 255
    points = [point(30, 5.0), point(80, 20.0)]
    costs, bpp, distortion, decoded = prefilter_costs(PreFilter(TINY), x, points)
    assert torch.allclose(costs.detach(), plain_costs(x, points), rtol=1e-5)
    assert (bpp > 0).all() and ((distortion > 0) & (distortion < 1)).all()  # 1 - MS-SSIM
    assert decoded.shape == x.shape and float(decoded.detach().min()) >= 0 and float(decoded.detach().max()) <= 1


def test_the_loss_reaches_the_filter_through_the_proxy():
    x = torch.round(crops(2) * 255) / 255
    model = PreFilter(TINY)
    loss, stats, _ = relative_cost(model, x, [point(30, 5.0), point(70, 10.0)], soft_alpha=2.0)
    loss.backward()
    assert stats["cost_change"] == pytest.approx(0, abs=1e-5)
    assert model.residual[-1].weight.grad.abs().sum() > 0


@pytest.fixture
def image_folder(tmp_path, monkeypatch):
    """Three 200-pixel images; ``0.png`` is the held-out one."""
    import licodec.train.data as data

    folder = tmp_path / "big"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(smooth_image(200, 200, seed=i)).save(folder / f"{i}.png")
    monkeypatch.setattr(data, "is_validation", lambda path, fraction: path.name == "0.png")
    return folder


def test_training_keeps_the_best_held_out_weights_and_the_jpeg_command_uses_them(tmp_path, image_folder):
    weights = tmp_path / "f.safetensors"
    lines = []
    settings = PreFilterTraining(
        data=[str(image_folder)], output=str(weights), steps=2, batch_size=2, qualities=(40, 60), validation_crops=2, validate_every=1, config=TINY
    )
    train_prefilter(settings, log=lines.append)
    assert any('"saved": true' in line for line in lines)
    source = tmp_path / "p.png"
    Image.fromarray(smooth_image(64, 64)).save(source)
    assert main(["jpeg", str(source), "--prefilter", str(weights), "--tables", "-q", "50"]) == 0
    assert Image.open(tmp_path / "p.jpg").format == "JPEG"


def test_training_for_a_table_set_can_start_from_a_trained_filter(tmp_path, image_folder):
    from safetensors import safe_open

    start = PreFilter(TINY)
    torch.nn.init.normal_(start.residual[-1].weight, std=0.01)
    save_prefilter(start, tmp_path / "start.safetensors", {})
    settings = PreFilterTraining(
        data=[str(image_folder)], output=str(tmp_path / "f.safetensors"), steps=0, qualities=(40,), validation_crops=1,
        tables="ms-ssim", init=str(tmp_path / "start.safetensors"),
    )  # fmt: skip
    trained = train_prefilter(settings, log=lambda line: None)
    x = torch.rand(1, 3, 16, 16)
    assert torch.equal(trained(x, torch.tensor([0.4])), load_prefilter(str(tmp_path / "start.safetensors"))(x, torch.tensor([0.4])))
    with safe_open(str(tmp_path / "f.safetensors"), framework="pt") as handle:
        described = json.loads(handle.metadata()["extra"])["settings"]
    assert described["tables"] == "ms-ssim" and described["tables_digest"] == load_table_set("ms-ssim").digest
    assert described["config"] == {"channels": TINY.channels, "layers": TINY.layers}  # the start's, not the default


def test_train_prefilter_refuses_unknown_tables_before_any_work(tmp_path, capsys):
    assert main(["train-prefilter", str(tmp_path), "-o", str(tmp_path / "f.safetensors"), "--tables", "no-such"]) == 1
    assert "no-such" in capsys.readouterr().err and not (tmp_path / "f.safetensors").exists()


@pytest.mark.skipif(not perceptual_weights.installed(), reason="run 'licodec fetch perceptual' (make test does)")
def test_the_perceptual_variant_trains_against_a_discriminator_and_the_jpeg_command_takes_it(tmp_path, image_folder, monkeypatch):
    import licodec.jpeg_tools.prefilter as shipped

    weights = tmp_path / "prefilter-jpeg-perceptual.safetensors"
    lines = []
    settings = PreFilterTraining(
        data=[str(image_folder)], output=str(weights), steps=2, batch_size=2, qualities=(40, 60), validation_crops=2, validate_every=1,
        config=TINY, objective="perceptual", adversarial_weight=0.1,
    )  # fmt: skip
    train_prefilter(settings, log=lines.append)
    rows = [json.loads(line) for line in lines]
    assert rows[0]["lambdas"]["40"] > 0  # the slope of plain JPEG's (1 - MS-SSIM + LPIPS) curve
    steps = [row for row in rows if "adversarial" in row]
    assert steps and all(row["adversarial"] > 0 and row["discriminator"] > 0 for row in steps)
    held_out = [row["held_out"] for row in rows if "held_out" in row]
    assert all(row["distortion"] > 0 for row in held_out)
    monkeypatch.setattr(shipped, "find_file", lambda name, *args: tmp_path / f"{name}.safetensors")
    source = tmp_path / "p.png"
    Image.fromarray(smooth_image(64, 64)).save(source)
    assert main(["jpeg", str(source), "--prefilter", "perceptual", "-q", "50"]) == 0
    assert Image.open(tmp_path / "p.jpg").format == "JPEG"


def test_an_unknown_objective_is_a_clear_error(tmp_path, image_folder):
    settings = PreFilterTraining(data=[str(image_folder)], output=str(tmp_path / "f.safetensors"), objective="psnr")
    with pytest.raises(LicodecError, match="unknown pre-filter objective"):
        train_prefilter(settings)
