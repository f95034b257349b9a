"""The optional quality metrics of ``licodec eval --metrics``: LPIPS, DISTS, SSIMULACRA 2, Butteraugli.

PSNR and MS-SSIM are always measured (:mod:`licodec.metrics`); these cost more or need
something installed, so a run asks for them by name. Each is a function of the original
and the decoded 8-bit RGB image, with its direction (LPIPS, DISTS and Butteraugli are
distances: lower is better) and a version string that keys the result cache.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
from PIL import Image

from licodec.errors import CodecUnavailableError, LicodecError


@dataclass(frozen=True)
class QualityMetric:
    name: str
    label: str  # for tables and plot axes
    higher_is_better: bool
    version: Callable[[], str]
    compute: Callable[[Image.Image, Image.Image], float]


def _tensor(image: Image.Image):
    import torch

    return torch.from_numpy(np.array(image.convert("RGB"))).permute(2, 0, 1)[None].float() / 255


@cache
def _network(kind: str):
    from licodec.perceptual.dists import DISTS
    from licodec.perceptual.lpips import LPIPS

    return DISTS() if kind == "dists" else LPIPS(kind)


def _deep_metric(kind: str) -> Callable[[Image.Image, Image.Image], float]:
    def compute(original: Image.Image, decoded: Image.Image) -> float:
        import torch

        with torch.no_grad():
            return float(_network(kind)(_tensor(original), _tensor(decoded))[0])

    return compute


def _ssimulacra2(original: Image.Image, decoded: Image.Image) -> float:
    from ssimulacra2 import compute_ssimulacra2

    files = []
    for image in (original, decoded):
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, "PNG", compress_level=0)
        buffer.seek(0)
        files.append(buffer)
    return float(compute_ssimulacra2(*files))


BUTTERAUGLI = "butteraugli_main"


def _butteraugli(original: Image.Image, decoded: Image.Image) -> float:
    """libjxl's Butteraugli distance (max norm), from its command-line tool."""
    with tempfile.TemporaryDirectory() as folder:
        paths = [Path(folder) / "original.png", Path(folder) / "decoded.png"]
        for image, path in zip((original, decoded), paths, strict=True):
            image.convert("RGB").save(path)
        result = subprocess.run([BUTTERAUGLI, *map(str, paths)], capture_output=True, text=True)
    if result.returncode != 0 or not result.stdout.strip():
        raise LicodecError(f"{BUTTERAUGLI} failed: {(result.stderr.strip().splitlines() or ['no output'])[-1]}")
    return float(result.stdout.split()[0])


def _package_version(package: str) -> Callable[[], str]:
    return lambda: f"{package} {version(package)}"


@cache
def _butteraugli_version() -> str:
    result = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "libjxl-devtools"], capture_output=True, text=True)
    return f"libjxl-devtools {result.stdout.strip() or '?'}"


def _weights_version(metric: str) -> Callable[[], str]:
    """The hashes of the converted weights files ``metric`` loads (:data:`WEIGHTS`)."""

    def describe() -> str:
        from licodec.perceptual.weights import weights_file
        from licodec.storage import weights_hash

        return " ".join(f"{name} {weights_hash(weights_file(name))}" for name in WEIGHTS[metric])

    return describe


WEIGHTS = {"lpips": ("lpips-alex",), "lpips-vgg": ("lpips-vgg",), "dists": ("lpips-vgg", "dists")}
"""The converted weights files each deep metric loads."""


QUALITY_METRICS = {
    "lpips": QualityMetric("lpips", "LPIPS (AlexNet)", False, _weights_version("lpips"), _deep_metric("alex")),
    "lpips-vgg": QualityMetric("lpips-vgg", "LPIPS (VGG)", False, _weights_version("lpips-vgg"), _deep_metric("vgg")),
    "dists": QualityMetric("dists", "DISTS", False, _weights_version("dists"), _deep_metric("dists")),
    "ssimulacra2": QualityMetric("ssimulacra2", "SSIMULACRA 2", True, _package_version("ssimulacra2"), _ssimulacra2),
    "butteraugli": QualityMetric("butteraugli", "Butteraugli (max norm)", False, _butteraugli_version, _butteraugli),
}


def resolve_metrics(names: list[str]) -> list[QualityMetric]:
    """The metrics ``names`` asks for, each checked to be usable here; a one-line error otherwise."""
    metrics = []
    for name in names:
        if name not in QUALITY_METRICS:
            raise LicodecError(f"unknown metric {name!r}; known: psnr and ms-ssim (always), {', '.join(QUALITY_METRICS)}")
        _check_available(name)
        metrics.append(QUALITY_METRICS[name])
    return metrics


def _check_available(name: str) -> None:
    if name in WEIGHTS:
        from licodec.perceptual.weights import weights_file

        for file in WEIGHTS[name]:
            weights_file(file)  # raises, naming 'licodec fetch perceptual'
    elif name == "ssimulacra2":
        try:
            version("ssimulacra2")
        except PackageNotFoundError:
            raise CodecUnavailableError("SSIMULACRA 2", "licodec[eval]") from None
    elif name == "butteraugli" and shutil.which(BUTTERAUGLI) is None:
        raise LicodecError(f"Butteraugli needs {BUTTERAUGLI}; on Debian: apt-get install libjxl-devtools")
