import io
import json

import numpy as np
import pytest
from PIL import Image

from licodec.cli import main
from licodec.errors import LicodecError
from licodec.eval import runner
from licodec.eval.codecs import resolve
from licodec.image_folders import list_images
from tests.conftest import KODAK, smooth_image


def assert_jpeg_50_matches_pillow_and_numpy(path):
    """The runner's JPEG quality-50 figures against a computation that shares none of its code."""
    m = runner.measure(resolve("jpeg"), path, 50)
    original = Image.open(path).convert("RGB")
    buffer = io.BytesIO()
    original.save(buffer, format="JPEG", quality=50)
    decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"), dtype=float)
    mse = np.mean((np.asarray(original, dtype=float) - decoded) ** 2)
    assert m.psnr == pytest.approx(10 * np.log10(255**2 / mse), abs=0.01)
    assert m.bpp == pytest.approx(len(buffer.getvalue()) * 8 / (original.width * original.height), rel=0.01)


def test_jpeg_figures_match_an_independent_computation(folder):
    assert_jpeg_50_matches_pillow_and_numpy(folder / "0.png")


def test_results_are_cached_per_codec_quality_and_image(folder, tmp_path, monkeypatch):
    first = runner.evaluate(["jpeg"], list_images(folder), tmp_path, {"jpeg": (20, 80)}, progress=False)
    calls = []
    monkeypatch.setattr(runner, "measure", lambda *a: calls.append(a))
    again = runner.evaluate(["jpeg"], list_images(folder), tmp_path, {"jpeg": (20, 80)}, progress=False)
    assert not calls
    assert [m.num_bytes for m in again["jpeg"]] == [m.num_bytes for m in first["jpeg"]]


def test_rows_of_a_codecs_earlier_versions_are_dropped_and_others_kept(folder, tmp_path):
    images = list_images(folder)
    runner.evaluate(["jpeg", "webp"], images, tmp_path, {"jpeg": (20,), "webp": (20,)}, progress=False)
    cache = tmp_path / "cache.jsonl"
    rows = [json.loads(line) for line in cache.read_text().splitlines()]
    old_jpeg = [{**row, "key": row["key"].replace("|", "|older build ", 1)} for row in rows if row["key"].startswith("jpeg|")]
    cache.write_text("".join(json.dumps(row) + "\n" for row in rows + old_jpeg))
    runner.evaluate(["jpeg"], images, tmp_path, {"jpeg": (20,)}, progress=False)
    assert sorted(json.loads(line)["key"] for line in cache.read_text().splitlines()) == sorted(row["key"] for row in rows)


def test_eval_command_writes_json_csv_markdown_and_plots(folder, tmp_path, capsys):
    out = tmp_path / "results"
    code = main(["eval", str(folder), "--codecs", "jpeg,webp", "--qualities", "10,30,50,70,90", "--out", str(out)])
    assert code == 0
    data = json.loads((out / "webp.json").read_text())
    assert set(data["results"]) >= {"bpp", "psnr-rgb", "ms-ssim-rgb", "encoding_time", "decoding_time"}
    assert len(data["results"]["bpp"]) == 5
    assert (out / "per_image.csv").read_text().count("\n") == 1 + 2 * 2 * 5
    assert "| webp |" in (out / "bd_rate.md").read_text()
    for name in ("rd_psnr-rgb.png", "rd_ms-ssim-rgb.png"):
        assert (out / name).stat().st_size > 1000


def test_eval_refuses_a_misspelt_codec_before_measuring_anything(folder, tmp_path, capsys):
    out = tmp_path / "results"
    assert main(["eval", str(folder), "--codecs", "jpeg,jpge", "--out", str(out)]) == 1
    assert "unknown codec 'jpge'" in capsys.readouterr().err
    assert not out.exists()


def test_eval_skips_a_codec_this_machine_lacks_and_refuses_when_none_is_left(folder, tmp_path, capsys, monkeypatch):
    from licodec.codecs import CODECS

    monkeypatch.setattr(CODECS["heic"], "is_available", lambda: False)
    out = tmp_path / "results"
    assert main(["eval", str(folder), "--codecs", "jpeg,heic", "--qualities", "20,60", "--out", str(out)]) == 0
    assert "skipping heic: heic support is not installed on this machine" in capsys.readouterr().err
    assert (out / "jpeg.json").exists() and not (out / "heic.json").exists()
    assert main(["eval", str(folder), "--codecs", "heic", "--out", str(tmp_path / "none")]) == 1
    assert "no codec to evaluate" in capsys.readouterr().err


