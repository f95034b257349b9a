import math

import pytest

from licodec.eval.bdrate import bd_rate

ANCHOR = {"bpp": [0.25, 0.5, 1.0, 2.0], "psnr-rgb": [28.0, 31.0, 34.0, 37.0], "ms-ssim-rgb": [0.9, 0.95, 0.98, 0.99]}


def test_same_quality_at_half_the_rate_is_minus_fifty_percent():
    test = dict(ANCHOR, bpp=[b / 2 for b in ANCHOR["bpp"]])
    assert bd_rate(ANCHOR, test) == pytest.approx(-50.0, abs=0.5)
    assert bd_rate(ANCHOR, test, "ms-ssim-rgb") == pytest.approx(-50.0, abs=0.5)


def test_identical_curves_give_zero():
    assert bd_rate(ANCHOR, ANCHOR) == pytest.approx(0.0, abs=1e-6)


def test_non_overlapping_curves_give_nan():
    far = dict(ANCHOR, **{"psnr-rgb": [50.0, 51.0, 52.0, 53.0]})
    assert math.isnan(bd_rate(ANCHOR, far))


def test_bd_quality_is_the_mean_metric_gain_at_equal_rate():
    from licodec.eval.bdrate import bd_quality

    anchor = {"bpp": [0.25, 0.5, 1.0, 2.0], "psnr-rgb": [28.0, 31.0, 34.0, 37.0]}
    better = {"bpp": anchor["bpp"], "psnr-rgb": [p + 0.5 for p in anchor["psnr-rgb"]]}
    assert bd_quality(anchor, better) == pytest.approx(0.5, abs=1e-6)
    assert bd_quality(anchor, {"bpp": [4, 5, 6, 7], "psnr-rgb": [40, 41, 42, 43]}) != bd_quality(anchor, anchor) + 1  # no overlap: NaN


def test_a_curve_that_does_not_rise_gives_nan_not_an_error():
    flat = {"bpp": [0.5, 0.6, 0.6, 0.6], "psnr-rgb": [30.0, 29.9, 29.9, 29.9]}
    assert math.isnan(bd_rate(ANCHOR, flat))
