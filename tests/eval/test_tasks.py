import json

import numpy as np
import pytest
from PIL import Image

from licodec.cli import main
from licodec.errors import LicodecError
from licodec.eval import tasks
from licodec.eval.tasks import ORIGINAL, FaceTask, OcrTask, evaluate_task, task_curve, write_task_report
from licodec.image_folders import list_images
from licodec.machines.text_images import write_text_images
from tests.conftest import smooth_image
from tests.machines.conftest import needs_ocr


class Brightness:
    """A stand-in machine: 'characters' are 100, 'edits' the mean absolute pixel error (no extra needed)."""

    name, metric, label, version = "brightness", "brightness-accuracy", "accuracy (%)", "v1"

    def __init__(self) -> None:
        self.originals, self.calls = {}, 0

    def prepare(self, images):
        for path in images:
            self.originals[path.name] = np.asarray(Image.open(path).convert("RGB"), dtype=float)
        return images

    def counts(self, path, decoded):
        self.calls += 1
        return {"edits": float(np.abs(np.asarray(decoded, dtype=float) - self.originals[path.name]).mean()), "characters": 100.0}

    def summary(self, rows):
        edits, characters = (sum(r.counts[k] for r in rows) for k in ("edits", "characters"))
        return {self.metric: 100 * (1 - edits / characters)}


def test_rows_pool_the_machines_counts_per_quality_and_the_original_is_the_ceiling(folder, tmp_path):
    task = Brightness()
    _, results = evaluate_task(task, ["jpeg"], list_images(folder), tmp_path, {"jpeg": (10, 90)}, progress=False)
    assert [r.quality for r in results[ORIGINAL]] == [0, 0] and task.summary(results[ORIGINAL])[task.metric] == 100.0
    curve = task_curve(task, results["jpeg"])
    assert curve["quality"] == [10, 90] and curve["bpp"][0] < curve["bpp"][1]
    low = [r for r in results["jpeg"] if r.quality == 10]
    assert curve[task.metric][0] == pytest.approx(100 * (1 - sum(r.counts["edits"] for r in low) / 200))
    assert curve[task.metric][0] < curve[task.metric][1] < 100


def test_measurements_are_cached_with_the_machines_version(folder, tmp_path):
    task = Brightness()
    evaluate_task(task, ["jpeg"], list_images(folder), tmp_path, {"jpeg": (50,)}, progress=False)
    first = task.calls
    evaluate_task(task, ["jpeg"], list_images(folder), tmp_path, {"jpeg": (50,)}, progress=False)
    assert first == 4 and task.calls == 4  # two originals, two decodes; nothing again
    task.version = "v2"
    evaluate_task(task, ["jpeg"], list_images(folder), tmp_path, {"jpeg": (50,)}, progress=False)
    assert task.calls == 8
    keys = [json.loads(line)["key"] for line in (tmp_path / "cache-brightness.jsonl").read_text().splitlines()]
    assert not any(k.startswith("jpeg|") and "by v1" in k for k in keys)


def test_the_report_has_the_ceiling_bd_rates_and_every_point(folder, tmp_path):
    task = Brightness()
    qualities = {"jpeg": (10, 30, 50, 70, 90), "webp": (10, 30, 50, 70, 90)}
    images, results = evaluate_task(task, ["jpeg", "webp"], list_images(folder), tmp_path, qualities, progress=False)
    report = write_task_report(task, images, results, tmp_path, "jpeg", "licodec eval X --task brightness").read_text()
    assert "On the uncompressed images: brightness-accuracy 100.00" in report
    assert "| jpeg | +0.0% | +0.0% | +0.00 dB |" in report and "| webp |" in report
    assert report.count("| webp | ") == 1 + 5
    saved = json.loads((tmp_path / "task_brightness.json").read_text())
    assert saved["images"] == 2 and set(saved["curves"]) == {"jpeg", "webp"}
    assert (tmp_path / "rd_brightness-accuracy.png").stat().st_size > 0


def test_ocr_needs_ground_truth_for_every_image(folder):
    with pytest.raises(LicodecError, match="licodec text-images"):
        OcrTask(folder)


@needs_ocr
def test_ocr_evaluation_end_to_end_from_the_command_line(tmp_path, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(6):
        Image.fromarray(smooth_image(200, 260, seed=i)).save(photos / f"p{i}.png")
    write_text_images(tmp_path / "text", [photos], "train", 2, seed=3)
    assert main(["eval", str(tmp_path / "text"), "--task", "ocr", "--codecs", "jpeg", "--qualities", "5,95", "--out", str(tmp_path / "out")]) == 0
    saved = json.loads((tmp_path / "out" / "task_ocr.json").read_text())
    assert saved["original"]["ocr-accuracy"] > 80  # clean text on smooth backgrounds reads well
    accuracy = saved["curves"]["jpeg"]["ocr-accuracy"]
    assert accuracy[0] <= accuracy[1] and "task_ocr.md" in capsys.readouterr().out


def test_task_and_lossless_do_not_go_together(folder, capsys):
    assert main(["eval", str(folder), "--task", "faces", "--lossless"]) == 1
    assert "does not go with --lossless" in capsys.readouterr().err


def test_faces_need_photographs_with_faces(folder, monkeypatch):
    task = FaceTask()
    monkeypatch.setattr(task.machine, "detect", lambda image: [])
    with pytest.raises(LicodecError, match="finds no face"):
        task.prepare(list_images(folder))


def test_unknown_task_is_refused(folder):
    with pytest.raises(LicodecError, match="unknown task"):
        tasks.make_task("segmentation", folder)