def test_curve_files_are_named_after_the_codec_within_the_folder():
    from licodec.eval.report import curve_file_name

    assert curve_file_name("licodec:licodec-ms-ssim") == "licodec_licodec-ms-ssim.json"
    assert curve_file_name("jpeg+tables:/tmp/t.json+prefilter") == "jpeg+tables__tmp_t.json+prefilter.json"


def test_parallel_jobs_give_the_same_bytes(folder, tmp_path):
    serial = runner.evaluate(["webp"], list_images(folder), tmp_path / "a", {"webp": (50,)}, progress=False)
    parallel = runner.evaluate(["webp"], list_images(folder), tmp_path / "b", {"webp": (50,)}, jobs=2, progress=False)
    assert [m.num_bytes for m in serial["webp"]] == [m.num_bytes for m in parallel["webp"]]


def test_empty_folder_is_a_user_error(tmp_path):
    with pytest.raises(LicodecError, match="no images"):
        list_images(tmp_path)


def test_compare_prints_the_three_figures(folder, tmp_path, capsys):
    decoded = tmp_path / "d.jpg"
    Image.open(folder / "0.png").save(decoded, quality=60)
    assert main(["compare", str(folder / "0.png"), str(decoded)]) == 0
    out = capsys.readouterr().out
    assert "bpp" in out and "PSNR" in out and "MS-SSIM" in out


def test_eval_refuses_an_anchor_it_would_not_measure_and_a_bad_reference(folder, tmp_path, capsys):
    base = ["eval", str(folder), "--codecs", "jpeg", "--qualities", "50,90"]
    assert main([*base, "--out", str(tmp_path / "a"), "--anchor", "webp"]) == 1
    assert "--anchor webp is not among --codecs" in capsys.readouterr().err
    (tmp_path / "ref.json").write_text('{"results": {"bpp": [0.5]}}')
    assert main([*base, "--out", str(tmp_path / "b"), "--reference", str(tmp_path / "ref.json")]) == 1
    assert "cannot read reference curve" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_eval_without_jpeg_measures_against_the_first_codec(folder, tmp_path, capsys):
    assert main(["eval", str(folder), "--codecs", "webp,avif", "--qualities", "30,60,90", "--out", str(tmp_path)]) == 0
    assert "BD-rate against `webp`" in (tmp_path / "bd_rate.md").read_text()


def test_compare_says_ms_ssim_is_undefined_for_small_images(tmp_path, capsys):
    small = np.random.default_rng(0).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    Image.fromarray(small).save(tmp_path / "a.png")
    Image.fromarray(255 - small).save(tmp_path / "b.png")
    assert main(["compare", str(tmp_path / "a.png"), str(tmp_path / "b.png")]) == 0
    assert "MS-SSIM  n/a (its five scales need both sides at least 161 pixels)" in capsys.readouterr().out


KODIM01 = KODAK / "kodim01.png"


@pytest.mark.skipif(not KODIM01.exists(), reason="needs ../shared/data/kodak")
def test_jpeg_quality_50_on_kodim01_matches_pillow_and_numpy():
    assert_jpeg_50_matches_pillow_and_numpy(KODIM01)


def test_quick_curve_averages_per_quality():
    images = [Image.fromarray(smooth_image(176, 176, seed=i)) for i in range(2)]  # large enough for MS-SSIM's five scales
    jpeg = resolve("jpeg")
    curve, seconds = runner.quick_curve(jpeg.encode, jpeg.decode, images, (20, 80))
    assert len(curve["bpp"]) == 2 and curve["bpp"][0] < curve["bpp"][1]
    assert curve["psnr-rgb"][0] < curve["psnr-rgb"][1] and seconds >= 0
    assert curve["ms-ssim-rgb"][0] < curve["ms-ssim-rgb"][1] <= 1
