import json

import pytest

from licodec.errors import LicodecError
from licodec.machines.text_images import FONTS, LABELS, TextImageSource, read_labels, split_of, text_images, write_text_images


def test_fonts_and_photographs_of_the_two_splits_share_nothing(photos):
    assert not set(FONTS["train"]) & set(FONTS["eval"])
    assert {f[:5] for f in FONTS["eval"]}.isdisjoint(f[:5] for f in FONTS["train"])  # no family in both
    train, held_out = TextImageSource([photos], "train").photos, TextImageSource([photos], "eval").photos
    assert train and held_out and not set(train) & set(held_out)
    assert all(split_of(p) == "eval" for p in held_out)


def test_the_same_seed_draws_the_same_images_and_lines_fit_inside(photos):
    first = list(text_images([photos], "eval", 3, seed=5))
    again = list(text_images([photos], "eval", 3, seed=5))
    assert [s.lines for s in first] == [s.lines for s in again]
    assert [s.image.tobytes() for s in first] == [s.image.tobytes() for s in again]
    assert [s.lines for s in text_images([photos], "eval", 3, seed=6)] != [s.lines for s in first]
    for sample in first:
        assert sample.image.size == (512, 384) and 1 <= len(sample.lines) == len(sample.boxes)
        tops = [b[1] for b in sample.boxes]
        assert tops == sorted(tops)  # reading order is the truth's order
        for left, top, right, bottom in sample.boxes:
            assert 0 <= left < right <= 512 and 0 <= top < bottom <= 384


def test_training_batches_are_square_and_repeatable(photos):
    source = TextImageSource([photos], "train")
    pixels, boxes = source.batch(0, 7, 2, 128)
    assert pixels.shape == (2, 128, 128, 3) and len(boxes) == 2
    assert (source.batch(0, 7, 2, 128)[0] == pixels).all()


def test_written_folders_carry_their_ground_truth_and_are_never_overwritten(photos, tmp_path):
    written = write_text_images(tmp_path / "set", [photos], "eval", 2, seed=1)
    assert [p.name for p in written] == ["text-eval-0000.png", "text-eval-0001.png"]
    labels = read_labels(tmp_path / "set")
    assert set(labels) == {p.name for p in written} and all(labels.values())
    with pytest.raises(LicodecError, match="exists"):
        write_text_images(tmp_path / "set", [photos], "eval", 2)


def test_missing_or_broken_labels_are_one_line_errors(tmp_path):
    with pytest.raises(LicodecError, match="licodec text-images"):
        read_labels(tmp_path)
    (tmp_path / LABELS).write_text("{")
    with pytest.raises(LicodecError, match="not a text-image label file"):
        read_labels(tmp_path)
    (tmp_path / LABELS).write_text(json.dumps({"images": {"a.png": "not a list"}}))
    with pytest.raises(LicodecError, match="lists of lines"):
        read_labels(tmp_path)


def test_unknown_split_and_empty_split_are_refused(photos, tmp_path):
    with pytest.raises(LicodecError, match="unknown split"):
        TextImageSource([photos], "test")
    (tmp_path / "empty").mkdir()
    with pytest.raises(LicodecError, match="no train photographs"):
        TextImageSource([tmp_path / "empty"], "train")
