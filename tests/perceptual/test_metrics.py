"""LPIPS and DISTS against the LPIPS authors' example pair (weights: 'licodec fetch perceptual', which make test runs)."""

import numpy as np
import pytest
import torch
from PIL import Image

from licodec.perceptual import weights
from tests.conftest import REPO

pytestmark = pytest.mark.skipif(not weights.installed(), reason="run 'licodec fetch perceptual' (make test does)")
REFERENCE = REPO.parent / "shared" / "reference" / "lpips"


def image(name: str) -> torch.Tensor:
    return torch.from_numpy(np.array(Image.open(REFERENCE / f"{name}.png").convert("RGB"))).permute(2, 0, 1)[None].float() / 255


def test_lpips_alexnet_reproduces_the_reference_distances():
    from licodec.perceptual.lpips import LPIPS

    reference, p0, p1 = image("ex_ref"), image("ex_p0"), image("ex_p1")
    lpips = LPIPS("alex")
    assert round(float(lpips(reference, p0)), 3) == 0.722
    assert round(float(lpips(reference, p1)), 3) == 0.138
    assert float(lpips(reference, reference)) == 0


def test_lpips_vgg_and_dists_agree_on_which_is_closer_and_are_zero_on_equal_images():
    from licodec.perceptual.dists import DISTS
    from licodec.perceptual.lpips import LPIPS

    reference, p0, p1 = image("ex_ref"), image("ex_p0"), image("ex_p1")
    for metric in (LPIPS("vgg"), DISTS()):
        distances = metric(torch.cat([reference, reference]), torch.cat([p0, p1]))
        assert distances.shape == (2,) and 0 < float(distances[1]) < float(distances[0]) < 1
        assert abs(float(metric(reference, reference)[0])) < 1e-6


def test_the_metrics_have_gradients_for_training():
    from licodec.perceptual.lpips import LPIPS

    decoded = image("ex_p0").requires_grad_(True)
    LPIPS("alex")(image("ex_ref"), decoded).sum().backward()
    assert decoded.grad is not None and decoded.grad.abs().sum() > 0
