import numpy as np
import pytest

from licodec.lossless.order import (
    ENTRIES,
    PROFILES,
    existing_entries,
    from_grid,
    from_ycocg,
    pyramid,
    scale_shapes,
    schedule,
    steps,
    to_grid,
    to_ycocg,
)


@pytest.mark.parametrize("shape", [(3, 1, 1), (3, 5, 8), (1, 7, 3), (3, 2, 9)])
def test_the_grid_holds_a_scale_and_gives_it_back(shape):
    x = np.random.default_rng(0).integers(0, 256, size=shape).astype(np.uint8)
    grid = to_grid(x)
    np.testing.assert_array_equal(from_grid(grid, shape[0], *shape[1:]), x)
    exists = existing_entries(*shape[1:], shape[0])
    assert exists.sum() == x.size


def test_each_scale_is_the_finer_ones_even_rows_and_columns_down_to_one_pixel():
    x = np.arange(3 * 5 * 9).reshape(3, 5, 9)
    scales = pyramid(x)
    assert [s.shape[1:] for s in scales] == scale_shapes(5, 9) == [(5, 9), (3, 5), (2, 3), (1, 2), (1, 1)]
    np.testing.assert_array_equal(to_grid(scales[0])[:3], scales[1])  # phase 0 is the coarser scale


@pytest.mark.parametrize("profile", list(PROFILES))
@pytest.mark.parametrize("channels", [1, 3])
def test_every_profile_codes_each_entry_after_phase_0_once_knowing_more_each_step(profile, channels):
    coded = np.concatenate(steps(profile, channels))
    expected = [3 * p + c for p in (1, 2, 3) for c in range(channels)]
    assert sorted(coded.tolist()) == expected
    for entries, (known, step) in zip(steps(profile, channels), schedule(profile, channels)):
        assert known.shape == step.shape == (ENTRIES,) and not known[entries].any()
        assert np.flatnonzero(step).tolist() == sorted(entries.tolist())
        assert known[:channels].all() and not known[channels:3].any()
    assert [len(steps(p, 3)) for p in PROFILES] == [2, 6, 9]


def test_the_colour_transform_is_reversible_over_every_rgb_value_range():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(3, 50, 50))
    x[:, 0, :2] = [[0, 255], [255, 0], [0, 255]]  # the extremes of Co and Cg
    y = to_ycocg(x)
    assert y[0].min() >= 0 and y[0].max() <= 255 and np.abs(y[1:]).max() <= 255
    np.testing.assert_array_equal(from_ycocg(y), x)
