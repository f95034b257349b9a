import torch

from licodec.train.data import find_images, is_validation, load_images, sample_batch


def test_batches_are_a_function_of_seed_and_step(image_folder):
    data = load_images(find_images([image_folder]), 64)
    a = sample_batch(data, seed=1, step=7, batch_size=3, crop=64)
    b = sample_batch(data, seed=1, step=7, batch_size=3, crop=64)
    c = sample_batch(data, seed=1, step=8, batch_size=3, crop=64)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.shape == (3, 3, 64, 64) and 0 <= a.min() and a.max() <= 1


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
