import pytest
import torch

from licodec.image_folders import find_images
from licodec.train.data import is_validation, load_images, sample_batch


def test_batches_are_a_function_of_seed_and_step(image_folder):
    data = load_images(find_images([image_folder]), 64)
    a = sample_batch(data, seed=1, step=7, batch_size=3, crop=64)
    b = sample_batch(data, seed=1, step=7, batch_size=3, crop=64)
    c = sample_batch(data, seed=1, step=8, batch_size=3, crop=64)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.shape == (3, 3, 64, 64) and a.min() >= 0 and a.max() <= 1


def test_replicas_draw_different_batches(image_folder):
    data = load_images(find_images([image_folder]), 64)
    assert not torch.equal(sample_batch(data, 0, 0, 2, 64, rank=0), sample_batch(data, 0, 0, 2, 64, rank=1))


def test_folders_are_searched_recursively_and_jpegs_marked_lossy(image_folder):
    paths = find_images([image_folder])
    assert len(paths) == 6
    data = load_images(paths, 64)
    assert sum(data.lossy_source) == 1


def test_validation_split_is_stable_and_partial(image_folder):
    paths = find_images([image_folder])
    assert [is_validation(p, 0.5) for p in paths] == [is_validation(p, 0.5) for p in paths]
    assert not any(is_validation(p, 0.0) for p in paths)


def test_a_missing_or_non_folder_source_is_an_error(tmp_path):
    from licodec.errors import LicodecError

    (tmp_path / "file.png").write_bytes(b"")
    for source, message in ((tmp_path / "absent", "no such folder"), (tmp_path / "file.png", "not a folder")):
        with pytest.raises(LicodecError, match=message):
            find_images([source])


def test_unreadable_files_are_skipped_with_one_warning(image_folder, tmp_path, capsys):
    import shutil

    from licodec.train.data import load_training_images

    shutil.copytree(image_folder, tmp_path / "images")
    for name in ("broken.png", "empty.jpg"):
        (tmp_path / "images" / name).write_bytes(b"not an image" if name == "broken.png" else b"")
    data = load_training_images([str(tmp_path / "images")], 64)
    assert len(data) == 6 and sorted(p.name for p in data.unreadable) == ["broken.png", "empty.jpg"]
    warning = capsys.readouterr().err.strip()
    assert warning.count("\n") == 0 and "and 1 more" in warning


def test_no_usable_image_is_an_error_naming_the_size(image_folder, tmp_path):
    from licodec.errors import LicodecError
    from licodec.train.data import load_training_images

    (tmp_path / "empty").mkdir()
    with pytest.raises(LicodecError, match="no training images"):
        load_training_images([str(tmp_path / "empty")], 64)
    with pytest.raises(LicodecError, match="at least 128 pixels"):
        load_training_images([str(image_folder)], 128)
