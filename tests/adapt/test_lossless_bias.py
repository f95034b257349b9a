import json

import numpy as np
import torch
from PIL import Image

import licodec
from licodec.adapt.lossless_bias import fit_lossless_bias_updates
from licodec.cli import main
from licodec.coding.decoder_updates import to_updates
from licodec.lossless.model import float_model
from licodec.lossless.order import pyramid, schedule, to_grid, to_ycocg
from licodec.lossless.weights import load_lossless_model
from tests.conftest import smooth_image


def bits(coder, planes: np.ndarray) -> float:
    model = float_model(coder)
    with torch.no_grad():
        grids = [torch.from_numpy(to_grid(s)).float()[None] for s in pyramid(to_ycocg(planes.transpose(2, 0, 1)))[:3]]
        return sum(float(model.scale_bits(g, schedule("fast", 3))[0]) for g in grids)


def test_the_fitted_updates_lower_the_bits_of_the_image_they_were_fitted_to(lossless_weights):
    coder = load_lossless_model(str(lossless_weights)).coder
    planes = smooth_image(32, 40)
    updates = fit_lossless_bias_updates(coder, planes, steps=15)
    assert updates.dtype == np.int8 and updates.shape == (sum(coder.head_bias_sizes().values()),) and updates.any()
    assert bits(coder.with_bias_updates(to_updates(coder.head_bias_sizes(), updates)), planes) < bits(coder, planes)


def test_compress_sends_them_only_when_the_file_comes_out_smaller(lossless_weights, tmp_path, capsys):
    source = tmp_path / "a.png"
    Image.fromarray(smooth_image(32, 40)).save(source)
    plain = licodec.compress(Image.open(source), lossless=True, model=str(lossless_weights))
    assert main(["compress", str(source), "--lossless", "--adapt-decoder", "15", "--model", str(lossless_weights)]) == 0
    adapted = (tmp_path / "a.lic").read_bytes()
    assert len(adapted) <= len(plain)
    np.testing.assert_array_equal(np.asarray(licodec.decompress(adapted, model=str(lossless_weights))), np.asarray(Image.open(source)))
    capsys.readouterr()
    assert main(["info", str(tmp_path / "a.lic"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["lossless_bias_updates"] is (len(adapted) < len(plain))


def test_an_image_too_small_to_fit_gets_no_updates(lossless_weights):
    coder = load_lossless_model(str(lossless_weights)).coder
    assert not fit_lossless_bias_updates(coder, smooth_image(5, 40), steps=3).any()


def test_grey_images_are_fitted_as_the_coder_reads_them(lossless_weights):
    image = Image.fromarray(smooth_image(24, 32)[..., 1])
    data = licodec.compress(image, lossless=True, model=str(lossless_weights), adapt_decoder_steps=5)
    np.testing.assert_array_equal(np.asarray(licodec.decompress(data, model=str(lossless_weights))), np.asarray(image))
