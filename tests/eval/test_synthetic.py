import numpy as np

from licodec.eval.synthetic import low_complexity_images


def test_the_low_complexity_set_is_drawn_the_same_every_time():
    first, second = low_complexity_images(), low_complexity_images()
    assert list(first) == ["slide", "screenshot", "bar-chart", "gradient"]
    for name, image in first.items():
        assert image.mode == "RGB" and image.size == (768, 512)
        assert np.array_equal(np.asarray(image), np.asarray(second[name]))
