"""Text images with ground truth, for measuring and training codecs for OCR.

Each image is a crop of a photograph with a few lines of text drawn on it: words,
numbers, prices, dates and codes in varied fonts, sizes, colours and placements, each
line in its own band so that the reading order is the truth's order. Fonts and
photographs are split into a training and an evaluation part that share nothing: the
evaluation fonts are of families training never sees (STIX, Computer Modern sans and
italic), and the photographs are split by a hash of their file name.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from licodec.errors import LicodecError
from licodec.image_folders import find_images

SPLITS = ("train", "eval")

FONTS = {
    "train": (
        "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf",
        "DejaVuSerif-Italic.ttf", "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf", "cmr10.ttf", "cmtt10.ttf", "cmb10.ttf",
    ),
    "eval": ("STIXGeneral.ttf", "STIXGeneralBol.ttf", "STIXGeneralItalic.ttf", "cmss10.ttf", "cmti10.ttf"),
}  # fmt: skip
"""Font files of matplotlib's ``mpl-data/fonts/ttf`` (the eval extra), by split: no family is in both."""

WORDS = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "for",
    "on",
    "with",
    "at",
    "by",
    "from",
    "open",
    "new",
    "city",
    "road",
    "north",
    "south",
    "east",
    "west",
    "total",
    "price",
    "date",
    "time",
    "station",
    "market",
    "hotel",
    "cafe",
    "bank",
    "office",
    "street",
    "river",
    "park",
    "museum",
    "garden",
    "centre",
    "school",
    "library",
    "exit",
    "entrance",
    "gate",
    "platform",
    "floor",
    "room",
    "service",
    "daily",
    "fresh",
    "coffee",
    "bread",
    "milk",
    "tea",
    "sale",
    "discount",
    "order",
    "invoice",
    "receipt",
    "payment",
    "account",
    "number",
    "phone",
    "email",
    "address",
    "ticket",
    "valid",
    "until",
    "closed",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "morning",
    "evening",
    "welcome",
    "please",
    "thank",
    "you",
    "stop",
    "slow",
    "parking",
    "only",
    "private",
    "public",
    "area",
    "zone",
    "level",
    "delivery",
    "express",
    "return",
    "report",
    "summary",
    "quarter",
    "annual",
    "meeting",
    "agenda",
    "notice",
    "warning",
    "caution",
    "danger",
    "fire",
    "water",
    "power",
    "light",
    "system",
    "model",
    "version",
    "update",
    "release",
    "photo",
    "image",
    "page",
    "chapter",
    "section",
    "table",
    "figure",
    "note",
    "left",
    "right",
    "up",
    "down",
    "weight",
    "height",
]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

IMAGE_SIZE = (512, 384)


@dataclass(frozen=True)
class TextImage:
    image: Image.Image
    lines: tuple[str, ...]  # in reading order
    boxes: tuple[tuple[int, int, int, int], ...]  # each line's left, top, right, bottom in pixels


def font_folder() -> Path:
    try:
        import matplotlib
    except ImportError:
        raise LicodecError("text images need the fonts of matplotlib; try 'pip install licodec[eval]'") from None
    return Path(matplotlib.__file__).parent / "mpl-data" / "fonts" / "ttf"


def split_of(path: Path) -> str:
    """A photograph's split, fixed by its file name: one in five is kept for evaluation."""
    return "eval" if hashlib.sha256(path.name.encode()).digest()[0] % 5 == 0 else "train"


def backgrounds(folders: list[Path], split: str) -> list[Path]:
    paths = [p for p in find_images(folders) if split_of(p) == split]
    if not paths:
        raise LicodecError(f"no {split} photographs under {', '.join(map(str, folders))}")
    return paths


class TextImageSource:
    """Text images of one split drawn on its photographs; the same image for the same seed, always."""

    def __init__(self, folders: list[Path], split: str) -> None:
        if split not in SPLITS:
            raise LicodecError(f"unknown split {split!r}; one of {', '.join(SPLITS)}")
        self.split = split
        self.photos = backgrounds(folders, split)
        self.fonts = [font_folder() / name for name in FONTS[split]]

    def draw(self, rng: random.Random, size: tuple[int, int] = IMAGE_SIZE) -> TextImage:
        return draw_text_image(rng, self.photos[rng.randrange(len(self.photos))], self.fonts, size)

    def batch(self, seed: int, step: int, count: int, side: int) -> tuple[np.ndarray, list[tuple[tuple[int, int, int, int], ...]]]:
        """A training batch: ``count`` square images (N, side, side, 3) uint8 and each one's line boxes."""
        rng = random.Random(f"{self.split}:{seed}:{step}")
        samples = [self.draw(rng, (side, side)) for _ in range(count)]
        return np.stack([np.asarray(s.image) for s in samples]), [s.boxes for s in samples]


def text_images(folders: list[Path], split: str, count: int, seed: int = 0, size: tuple[int, int] = IMAGE_SIZE) -> Iterator[TextImage]:
    """``count`` text images of ``split``, the same for the same arguments."""
    source = TextImageSource(folders, split)
    rng = random.Random(f"{split}:{seed}")
    for _ in range(count):
        yield source.draw(rng, size)


