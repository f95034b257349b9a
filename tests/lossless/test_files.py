import dataclasses
import json

import numpy as np
import pytest
from PIL import Image

import licodec
from licodec.bitstream import LicFile
from licodec.cli import main
from licodec.errors import CorruptBitstreamError, LicodecError
from licodec.lossless.codec import pack_info
from licodec.lossless.files import compress_lossless
from licodec.lossless.weights import load_lossless_model, save_lossless
from licodec.nn.integer_network import FixedPointNetwork
from tests.conftest import smooth_image, tiny_lossless_coder


def image_of(mode: str) -> Image.Image:
    rgb = smooth_image(23, 31)
    alpha = smooth_image(23, 31, seed=3)[..., 0]
    if mode == "RGB":
        return Image.fromarray(rgb)
    if mode == "RGBA":
        return Image.fromarray(np.dstack([rgb, alpha]))
    if mode == "L":
        return Image.fromarray(rgb[..., 1])
    if mode == "LA":
        return Image.fromarray(np.dstack([rgb[..., 1], alpha]), "LA")
    return Image.fromarray(rgb).quantize(17)  # "P": decodes as the RGB it shows


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "P"])
def test_every_8_bit_mode_decodes_to_exactly_the_input(lossless_weights, mode):
    image = image_of(mode)
    data = licodec.compress(image, lossless=True, model=str(lossless_weights))
    decoded = licodec.decompress(data, model=str(lossless_weights))
    expected = image.convert("RGB") if mode == "P" else image
    assert decoded.mode == expected.mode and decoded.size == expected.size
    np.testing.assert_array_equal(np.asarray(decoded), np.asarray(expected))


def test_a_large_image_is_coded_in_tiles(lossless_weights):
    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, size=(3, 1030, 3), dtype=np.uint8))
    data = licodec.compress(image, lossless=True, lossless_profile="fast", model=str(lossless_weights))
    assert len(LicFile.from_bytes(data).tiles) == 2
    np.testing.assert_array_equal(np.asarray(licodec.decompress(data, model=str(lossless_weights))), np.asarray(image))


def test_a_decoded_image_that_misses_its_checksum_is_an_error(lossless_weights):
    lic = LicFile.from_bytes(licodec.compress(image_of("RGB"), lossless=True, model=str(lossless_weights)))
    forged = dataclasses.replace(lic, lossless=pack_info("default", bytes(32))).to_bytes()
    with pytest.raises(CorruptBitstreamError, match="checksum"):
        licodec.decompress(forged, model=str(lossless_weights))


@pytest.mark.parametrize(
    "options, message",
    [
        ({"roi": np.ones((23, 31), np.uint8)}, "region of interest do not apply"),
        ({"target_bytes": 100}, "target size do not apply"),
        ({"lossless_profile": "best"}, "unknown lossless profile"),
    ],
)
def test_lossy_options_and_unknown_profiles_are_refused(lossless_weights, options, message):
    with pytest.raises(LicodecError, match=message):
        licodec.compress(image_of("RGB"), lossless=True, model=str(lossless_weights), **options)


def test_16_bit_images_are_refused_never_reduced(lossless_weights):
    image = Image.fromarray(np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000)
    assert image.mode == "I;16"
    with pytest.raises(LicodecError, match="16 bits per sample"):
        licodec.compress(image, lossless=True, model=str(lossless_weights))


