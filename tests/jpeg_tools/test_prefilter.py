import numpy as np
import pytest
import torch
from PIL import Image

from licodec.cli import main
from licodec.codecs import jpeg
from licodec.errors import UnknownModelError
from licodec.jpeg_tools.prefilter import PreFilter, PreFilterConfig, load_prefilter, save_prefilter, strength_for
from licodec.jpeg_tools.qtables import load_table_set
from tests.conftest import smooth_image

TINY = PreFilterConfig(channels=8, layers=3)


def test_a_new_filter_is_the_identity():
    image = Image.fromarray(smooth_image(32, 48))
    assert PreFilter(TINY).apply(image, 0.4).tobytes() == image.tobytes()


def test_weights_round_trip(tmp_path):
    model = PreFilter(TINY)
    torch.nn.init.normal_(model.residual[-1].weight, std=0.01)
    save_prefilter(model, tmp_path / "f.safetensors", {"steps": 0})
    loaded = load_prefilter(str(tmp_path / "f.safetensors"))
    x, strength = torch.rand(1, 3, 16, 16), torch.tensor([0.3])
    assert loaded.config == TINY
    assert torch.allclose(loaded(x, strength), model(x, strength), atol=1e-3)


def test_strength_follows_the_encoder_tables():
    low, high = strength_for(lambda im: jpeg.encode(im, 20)), strength_for(lambda im: jpeg.encode(im, 90))
    assert 0 < high < low < 1
    table_set = load_table_set()
    learned = strength_for(lambda im: table_set.encode(im, 20))
    assert learned == pytest.approx(low, abs=0.1) and learned != low


def test_missing_prefilter_weights_are_a_user_error():
    with pytest.raises(UnknownModelError, match="train prefilter"):
        load_prefilter("no-such-prefilter")


def test_plain_jpeg_command_writes_baseline_jpeg(tmp_path):
    source = tmp_path / "p.png"
    Image.fromarray(smooth_image(40, 40)).save(source)
    assert main(["jpeg", str(source), "-q", "30", "-o", str(tmp_path / "o.jpg")]) == 0
    decoded = np.asarray(Image.open(tmp_path / "o.jpg").convert("RGB"))
    assert decoded.shape == (40, 40, 3)


def test_the_shipped_prefilter_is_an_eval_codec_whose_files_plain_pillow_decodes():
    import io

    from licodec.eval.codecs import resolve

    image = Image.fromarray(smooth_image(48, 64))
    for name in ("jpeg+prefilter", "jpeg+tables+prefilter"):
        codec = resolve(name)
        data = codec.encode(image, 40)
        with Image.open(io.BytesIO(data)) as decoded:
            assert decoded.format == "JPEG" and decoded.size == (64, 48)
        assert data != resolve(name.rsplit("+", 1)[0]).encode(image, 40)  # the filter did edit the image


@pytest.mark.parametrize("format", ["webp", "avif"])
def test_webp_and_avif_commands_write_standard_files_of_the_pre_filtered_image(tmp_path, format):
    from licodec.codecs import CODECS

    if not CODECS[format].is_available():
        pytest.skip(f"Pillow cannot write {format}")
    source = tmp_path / "p.png"
    Image.fromarray(smooth_image(48, 64)).save(source)
    assert main([format, str(source), "-q", "40"]) == 0
    plain = (tmp_path / f"p.{format}").read_bytes()
    assert main([format, str(source), "-q", "40", "--prefilter", "-o", str(tmp_path / f"f.{format}")]) == 0
    with Image.open(tmp_path / f"f.{format}") as decoded:
        assert decoded.format == format.upper() and decoded.size == (64, 48)
    assert (tmp_path / f"f.{format}").read_bytes() != plain  # the filter did edit the image
    assert main([format, str(source), "-q", "40"]) == 1  # the first file is not overwritten without --force
    assert (tmp_path / f"p.{format}").read_bytes() == plain
    Image.new("RGBA", (8, 8), (1, 2, 3, 100)).save(tmp_path / "alpha.png")
    assert main([format, str(tmp_path / "alpha.png")]) == 1  # refused, not silently made opaque
    assert not (tmp_path / f"alpha.{format}").exists()
