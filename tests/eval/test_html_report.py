"""The visual report: decodes at matched bpp, a slider, the plots; checked in headless Chromium where it is installed."""

import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest
from PIL import Image

from licodec.cli import main
from licodec.eval.html_report import detailed_crop, matched_rows
from licodec.eval.runner import Measurement
from tests.conftest import smooth_image

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def row(codec: str, quality: int, bpp: float) -> Measurement:
    return Measurement(codec, "a.png", quality, 0, bpp, 30.0, 0.9, 0.0, 0.0)


def test_every_codec_is_shown_at_the_rate_closest_to_the_lowest_all_reach():
    rows = {
        "jpeg": [row("jpeg", q, b) for q, b in ((10, 0.40), (30, 0.70), (50, 1.0))],
        "webp": [row("webp", q, b) for q, b in ((10, 0.2), (30, 0.45), (50, 0.8))],
    }
    target, matched = matched_rows(rows, "a.png")
    assert target == 0.40 and matched["jpeg"].quality == 10 and matched["webp"].quality == 30


def test_the_crop_is_where_the_detail_is():
    image = np.full((300, 400, 3), 128, np.uint8)
    image[200:260, 300:380] = np.random.default_rng(0).integers(0, 255, (60, 80, 3))
    left, top, right, bottom = detailed_crop(Image.fromarray(image), 128)
    assert right - left == bottom - top == 128 and left <= 300 and right >= 380 and top <= 200 and bottom >= 260


class Sources(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.sources += [value for name, value in attrs if name in ("src", "href") or (tag == "option" and name == "value")]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    folder = root / "images"
    folder.mkdir()
    for i in range(2):
        Image.fromarray(smooth_image(96, 128, seed=i)).save(folder / f"{i}.png")
    out, html = root / "results", root / "page"
    assert main(["eval", str(folder), "--codecs", "jpeg,webp", "--qualities", "10,40,70,90", "--out", str(out), "--html", str(html)]) == 0
    return html / "index.html"


def test_the_page_is_self_contained_and_every_image_it_names_exists(page):
    parser = Sources()
    parser.feed(page.read_text())
    assert len(parser.sources) >= 2 * 3 + 2  # per image: the original and two codecs; the plots
    for source in parser.sources:
        assert "://" not in source and (page.parent / source).is_file(), source


def chromium_run(page, screenshot) -> str:
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0", "--window-size=1200,1600"]
    result = subprocess.run([*command, f"--screenshot={screenshot}", page.as_uri()], capture_output=True, text=True, timeout=120)
    return "\n".join(line for line in result.stderr.splitlines() if ":CONSOLE" in line)


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install chromium)")
def test_chromium_loads_the_page_without_console_errors_and_shows_the_images(page, tmp_path):
    assert chromium_run(page, tmp_path / "shot.png") == ""
    shot = np.asarray(Image.open(tmp_path / "shot.png").convert("RGB"))
    assert len(np.unique(shot.reshape(-1, 3), axis=0)) > 1000  # photographs, not just text on a plain page

    broken = page.parent / "broken.html"
    broken.write_text(page.read_text().replace("images/000-original.webp", "images/missing.webp", 1))
    assert "image failed to load: images/missing.webp" in chromium_run(broken, tmp_path / "broken.png")
