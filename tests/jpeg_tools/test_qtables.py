import io
import json

import numpy as np
import pytest
from PIL import Image

from licodec.errors import LicodecError, UnknownModelError
from licodec.eval.codecs import resolve
from licodec.jpeg_tools.qtables import TableSet, encode, load_table_set, save_table_set, standard_tables
from tests.conftest import smooth_image

ANNEX_K_LUMA_ROW = [16, 11, 10, 16, 24, 40, 51, 61]  # libjpeg's table at quality 50 is Annex K itself


def textured(size: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 12, (size, size, 3))
    return np.clip(smooth_image(size, size, seed=seed) + noise, 0, 255).astype(np.uint8)


def test_standard_tables_are_libjpegs_in_natural_order():
    luma, chroma = standard_tables(50)
    assert luma[:8] == ANNEX_K_LUMA_ROW and len(chroma) == 64


def test_encoded_files_are_baseline_jpeg_carrying_the_given_tables():
    tables = ([3] * 64, list(range(1, 65)))
    data = encode(Image.fromarray(textured(48, 0)), tables)
    assert b"\xff\xc0" in data and b"\xff\xc2" not in data  # SOF0: baseline, not progressive
    with Image.open(io.BytesIO(data)) as image:
        assert [list(t) for t in image.quantization.values()] == [tables[0], tables[1]]
        assert image.size == (48, 48)


def test_tables_outside_baseline_range_are_refused():
    with pytest.raises(LicodecError, match="1..255"):
        encode(Image.new("RGB", (8, 8)), ([0] * 64, [1] * 64))


def test_qualities_between_anchors_interpolate_and_outside_clamp():
    low, high = ([10] * 64, [40] * 64), ([40] * 64, [160] * 64)
    table_set = TableSet("t", "psnr", {10: low, 50: high}, "x")
    assert table_set.tables(10) == low and table_set.tables(1) == low and table_set.tables(99) == high
    middle = table_set.tables(30)
    assert middle == ([20] * 64, [80] * 64)  # geometric halfway


def test_a_shipped_set_can_be_named_by_its_metric():
    assert load_table_set("psnr").name == load_table_set().name == "qtables-jpeg-psnr"
    shipped = load_table_set("ms-ssim")
    assert shipped.name == "qtables-jpeg-ms-ssim" and shipped.metric == "ms-ssim" and len(shipped.anchors) == 11


def test_bad_or_missing_table_files_are_user_errors(tmp_path):
    with pytest.raises(UnknownModelError, match="train tables"):
        load_table_set("no-such-tables")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(LicodecError, match="not a licodec quantisation-table file"):
        load_table_set(str(bad))
    bad.write_text("[1, 2]")
    with pytest.raises(LicodecError, match="not a licodec quantisation-table file"):
        load_table_set(str(bad))


def test_eval_names_combine_a_codec_with_a_learned_tool():
    with pytest.raises(LicodecError, match="unknown learned tool"):
        resolve("jpeg+sharpen")
    with pytest.raises(LicodecError, match="jpeg only"):
        resolve("webp+tables")
    with pytest.raises(UnknownModelError, match="train tables"):
        resolve("jpeg+tables:no-such-tables")


def test_an_eval_tool_can_name_a_table_set_other_than_the_default(tmp_path):
    path = tmp_path / "flat+v2.json"  # a '+' in a named file is not taken for another tool
    save_table_set(path, "psnr", {50: ([7] * 64, [9] * 64)}, {"crops": 0})
    named, default = resolve(f"jpeg+tables:{path}"), resolve("jpeg+tables")
    assert named.version != default.version and "flat+v2" in named.description
    assert resolve(f"jpeg+tables:{path}+prefilter").name == f"jpeg+tables:{path}+prefilter"
    with Image.open(io.BytesIO(named.encode(Image.fromarray(textured(32, 1)), 50))) as image:
        assert list(image.quantization[0]) == [7] * 64