def test_the_command_line_codes_losslessly_and_info_says_so(lossless_weights, tmp_path, capsys):
    source = tmp_path / "a.png"
    image_of("RGBA").save(source)
    assert main(["compress", str(source), "--lossless", "--lossless-profile", "max", "--model", str(lossless_weights)]) == 0
    assert "lossless (max)" in capsys.readouterr().out
    assert main(["decompress", str(tmp_path / "a.lic"), "-o", str(tmp_path / "b.png"), "--model", str(lossless_weights)]) == 0
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "b.png")), np.asarray(Image.open(source)))
    capsys.readouterr()
    assert main(["info", str(tmp_path / "a.lic"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["lossless"] is True and info["lossless_profile"] == "max" and info["quality"] is None and info["model"] == "test-lossless"


def test_eval_lossless_measures_every_codec_and_checks_each_file_exact(lossless_weights, tmp_path, capsys):
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(2):
        Image.fromarray(smooth_image(24, 40, seed=i)).save(folder / f"{i}.png")
    assert main(["eval", str(folder), "--lossless", "--model", str(lossless_weights), "--out", str(tmp_path / "out")]) == 0
    rows = json.loads((tmp_path / "out" / "lossless.json").read_text())["rows"]
    names = {r["codec"] for r in rows}
    assert {"licodec fast", "licodec default", "licodec max", "licodec default +adapt-decoder", "PNG (optimize)"} <= names
    assert all(r["exact"] for r in rows) and len(rows) == 2 * len(names)
    assert "| licodec max |" in (tmp_path / "out" / "lossless.md").read_text()


def test_eval_lossless_keeps_the_conventional_rows_of_the_same_images_and_redoes_licodecs(lossless_weights, tmp_path, monkeypatch):
    from licodec.eval import lossless as evaluation

    folder = tmp_path / "images"
    folder.mkdir()
    Image.fromarray(smooth_image(16, 24)).save(folder / "a.png")
    png = evaluation.LosslessCodec("PNG (optimize)", *evaluation._pillow("PNG", optimize=True))
    first = evaluation.evaluate([png], [folder / "a.png"], tmp_path / "out")
    refusing = dataclasses.replace(png, encode=lambda image: pytest.fail("measured again"))
    assert evaluation.evaluate([refusing], [folder / "a.png"], tmp_path / "out") == first
    Image.fromarray(smooth_image(16, 24, seed=1)).save(folder / "a.png")  # another image under the same name
    calls = []
    counting = dataclasses.replace(png, encode=lambda image: calls.append(1) or png.encode(image))
    evaluation.evaluate([counting], [folder / "a.png"], tmp_path / "out")
    assert calls == [1] and all(not c.reusable for c in evaluation.licodec_codecs(str(lossless_weights)))


def test_models_lists_the_lossless_model(capsys):
    assert main(["models", "--json"]) == 0
    lossless = json.loads(capsys.readouterr().out)["lossless"]
    assert lossless["name"] == "licodec-lossless" and (lossless["weights_hash"] is not None) == lossless["installed"]


def test_the_shipped_lossless_model_codes_exactly():
    image = image_of("RGB")
    data = licodec.compress(image, lossless=True, lossless_profile="fast")
    assert LicFile.from_bytes(data).header.model_name == "licodec-lossless"
    np.testing.assert_array_equal(np.asarray(licodec.decompress(data)), np.asarray(image))


@pytest.mark.parametrize("mode", ["RGB", "LA"])
def test_bias_updates_travel_in_the_file_and_decode_exactly(lossless_weights, mode):
    image = image_of(mode)
    sizes = load_lossless_model(str(lossless_weights)).coder.head_bias_sizes()
    updates = np.random.default_rng(0).integers(-20, 21, size=sum(sizes.values())).astype(np.int8)
    plain = compress_lossless(image, "default", str(lossless_weights))
    moved = compress_lossless(image, "default", str(lossless_weights), updates)
    assert LicFile.from_bytes(moved).tiles != LicFile.from_bytes(plain).tiles
    np.testing.assert_array_equal(np.asarray(licodec.decompress(moved, model=str(lossless_weights))), np.asarray(image))


def test_damaged_bias_updates_are_one_error(lossless_weights):
    lic = LicFile.from_bytes(licodec.compress(image_of("RGB"), lossless=True, model=str(lossless_weights)))
    forged = dataclasses.replace(lic, lossless=lic.lossless + b"not zlib").to_bytes()
    with pytest.raises(CorruptBitstreamError, match="decoder-update stream"):
        licodec.decompress(forged, model=str(lossless_weights))


def test_weights_of_another_lossless_format_are_one_error(tmp_path):
    coder = tiny_lossless_coder()
    narrower = dataclasses.replace(coder.entries.layers[0], weight=coder.entries.layers[0].weight[:, :24])  # no symbols
    older = dataclasses.replace(coder, entries=FixedPointNetwork((narrower, *coder.entries.layers[1:])))
    save_lossless(older, tmp_path / "old.safetensors", "old-lossless", {})
    with pytest.raises(LicodecError, match="not a licodec lossless weights file.*another format"):
        licodec.compress(image_of("RGB"), lossless=True, model=str(tmp_path / "old.safetensors"))
