import pytest
from PIL import Image

import licodec
import licodec.eval.codecs
from licodec.errors import LicodecError
from licodec.eval.codecs import resolve
from tests.conftest import smooth_image


def test_a_learned_model_can_be_adapted_per_image_and_each_setting_is_its_own_cache_entry(monkeypatch):
    plain, optimized, both = resolve("licodec"), resolve("licodec+optimize:2"), resolve("licodec+optimize:2+adapt-decoder")
    weights = licodec.load_model().weights_hash
    assert plain.version == f"licodec-mse weights {weights} format {licodec.bitstream.FORMAT_VERSION}"  # a new format re-measures
    assert optimized.version == f"{plain.version} + --optimize 2"
    assert both.version.endswith("--optimize 2 + --adapt-decoder 40") and both.name == "licodec+optimize:2+adapt-decoder"
    assert resolve("licodec+optimize").version.endswith("--optimize 100")
    calls = []
    monkeypatch.setattr(licodec.eval.codecs, "compress_with", lambda image, options, model: (calls.append(options), (b"", 40.0))[1])
    both.encode(Image.fromarray(smooth_image(16, 16)), 40)
    assert (calls[0].quality, calls[0].optimize_steps, calls[0].adapt_decoder_steps) == (40, 2, 40)


@pytest.mark.parametrize(
    "name, message",
    [
        ("jpeg+optimize", "adapts a licodec model"),
        ("licodec+tables", "for conventional codecs"),
        ("licodec+optimize:many", "whole number"),
        ("licodec+sharpen", "unknown learned tool"),
    ],
)
def test_tools_that_do_not_fit_the_codec_are_refused_by_name(name, message):
    with pytest.raises(LicodecError, match=message):
        resolve(name)


def test_huffman_fitting_composes_with_the_jpeg_tools_and_changes_bytes_not_pixels():
    image = Image.fromarray(smooth_image(96, 128))
    plain, fitted = resolve("jpeg"), resolve("jpeg+huffman")
    assert fitted.version == f"{plain.version} + optimized Huffman"
    assert len(fitted.encode(image, 50)) < len(plain.encode(image, 50))
    assert fitted.decode(fitted.encode(image, 50)).tobytes() == plain.decode(plain.encode(image, 50)).tobytes()
    tables, tables_fitted = resolve("jpeg+tables"), resolve("jpeg+tables+huffman+postfilter")
    assert len(tables_fitted.encode(image, 50)) < len(resolve("jpeg+tables+postfilter").encode(image, 50))
    assert resolve("jpeg+prefilter+huffman").encode(image, 50)[:2] == b"\xff\xd8"
    assert tables.version in tables_fitted.version


@pytest.mark.parametrize(
    "name, message",
    [("webp+huffman", "does not let it set"), ("jpeg+postfilter+huffman", "before \\+postfilter"), ("jpeg+huffman+tables", "right after jpeg")],
)
def test_huffman_fitting_is_refused_where_no_jpeg_encoder_takes_it(name, message):
    with pytest.raises(LicodecError, match=message):
        resolve(name)


def test_a_weights_file_the_package_does_not_ship_is_evaluated_with_itself(tmp_path):
    from licodec.models import save_weights
    from tests.conftest import smooth_image, tiny_model

    path = tmp_path / "mine.safetensors"
    save_weights(tiny_model("he2021-checkerboard"), path, "licodec-mse")  # a candidate under the shipped name
    codec = resolve(f"licodec:{path}")
    image = smooth_image(32, 48)
    assert codec.decode(codec.encode(image, 50)).size == (48, 32)
