from licodec.eval.report import _distinct_colours


def test_a_busy_plot_gives_every_curve_its_own_colour():
    for count in (3, 10, 14, 20):
        colours = _distinct_colours(count)
        assert len(colours) == count and len(set(colours)) == count
