"""Learning JPEG quantisation tables on the real encoder."""

import numpy as np
from PIL import Image

from licodec.cli import main
from licodec.jpeg_tools.qtables import load_table_set, save_table_set, standard_tables
from licodec.train.jpeg_tables import TableObjective, learn_tables
from tests.conftest import smooth_image


def textured(size: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 12, (size, size, 3))
    return np.clip(smooth_image(size, size, seed=seed) + noise, 0, 255).astype(np.uint8)


def test_learning_lowers_the_real_cost_and_round_trips(tmp_path):
    objective = TableObjective([textured(64, 1), textured(64, 2)], "psnr")
    learned = learn_tables(objective, 40, passes=1, log=lambda line: None)
    assert all(1 <= v <= 255 for v in learned[0] + learned[1])
    assert learned != standard_tables(40)
    path = tmp_path / "t.json"
    save_table_set(path, "psnr", {40: learned}, {"crops": 2})
    loaded = load_table_set(str(path))
    assert loaded.anchors == {40: learned} and loaded.metric == "psnr" and len(loaded.digest) == 16


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
