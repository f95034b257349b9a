"""Bjøntegaard-delta rate between two RD curves, with the ``bjontegaard`` package (Akima)."""

from __future__ import annotations

import math

import numpy as np


def bd_quality(anchor: dict[str, list[float]], test: dict[str, list[float]], metric: str = "psnr-rgb") -> float:
    """Average ``metric`` difference of ``test`` against ``anchor`` at equal rate (BD-PSNR for PSNR); NaN if the rates do not overlap."""
    import bjontegaard

    ra, da = _points(anchor, metric, False)
    rt, dt = _points(test, metric, False)
    if len(ra) < 4 or len(rt) < 4 or min(ra.max(), rt.max()) <= max(ra.min(), rt.min()):
        return math.nan
    try:
        return float(bjontegaard.bd_psnr(ra, da, rt, dt, method="akima", require_matching_points=False, min_overlap=0.0))
    except (ValueError, ZeroDivisionError, AssertionError):  # AssertionError: bjontegaard refuses curves that do not rise
        return math.nan


def bd_rate(anchor: dict[str, list[float]], test: dict[str, list[float]], metric: str = "psnr-rgb", envelope: bool = False) -> float:
    """Average rate difference (%) of ``test`` against ``anchor`` at equal ``metric``; NaN if they do not overlap.

    MS-SSIM is compared in dB, -10 log10(1 - MS-SSIM), as is customary. With ``envelope``,
    a point that does not raise the metric above every cheaper point is left out: task
    metrics (OCR accuracy, detection F1) saturate and wobble, and the interpolation
    needs the metric to rise with the rate.
    """
    import bjontegaard  # the eval extra: imported where used, so the library works without it

    ra, da = _points(anchor, metric, envelope)
    rt, dt = _points(test, metric, envelope)
    if len(ra) < 4 or len(rt) < 4:
        return math.nan
    overlap = min(da.max(), dt.max()) - max(da.min(), dt.min())
    if overlap <= 0:
        return math.nan
    try:
        return float(bjontegaard.bd_rate(ra, da, rt, dt, method="akima", require_matching_points=False, min_overlap=0.0))
    except (ValueError, ZeroDivisionError, AssertionError):  # AssertionError: bjontegaard refuses curves that do not rise
        return math.nan


def _points(curve: dict[str, list[float]], metric: str, envelope: bool) -> tuple[np.ndarray, np.ndarray]:
    """The finite (rate, metric) points of ``curve`` by rising rate; MS-SSIM in dB; with ``envelope``, only rising points."""
    rate = np.asarray(curve["bpp"], dtype=float)
    dist = np.asarray(curve[metric], dtype=float)
    if metric.startswith("ms-ssim"):
        dist = -10 * np.log10(np.clip(1 - dist, 1e-12, None))
    keep = np.isfinite(rate) & np.isfinite(dist) & (rate > 0)
    order = np.argsort(rate[keep])
    rate, dist = rate[keep][order], dist[keep][order]
    if envelope:
        rising = dist > np.concatenate(([-np.inf], np.maximum.accumulate(dist)[:-1]))
        rate, dist = rate[rising], dist[rising]
    return rate, dist
