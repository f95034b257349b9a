"""A page to look at the results: every codec's decode of each image at matched bpp, side by side.

``licodec eval FOLDER --html DIR`` writes ``DIR/index.html`` (one self-contained file:
its style and script inline, nothing fetched) and ``DIR/images/``. For each image:

- the rate every codec can reach: the lowest bpp among the codecs' highest-compression
  points on that image, and per codec the quality whose bpp is closest to it;
- crops of the original and of each decode at that quality, from the most detailed
  region of the image (the highest gradient energy), with bpp and PSNR under each;
- a before/after slider: the original under a decode, split where the slider is, and a
  menu to pick the codec;

then the RD plots the report wrote. Decodes are made again from the codecs, so the page
shows exactly what the measured files decode to.
"""

from __future__ import annotations

import html
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from licodec.eval.codecs import resolve
from licodec.eval.runner import Measurement
from licodec.metrics import bits_per_pixel, psnr

CROP = 256


@dataclass(frozen=True)
class Tile:
    codec: str
    quality: int
    bpp: float
    psnr: float
    file: str  # relative to the page


def matched_rows(rows_by_codec: dict[str, list[Measurement]], image: str) -> tuple[float, dict[str, Measurement]]:
    """The lowest rate every codec reaches on ``image``, and per codec its row whose bpp is closest to it."""
    per_codec = {codec: [m for m in rows if m.image == image] for codec, rows in rows_by_codec.items()}
    per_codec = {codec: rows for codec, rows in per_codec.items() if rows}
    target = max(min(m.bpp for m in rows) for rows in per_codec.values())
    return target, {codec: min(rows, key=lambda m: (abs(m.bpp - target), m.bpp)) for codec, rows in per_codec.items()}


