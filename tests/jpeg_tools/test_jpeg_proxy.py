import io

import numpy as np
import pytest
import torch
from PIL import Image

from licodec.jpeg_tools.jpeg_proxy import CHROMA_TABLE, LUMA_TABLE, jpeg_proxy, scaled_table, soft_round
from licodec.metrics import psnr
from tests.conftest import smooth_image

IMAGE = smooth_image(64, 96, seed=4)


def as_tensor(image):
    return torch.from_numpy(image.astype(np.float32)).permute(2, 0, 1)[None]


def real_jpeg(image, quality):
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def test_quality_scaling_matches_libjpeg():
    assert torch.equal(scaled_table(LUMA_TABLE, 50), LUMA_TABLE)
    assert torch.all(scaled_table(CHROMA_TABLE, 100) == 1)
    assert scaled_table(LUMA_TABLE, 1).max() == 255


@pytest.mark.parametrize("quality", [20, 75])
def test_reconstruction_is_close_to_the_real_decoder(quality):
    with torch.no_grad():
        decoded, _ = jpeg_proxy(as_tensor(IMAGE), quality)
    real = np.asarray(Image.open(io.BytesIO(real_jpeg(IMAGE, quality))).convert("RGB"))
    proxy_image = decoded[0].permute(1, 2, 0).round().byte().numpy()
    assert psnr(real, proxy_image) > 35


@pytest.mark.parametrize("quality", [20, 75])
def test_rate_estimate_is_within_fifteen_percent_of_real_files(quality):
    with torch.no_grad():
        _, bits = jpeg_proxy(as_tensor(IMAGE), quality)
    assert float(bits) == pytest.approx(8 * len(real_jpeg(IMAGE, quality)), rel=0.15)


def test_explicit_tables_follow_the_real_encoder_that_uses_them():
    from licodec.jpeg_tools.qtables import load_table_set, standard_tables

    with torch.no_grad():
        assert torch.equal(jpeg_proxy(as_tensor(IMAGE), standard_tables(40))[1], jpeg_proxy(as_tensor(IMAGE), 40)[1])
        tables = load_table_set("ms-ssim").tables(40)
        decoded, bits = jpeg_proxy(as_tensor(IMAGE), tables)
    data = load_table_set("ms-ssim").encode(Image.fromarray(IMAGE), 40)
    real = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    assert psnr(real, decoded[0].permute(1, 2, 0).round().byte().numpy()) > 35
    assert float(bits) == pytest.approx(8 * len(data), rel=0.15)


def test_gradients_reach_the_input_with_both_roundings():
    for alpha in (None, 4.0):
        x = as_tensor(IMAGE).requires_grad_(True)
        decoded, bits = jpeg_proxy(x, 50, soft_alpha=alpha)
        (bits.sum() + decoded.mean()).backward()
        assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_soft_round_approaches_rounding():
    x = torch.arange(-3, 4).repeat_interleave(9) + torch.linspace(-0.4, 0.4, 9).repeat(7)
    assert torch.allclose(soft_round(x, 50.0), torch.round(x), atol=0.02)


def test_sides_must_be_multiples_of_16():
    with pytest.raises(ValueError):
        jpeg_proxy(torch.zeros(1, 3, 20, 32), 50)