def draw_text_image(rng: random.Random, photo: Path, fonts: list[Path], size: tuple[int, int]) -> TextImage:
    image = _background_crop(rng, photo, size)
    draw = ImageDraw.Draw(image, "RGBA")
    lines, boxes, top = [], [], rng.randint(4, size[1] // 6)
    for _ in range(rng.randint(2, 6)):
        font = ImageFont.truetype(str(rng.choice(fonts)), rng.randint(18, 44))
        text = _fitting_text(rng, font, size[0] - 16)
        left_, top_, right_, bottom_ = draw.textbbox((0, 0), text, font=font)
        height = bottom_ - top_
        if top + height + 8 > size[1]:
            break
        x = rng.randint(8, max(8, size[0] - 8 - (right_ - left_)))
        box = (x, top, x + right_ - left_, top + height)
        _draw_line(rng, image, draw, (x - left_, top - top_), box, text, font)
        lines.append(text)
        boxes.append(box)
        top += height + rng.randint(int(height * 0.4), int(height * 1.6) + 4)
    return TextImage(image, tuple(lines), tuple(boxes))


def _background_crop(rng: random.Random, photo: Path, size: tuple[int, int]) -> Image.Image:
    with Image.open(photo) as im:
        rgb = im.convert("RGB")
    scale = max(size[0] / rgb.width, size[1] / rgb.height) * rng.uniform(1.0, 1.6)
    rgb = rgb.resize((max(size[0], round(rgb.width * scale)), max(size[1], round(rgb.height * scale))), Image.Resampling.LANCZOS)
    x, y = rng.randint(0, rgb.width - size[0]), rng.randint(0, rgb.height - size[1])
    return rgb.crop((x, y, x + size[0], y + size[1]))


def _phrase(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.5:
        words = [rng.choice(WORDS) for _ in range(rng.randint(1, 5))]
        style = rng.random()
        words = [w.capitalize() for w in words] if style < 0.3 else [w.upper() for w in words] if style < 0.45 else words
        return " ".join(words)
    if kind < 0.65:
        return f"{rng.choice(WORDS).capitalize()}: {rng.randint(1, 99999):,}.{rng.randint(0, 99):02d} {rng.choice(['EUR', 'USD', 'GBP', 'kg', 'km'])}"
    if kind < 0.8:
        return f"{rng.randint(1, 28)} {rng.choice(MONTHS)} {rng.randint(1950, 2030)}, {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}"
    if kind < 0.9:
        letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
        return f"{rng.choice(letters)}{rng.choice(letters)}-{rng.randint(100, 9999)} {rng.choice(WORDS)} {rng.randint(1, 99)}%"
    return f"{rng.choice(WORDS).capitalize()} {rng.randint(1, 999)} / {rng.choice(WORDS)} ({rng.randint(1, 60)})"


def _fitting_text(rng: random.Random, font: ImageFont.FreeTypeFont, width: int) -> str:
    """A phrase that fits ``width`` pixels (words dropped from the end until it does)."""
    words = _phrase(rng).split()
    while len(words) > 1 and font.getlength(" ".join(words)) > width:
        words.pop()
    text = " ".join(words)
    while len(text) > 1 and font.getlength(text) > width:
        text = text[:-1]
    return text


def _draw_line(rng, image, draw, origin, box, text, font) -> None:
    """Text in a colour that stands out from the photograph under it; sometimes on a plate, sometimes outlined."""
    region = np.asarray(image.crop(box)).reshape(-1, 3) @ np.array([0.299, 0.587, 0.114])
    luminance, busy = (float(region.mean()), float(region.std()) > 45) if region.size else (128.0, False)
    base = rng.randint(215, 255) if luminance < 128 else rng.randint(0, 40)
    colour = tuple(int(np.clip(base + rng.randint(-25, 25), 0, 255)) for _ in range(3))
    style = rng.random() * (0.5 if busy else 1.0)  # a busy background always gets a plate or an outline
    if style < 0.3:
        plate = tuple(255 - c for c in colour) + (rng.randint(140, 230),)
        draw.rectangle((box[0] - 4, box[1] - 3, box[2] + 4, box[3] + 3), fill=plate)
        draw.text(origin, text, font=font, fill=colour)
    elif style < 0.5:
        draw.text(origin, text, font=font, fill=colour, stroke_width=max(1, font.size // 18), stroke_fill=tuple(255 - c for c in colour))
    else:
        draw.text(origin, text, font=font, fill=colour)


LABELS = "labels.json"
"""The ground truth beside the images: ``{"images": {file name: [line, ...]}, "boxes": {file name: [[l, t, r, b], ...]}, ...}``."""


def write_text_images(out: Path, folders: list[Path], split: str, count: int, seed: int = 0) -> list[Path]:
    """Write ``count`` PNG text images and their :data:`LABELS` into ``out`` (which must not hold a data set already)."""
    if (out / LABELS).exists():
        raise LicodecError(f"{out / LABELS} exists; choose another folder or remove it")
    out.mkdir(parents=True, exist_ok=True)
    labels, boxes, written = {}, {}, []
    for index, sample in enumerate(text_images(folders, split, count, seed)):
        path = out / f"text-{split}-{index:04d}.png"
        sample.image.save(path)
        labels[path.name] = list(sample.lines)
        boxes[path.name] = [list(b) for b in sample.boxes]
        written.append(path)
    meta = {"split": split, "seed": seed, "count": count, "fonts": list(FONTS[split]), "images": labels, "boxes": boxes}
    partial = out / (LABELS + ".partial")
    partial.write_text(json.dumps(meta, indent=1))
    partial.replace(out / LABELS)
    return written


def read_labels(folder: Path) -> dict[str, list[str]]:
    """The ground truth of a folder written by :func:`write_text_images`; a missing or broken file is a user error."""
    path = Path(folder) / LABELS
    try:
        images = json.loads(path.read_text())["images"]
    except FileNotFoundError:
        raise LicodecError(f"{path} not found: --task ocr measures a folder written by 'licodec text-images'") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise LicodecError(f"{path} is not a text-image label file ({exc})") from None
    if not isinstance(images, dict) or not all(isinstance(v, list) and all(isinstance(s, str) for s in v) for v in images.values()):
        raise LicodecError(f"{path}: 'images' must map file names to lists of lines")
    return images
