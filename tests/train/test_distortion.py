import json

import pytest
import torch
from PIL import Image

from licodec.cli import main
from licodec.errors import LicodecError
from licodec.perceptual import weights
from licodec.train.distortion import distortion_measure, mean_squared_error, ms_ssim_loss, needs_large_crops
from tests.conftest import smooth_image
from tests.train.conftest import TINY_ARGS

needs_weights = pytest.mark.skipif(not weights.installed(), reason="run 'licodec fetch perceptual' (make test does)")


def images(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(seed)
    x = torch.rand(2, 3, 192, 192)
    blurred = torch.nn.functional.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
    return x, blurred


def test_mse_is_in_the_units_of_its_ladder():
    x, blurred = images()
    expected = 255**2 * ((blurred - x) ** 2).mean(dim=(1, 2, 3))
    assert torch.allclose(distortion_measure("mse")(blurred, x), expected)
    assert distortion_measure("mse") is mean_squared_error


@needs_weights
def test_perceptual_distortion_is_ms_ssim_plus_lpips_and_has_gradients():
    from licodec.perceptual.lpips import LPIPS

    x, blurred = images()
    perceptual = distortion_measure("perceptual")
    assert torch.allclose(perceptual(x, x), torch.zeros(2), atol=1e-6)
    expected = ms_ssim_loss(blurred, x) + LPIPS("alex")(blurred, x)
    assert torch.allclose(perceptual(blurred, x), expected)
    decoded = blurred.clone().requires_grad_(True)
    perceptual(decoded, x).sum().backward()
    assert decoded.grad is not None and float(decoded.grad.abs().sum()) > 0
    assert not any(p.requires_grad for p in perceptual.parameters())  # the metric is frozen: only the codec learns


def test_unknown_distortion_is_a_clear_error():
    with pytest.raises(LicodecError, match="unknown distortion 'psnr'"):
        distortion_measure("psnr")


def test_the_distortions_with_ms_ssim_need_large_crops(image_folder, tmp_path, capsys):
    assert needs_large_crops("perceptual") and needs_large_crops("ms-ssim") and not needs_large_crops("mse")
    assert main(["train", "model", str(image_folder), "--run-dir", str(tmp_path), "--steps", "1", "--distortion", "perceptual", *TINY_ARGS]) == 1
    assert "crops of at least 192" in capsys.readouterr().err


@needs_weights
def test_a_perceptual_run_trains_and_records_its_distortion(tmp_path):
    args = [a if a != "64" else "192" for a in TINY_ARGS]
    big = tmp_path / "big"
    big.mkdir()
    for i in range(3):
        Image.fromarray(smooth_image(200, 200, seed=i)).save(big / f"{i}.png")
    run = tmp_path / "run"
    assert main(["train", "model", str(big), "--run-dir", str(run), "--steps", "2", "--distortion", "perceptual", *args]) == 0
    rows = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert rows[0]["settings"]["config"]["distortion"] == "perceptual"
    assert all(row["loss"] > row["bpp"] for row in rows if "loss" in row)
