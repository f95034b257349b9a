from licodec.eval.report import _distinct_colours


def test_a_busy_plot_gives_every_curve_its_own_colour():
    for count in (3, 10, 14, 20):
        colours = _distinct_colours(count)
        assert len(colours) == count and len(set(colours)) == count


def test_reference_curves_are_checked_when_loaded(tmp_path):
    import json

    import pytest

    from licodec.eval.report import load_reference

    good = {"name": "vtm", "results": {"bpp": [0.2, 0.5], "psnr-rgb": [30.0, 33.0]}}
    (tmp_path / "good.json").write_text(json.dumps(good))
    assert load_reference(tmp_path / "good.json")["name"] == "vtm"
    bad = {
        "no results": {"name": "x"},
        "no metric": {"results": {"bpp": [0.2, 0.5]}},
        "short": {"results": {"bpp": [0.2, 0.5], "psnr-rgb": [30.0]}},
        "text": {"results": {"bpp": [0.2, 0.5], "psnr-rgb": [30.0, "33"]}},
        "zero rate": {"results": {"bpp": [0.0, 0.5], "psnr-rgb": [30.0, 33.0]}},
        "a list": [1, 2],
    }
    for _label, payload in bad.items():
        (tmp_path / "bad.json").write_text(json.dumps(payload))
        with pytest.raises(ValueError):
            load_reference(tmp_path / "bad.json")
