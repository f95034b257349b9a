import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image, ImageDraw, ImageFont

from licodec.errors import CodecUnavailableError
from licodec.machines.ocr import OcrMachine, character_accuracy, character_errors, edit_distance
from licodec.machines.text_images import font_folder
from tests.machines.conftest import needs_ocr


def reference_distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        previous, row[0] = row[:], i
        for j, cb in enumerate(b, 1):
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (ca != cb))
    return row[-1]


@given(st.text("abc€ ", max_size=12), st.text("abc€ ", max_size=12))
def test_edit_distance_is_levenshtein(a, b):
    assert edit_distance(a, b) == reference_distance(a, b) == edit_distance(b, a)


def test_whitespace_is_not_counted_and_accuracy_has_a_floor():
    assert character_errors(["Gate B12, 7:45"], ["GateB12,", "7:45"]) == (0, 12)
    assert character_errors(["abcd"], ["abxd"]) == (1, 4)
    assert character_accuracy(1, 4) == 0.75
    assert character_accuracy(9, 4) == 0.0  # more read than written


def test_a_missing_extra_is_one_error_naming_the_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "rapidocr_onnxruntime", None)  # what an import of an absent package raises
    with pytest.raises(CodecUnavailableError, match=r"pip install licodec\[machines\]"):
        OcrMachine().read(Image.new("RGB", (64, 32)))


@needs_ocr
def test_the_machine_reads_clear_printed_text_in_reading_order():
    image = Image.new("RGB", (400, 140), (250, 250, 245))
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(font_folder() / "DejaVuSans.ttf"), 28)
    draw.text((10, 15), "Platform 9, Gate 12", font=font, fill=(10, 10, 10))
    draw.text((10, 80), "Total 41.50 EUR", font=font, fill=(10, 10, 10))
    lines = OcrMachine().read(image)
    assert character_errors(["Platform 9, Gate 12", "Total 41.50 EUR"], [line.text for line in lines])[0] <= 1
    assert OcrMachine().version.startswith("rapidocr-onnxruntime")
