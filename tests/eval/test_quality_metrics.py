"""Optional quality metrics in licodec eval: asked for by name, cached, reported with BD-rates and plots."""

import csv
import shutil

import numpy as np
import pytest
from PIL import Image

from licodec.cli import main
from licodec.errors import LicodecError
from licodec.eval import quality_metrics, runner
from licodec.eval.quality_metrics import QualityMetric, resolve_metrics
from licodec.eval.report import write_report
from licodec.image_folders import list_images
from tests.conftest import smooth_image


def mean_abs_error(calls: list) -> QualityMetric:
    """A stand-in distance (lower is better) that counts its calls."""

    def compute(original, decoded):
        calls.append(1)
        return float(np.abs(np.asarray(original, float) - np.asarray(decoded, float)).mean())

    return QualityMetric("mae", "mean absolute error", False, lambda: "mae 1", compute)


def test_a_metric_is_measured_once_then_read_from_the_cache_beside_the_rows_before_it(folder, tmp_path):
    images, sweep = list_images(folder), {"jpeg": (10, 30, 50, 70, 90), "webp": (10, 30, 50, 70, 90)}
    plain = runner.evaluate(["jpeg", "webp"], images, tmp_path, sweep, progress=False)
    assert all(not m.metrics for rows in plain.values() for m in rows)
    calls = []
    metric = mean_abs_error(calls)
    measured = runner.evaluate(["jpeg", "webp"], images, tmp_path, sweep, progress=False, metrics=[metric])
    assert len(calls) == 20 and all(m.metrics["mae"] > 0 for rows in measured.values() for m in rows)
    again = runner.evaluate(["jpeg", "webp"], images, tmp_path, sweep, progress=False, metrics=[metric])
    assert len(calls) == 20 and again["jpeg"][0].metrics == measured["jpeg"][0].metrics

    quality_metrics.QUALITY_METRICS["mae"] = metric
    try:
        curves = write_report(again, tmp_path, "jpeg")
    finally:
        del quality_metrics.QUALITY_METRICS["mae"]
    table = (tmp_path / "bd_rate.md").read_text()
    assert "mean absolute error BD-rate" in table and (tmp_path / "rd_mae.png").exists()
    assert len(curves["webp"]["mae"]) == 5
    with open(tmp_path / "per_image.csv") as f:
        assert float(next(csv.DictReader(f))["mae"]) > 0


def test_a_distance_counts_as_better_when_lower_in_bd_rates(tmp_path):
    from licodec.eval.report import bd_rate_table

    quality_metrics.QUALITY_METRICS["mae"] = mean_abs_error([])
    try:
        bpp = [0.2, 0.4, 0.8, 1.6]
        anchor = {"bpp": bpp, "psnr-rgb": [30, 32, 34, 36], "ms-ssim-rgb": [0.9, 0.93, 0.96, 0.98], "mae": [4, 3, 2, 1]}
        better = {**anchor, "bpp": [b / 2 for b in bpp]}
        table = bd_rate_table({"a": anchor, "b": better}, "a", [])
    finally:
        del quality_metrics.QUALITY_METRICS["mae"]
    assert table.splitlines()[-1].count("-50.0%") == 3


def test_unknown_and_missing_metrics_are_one_line_errors(folder, tmp_path, capsys, monkeypatch):
    with pytest.raises(LicodecError, match="unknown metric 'vmaf'"):
        resolve_metrics(["vmaf"])
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert main(["eval", str(folder), "--codecs", "jpeg", "--metrics", "butteraugli", "--out", str(tmp_path)]) == 1
    assert "apt-get install libjxl-devtools" in capsys.readouterr().err
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty"))
    assert main(["eval", str(folder), "--codecs", "jpeg", "--metrics", "dists", "--out", str(tmp_path)]) == 1
    assert "licodec fetch perceptual" in capsys.readouterr().err
    assert main(["eval", str(folder), "--task", "faces", "--metrics", "lpips", "--out", str(tmp_path)]) == 1
    assert "do not go with --lossless or --task" in capsys.readouterr().err
    assert not (tmp_path / "cache.jsonl").exists()


def test_ssimulacra2_is_100_for_an_exact_copy_and_lower_for_a_blur():
    pytest.importorskip("ssimulacra2")
    [metric] = resolve_metrics(["ssimulacra2"])
    image = Image.fromarray(smooth_image(64, 64))
    blurred = image.filter(__import__("PIL.ImageFilter").ImageFilter.GaussianBlur(2))
    assert metric.compute(image, image) == pytest.approx(100)
    assert metric.compute(image, blurred) < 90


@pytest.mark.skipif(shutil.which("butteraugli_main") is None, reason="Debian's libjxl-devtools is not installed")
def test_butteraugli_is_zero_for_an_exact_copy_and_grows_with_the_damage():
    [metric] = resolve_metrics(["butteraugli"])
    image = Image.fromarray(smooth_image(64, 64))
    noisy = [
        Image.fromarray(np.clip(np.asarray(image) + np.random.default_rng(0).normal(0, s, (64, 64, 3)), 0, 255).astype(np.uint8)) for s in (2, 8)
    ]
    assert metric.compute(image, image) == 0
    assert 0 < metric.compute(image, noisy[0]) < metric.compute(image, noisy[1])
