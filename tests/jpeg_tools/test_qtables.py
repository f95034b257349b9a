import io
import json

import numpy as np
import pytest
from PIL import Image

from licodec.cli import main
from licodec.errors import LicodecError, UnknownModelError
from licodec.eval.codecs import resolve
from licodec.jpeg_tools.qtables import TableSet, encode, load_table_set, save_table_set, standard_tables
from licodec.train.jpeg_tables import TableObjective, learn_tables
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


def test_learning_lowers_the_real_cost_and_round_trips(tmp_path):
    objective = TableObjective([textured(64, 1), textured(64, 2)], "psnr")
    learned = learn_tables(objective, 40, passes=1, log=lambda line: None)
    assert all(1 <= v <= 255 for v in learned[0] + learned[1])
    assert learned != standard_tables(40)
    path = tmp_path / "t.json"
    save_table_set(path, "psnr", {40: learned}, {"crops": 2})
    loaded = load_table_set(str(path))
    assert loaded.anchors == {40: learned} and loaded.metric == "psnr" and len(loaded.digest) == 16


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


def test_train_tables_then_jpeg_command_writes_a_file_any_decoder_opens(tmp_path, capsys):
    folder = tmp_path / "train"
    folder.mkdir()
    Image.fromarray(textured(80, 3)).save(folder / "a.png")
    tables = tmp_path / "t.json"
    args = ["train-tables", str(folder), "-o", str(tables), "--qualities", "30,70", "--crops", "2", "--crop", "64", "--passes", "1"]
    assert main(args) == 0
    assert main(args) == 1 and "exists" in capsys.readouterr().err  # no overwrite without --force
    source = tmp_path / "p.png"
    Image.fromarray(textured(40, 4)).save(source)
    assert main(["jpeg", str(source), "--tables", str(tables), "-q", "50"]) == 0
    with Image.open(tmp_path / "p.jpg") as image:
        assert image.format == "JPEG" and list(image.quantization[0]) == load_table_set(str(tables)).tables(50)[0]


def test_an_interrupted_train_tables_resumes_from_the_anchors_it_saved(tmp_path, monkeypatch, capsys):
    import licodec.train.jpeg_tables as jpeg_tables

    folder = tmp_path / "train"
    folder.mkdir()
    Image.fromarray(textured(80, 3)).save(folder / "a.png")
    args = ["train-tables", str(folder), "-o", str(tmp_path / "t.json"), "--qualities", "30,70", "--crops", "2", "--crop", "64"]
    learned = []

    def interrupted_at_70(objective, quality, passes, log=print):
        if quality == 70:
            raise KeyboardInterrupt
        learned.append(quality)
        return standard_tables(quality + 1)

    monkeypatch.setattr(jpeg_tables, "learn_tables", interrupted_at_70)
    assert main(args) == 130  # Ctrl-C
    assert not (tmp_path / "t.json").exists() and load_table_set(str(tmp_path / "t.partial.json")).anchors == {30: standard_tables(31)}
    assert main([*args, "--seed", "1"]) == 1 and "other settings" in capsys.readouterr().err
    monkeypatch.setattr(jpeg_tables, "learn_tables", lambda objective, quality, passes: learned.append(quality) or standard_tables(quality))
    assert main(args) == 0 and learned == [30, 70] and "resuming" in capsys.readouterr().out
    assert load_table_set(str(tmp_path / "t.json")).anchors == {30: standard_tables(31), 70: standard_tables(70)}
    assert not (tmp_path / "t.partial.json").exists()


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