def detailed_crop(image: Image.Image, side: int = CROP) -> tuple[int, int, int, int]:
    """The ``side``-pixel square (or the whole image, if smaller) with the most gradient energy in luma."""
    luma = np.asarray(image.convert("L"), dtype=np.float64)
    energy = np.zeros_like(luma)
    energy[:, 1:] += np.diff(luma, axis=1) ** 2
    energy[1:, :] += np.diff(luma, axis=0) ** 2
    w, h = min(side, image.width), min(side, image.height)
    step = max(8, side // 8)
    best, best_box = -1.0, (0, 0, w, h)
    for top in range(0, image.height - h + 1, step):
        for left in range(0, image.width - w + 1, step):
            total = float(energy[top : top + h, left : left + w].sum())
            if total > best:
                best, best_box = total, (left, top, left + w, top + h)
    return best_box


def write_html_report(rows_by_codec: dict[str, list[Measurement]], images: list[Path], out_dir: Path, plots: list[Path]) -> Path:
    """Write ``out_dir/index.html`` and its images; returns the page's path."""
    folder = out_dir / "images"
    folder.mkdir(parents=True, exist_ok=True)
    codecs = {name: resolve(name) for name in rows_by_codec}
    sections = []
    for index, path in enumerate(images):
        with Image.open(path) as opened:
            original = opened.convert("RGB")
        box = detailed_crop(original)
        original_file = f"images/{index:03d}-original.webp"
        _save_crop(original.crop(box), out_dir / original_file)
        tiles = []
        target, matched = matched_rows(rows_by_codec, path.name)
        for n, (name, row) in enumerate(matched.items()):
            codec = codecs[name]
            data = codec.encode(original, row.quality)
            decoded = codec.decode(data).convert("RGB")
            file = f"images/{index:03d}-{n:02d}.webp"
            _save_crop(decoded.crop(box), out_dir / file)
            tiles.append(Tile(name, row.quality, bits_per_pixel(len(data), *original.size), psnr(original, decoded), file))
        sections.append(_image_section(index, path.name, box, target, original_file, tiles))
    plot_files = []
    for plot in plots:
        shutil.copyfile(plot, folder / plot.name)
        plot_files.append(f"images/{plot.name}")
    page = out_dir / "index.html"
    partial = page.with_name(".index.html.partial")
    partial.write_text(_page(sections, plot_files), encoding="utf-8")
    partial.replace(page)
    return page


def _save_crop(image: Image.Image, path: Path) -> None:
    """Lossless WebP: the exact decoded pixels, in about two thirds of a PNG's bytes."""
    image.save(path, "WEBP", lossless=True, quality=100, method=6)


def _image_section(index: int, name: str, box: tuple[int, int, int, int], target: float, original: str, tiles: list[Tile]) -> str:
    left, top, right, bottom = box
    captions = [(t.file, t.codec, f"q {t.quality} · {t.bpp:.3f} bpp · {t.psnr:.2f} dB") for t in tiles]
    figures = [_figure(original, "original", ""), *(_figure(*caption) for caption in captions)]
    options = "".join(f'<option value="{html.escape(t.file)}">{html.escape(t.codec)} ({t.bpp:.3f} bpp)</option>' for t in tiles)
    return f"""
<section id="image-{index}">
  <h2>{html.escape(name)} <small>crop {right - left}×{bottom - top} at ({left}, {top}); each codec closest to {target:.3f} bpp</small></h2>
  <div class="grid">{"".join(figures)}</div>
  <div class="compare">
    <label>before/after: <select data-slider="{index}">{options}</select></label>
    <div class="slider" id="slider-{index}">
      <img src="{html.escape(original)}" alt="original">
      <img class="after" src="{html.escape(tiles[0].file)}" alt="decoded">
      <input type="range" min="0" max="100" value="50" aria-label="split">
    </div>
  </div>
</section>"""


def _figure(file: str, title: str, caption: str) -> str:
    return f'<figure><img src="{html.escape(file)}" alt="{html.escape(title)}"><figcaption><b>{html.escape(title)}</b><br>{html.escape(caption)}</figcaption></figure>'


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; background: #fafafa; color: #222; }
h2 small { font-weight: normal; color: #666; font-size: 0.6em; }
.grid { display: flex; flex-wrap: wrap; gap: 12px; }
figure { margin: 0; }
figure img { display: block; image-rendering: pixelated; border: 1px solid #ccc; }
figcaption { font-size: 0.8em; max-width: 256px; }
.compare label { display: block; margin-top: 12px; }
.slider { position: relative; display: inline-block; margin-top: 8px; }
.slider img { display: block; image-rendering: pixelated; width: 512px; }
.slider img.after { position: absolute; top: 0; left: 0; clip-path: inset(0 0 0 50%); }
.slider input { width: 512px; display: block; }
.plots img { max-width: 45%; margin: 8px; border: 1px solid #ccc; }
"""

SCRIPT = """
window.addEventListener('load', function () {
  document.querySelectorAll('img').forEach(function (img) {
    if (!img.complete || img.naturalWidth === 0) { console.error('image failed to load: ' + img.getAttribute('src')); }
  });
});
document.querySelectorAll('.slider').forEach(function (slider) {
  var after = slider.querySelector('img.after');
  var range = slider.querySelector('input');
  range.addEventListener('input', function () { after.style.clipPath = 'inset(0 0 0 ' + range.value + '%)'; });
});
document.querySelectorAll('select[data-slider]').forEach(function (menu) {
  menu.addEventListener('change', function () {
    document.querySelector('#slider-' + menu.dataset.slider + ' img.after').src = menu.value;
  });
});
"""


def _page(sections: list[str], plots: list[str]) -> str:
    figures = "".join(f'<img src="{html.escape(p)}" alt="{html.escape(Path(p).stem)}">' for p in plots)
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>licodec: decoded images at matched bpp</title><style>{STYLE}</style></head>
<body>
<h1>Decoded images at matched bpp</h1>
<p>Each codec at the quality whose bpp on that image is closest to the lowest rate every codec reaches there; crops at
the original's most detailed region, shown at twice their size in the slider. Figures: bpp of the whole file, PSNR of
the whole image.</p>
{"".join(sections)}
<section class="plots"><h2>Rate–distortion curves</h2>{figures}</section>
<script>{SCRIPT}</script>
</body>
</html>
"""
