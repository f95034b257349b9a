"""The command line: exit codes, one-line errors, atomic writes, no overwriting without --force.

These use the shipped default model on small images.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from licodec.bitstream import FORMAT_VERSION
from licodec.cli import main, with_new_names
from tests.conftest import smooth_image


@pytest.fixture(scope="module")
def lic_file(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("lic")
    source = folder / "photo.png"
    Image.fromarray(smooth_image(64, 96)).save(source)
    assert main(["compress", str(source)]) == 0
    return folder / "photo.lic"


def run_cli(*args: str, cwd: Path | None = None, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    """The CLI in a fresh process; text output, or bytes when ``stdin`` is given as bytes."""
    return subprocess.run([sys.executable, "-m", "licodec.cli", *args], capture_output=True, text=stdin is None, cwd=cwd, input=stdin)


def assert_one_line_error(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("licodec: error:"), result.stderr
    assert "Traceback" not in result.stderr


def test_compress_then_decompress_writes_beside_the_input(lic_file, capsys):
    assert lic_file.exists()
    out = lic_file.with_name("decoded.png")
    assert main(["decompress", str(lic_file), "-o", str(out)]) == 0
    assert Image.open(out).size == (96, 64)
    assert "decoded.png" in capsys.readouterr().out


def test_files_of_ones_own_weights_decode_with_model_given_and_refuse_without(tmp_path, checkerboard_model):
    from licodec.models import save_weights

    weights, source = tmp_path / "mine.safetensors", tmp_path / "photo.png"
    save_weights(checkerboard_model, weights, "my-model")
    Image.fromarray(smooth_image(32, 40)).save(source)
    assert main(["compress", str(source), "--model", str(weights)]) == 0
    lic, out = str(source.with_suffix(".lic")), tmp_path / "out.png"
    result = run_cli("decompress", lic, "-o", str(out))
    assert_one_line_error(result)
    assert "--model" in result.stderr and not out.exists()
    assert main(["decompress", lic, "-o", str(out), "--model", str(weights)]) == 0
    assert Image.open(out).size == (40, 32)


def test_dash_reads_standard_input_and_writes_standard_output(tmp_path):
    import io

    import licodec

    png = io.BytesIO()
    Image.fromarray(smooth_image(32, 40)).save(png, format="PNG")
    compressed = run_cli("compress", "-", "-o", "-", cwd=tmp_path, stdin=png.getvalue())
    assert compressed.returncode == 0 and compressed.stderr.decode().startswith("standard output: ")
    assert licodec.decompress(compressed.stdout).size == (40, 32)
    decoded = run_cli("decompress", "-", "-o", "-", cwd=tmp_path, stdin=compressed.stdout)
    assert decoded.returncode == 0 and Image.open(io.BytesIO(decoded.stdout)).format == "PNG"
    info = run_cli("info", "-", "--json", stdin=compressed.stdout)
    assert b'"width": 40' in info.stdout
    assert list(tmp_path.iterdir()) == []  # nothing written beside, in the working folder


def test_standard_input_without_an_output_is_a_one_line_error(tmp_path):
    result = run_cli("compress", "-", cwd=tmp_path)
    assert_one_line_error(result)
    assert "-o" in result.stderr and list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/null and /dev/full")
def test_devices_are_written_in_place_never_replaced(lic_file):
    assert main(["decompress", str(lic_file), "-o", "/dev/null"]) == 0  # no --force: nothing there can be lost
    assert_one_line_error(run_cli("decompress", str(lic_file), "-o", "/dev/full", "--force"))
    with open("/dev/full", "wb") as full:
        result = subprocess.run(
            [sys.executable, "-m", "licodec.cli", "decompress", str(lic_file), "-o", "-"], stdout=full, stderr=subprocess.PIPE, text=True
        )
    assert_one_line_error(result)
    assert "standard output" in result.stderr
    assert all(Path(device).is_char_device() for device in ("/dev/null", "/dev/full"))


def test_a_reader_that_goes_away_ends_the_command_quietly():
    child = subprocess.Popen([sys.executable, "-m", "licodec.cli", "models"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    child.stdout.close()  # like `licodec models | head -0`: the reader is gone before anything is written
    stderr = child.stderr.read().decode()
    assert child.wait() == 141 and stderr == ""


def test_existing_output_is_never_overwritten_without_force(lic_file, tmp_path):
    target = tmp_path / "taken.png"
    target.write_bytes(b"precious")
    result = run_cli("decompress", str(lic_file), "-o", str(target))
    assert_one_line_error(result)
    assert "--force" in result.stderr
    assert target.read_bytes() == b"precious"
    assert run_cli("decompress", str(lic_file), "-o", str(target), "--force").returncode == 0
    assert Image.open(target).size == (96, 64)


def test_an_output_in_a_missing_folder_is_refused_before_any_work(tmp_path, monkeypatch, capsys):
    import licodec.api

    source = tmp_path / "p.png"
    Image.fromarray(smooth_image(32, 32)).save(source)
    monkeypatch.setattr(licodec.api, "load_model", lambda name: pytest.fail("the model was loaded"))
    for command, output in (("compress", "no/p.lic"), ("jpeg", "no/p.jpg")):
        assert main([command, str(source), "-o", str(tmp_path / output)]) == 1
        assert "does not exist" in capsys.readouterr().err


def test_outputs_get_ordinary_permissions_and_overwrites_keep_the_old_ones(lic_file, tmp_path):
    umask = os.umask(0o022)
    try:
        fresh = tmp_path / "fresh.png"
        assert main(["decompress", str(lic_file), "-o", str(fresh)]) == 0
        assert fresh.stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600
        fresh.chmod(0o640)
        assert main(["decompress", str(lic_file), "-o", str(fresh), "--force"]) == 0
        assert fresh.stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(umask)


def test_info_and_models_print_json(lic_file):
    import json

    info = json.loads(run_cli("info", str(lic_file), "--json").stdout)
    assert info["width"] == 96 and info["model"] == "licodec-mse" and info["format_version"] == FORMAT_VERSION
    assert info["weights"] == "installed"
    models = json.loads(run_cli("models", "--json").stdout)
    assert any(m["default"] for m in models["models"])
    assert info["weights_hash"] in {m["weights_hash"] for m in models["models"]}  # what info and models print match
    assert {t["name"] for t in models["jpeg_tools"]} >= {"qtables-jpeg-psnr", "qtables-jpeg-ms-ssim", "postfilter-jpeg"}


def corruptions(data: bytes):
    for percent in range(0, 100, 10):
        yield f"truncated-{percent}", data[: len(data) * percent // 100]
    rng = np.random.default_rng(0)
    for i in range(5):
        flipped = bytearray(data)
        flipped[int(rng.integers(len(data)))] ^= 1 << int(rng.integers(8))
        yield f"flip-{i}", bytes(flipped)
    wrong_magic = bytearray(data)
    wrong_magic[1] = ord("X")
    yield "wrong-magic", bytes(wrong_magic)
    yield "empty", b""
    yield "garbage", rng.integers(0, 256, 5000).astype(np.uint8).tobytes()


def test_every_corrupted_file_exits_1_with_one_line_and_no_output(lic_file, tmp_path):
    data = lic_file.read_bytes()
    cases = list(corruptions(data))
    png = tmp_path / "renamed.lic"
    Image.fromarray(smooth_image(8, 8)).save(png, format="PNG")
    cases.append(("png-renamed", png.read_bytes()))
    for name, payload in cases:
        bad = tmp_path / f"{name}.lic"
        bad.write_bytes(payload)
        result = run_cli("decompress", str(bad))
        assert_one_line_error(result)
        assert not bad.with_suffix(".png").exists(), name
        leftovers = [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
        assert not leftovers


@pytest.mark.parametrize(
    "args",
    [
        ["compress", "missing.png"],
        ["compress", "."],
        ["decompress", "missing.lic"],
        ["info", "missing.lic"],
        ["compress", "not-an-image.txt"],
        ["compress", "photo.png", "--model", "no-such-model"],
        ["compress", "photo.png", "-o", "no/such/folder/x.lic"],
        ["decompress", "photo.lic", "-o", "again.lic"],
        ["decompress", "photo.lic", "-o", "image.unknownext"],
        ["compress", "photo.png", "--roi-quality", "90"],
        ["compress", "photo.png", "--roi", "missing-mask.png"],
    ],
)
def test_user_errors_exit_1_with_one_line(args, tmp_path):
    (tmp_path / "not-an-image.txt").write_text("hello")
    Image.fromarray(smooth_image(8, 8)).save(tmp_path / "photo.png")
    assert main(["compress", str(tmp_path / "photo.png")]) == 0
    assert_one_line_error(run_cli(*args, cwd=tmp_path))


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["compress"],
        ["compress", "x.png", "--quality", "0"],
        ["compress", "x.png", "-q", "abc"],
        ["compress", "x.png", "--optimize", "-1"],
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_2(args):
    assert run_cli(*args).returncode == 2


def test_errors_about_the_input_name_the_file(tmp_path, capsys):
    (tmp_path / "empty.png").write_bytes(b"")
    assert main(["compress", str(tmp_path / "empty.png")]) == 1
    assert "empty.png: not an image" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["compress", "jpeg"])
def test_an_animation_is_coded_from_its_first_frame_and_the_user_is_told(tmp_path, capsys, command):
    frames = [Image.fromarray(smooth_image(24, 32, seed=seed)) for seed in range(3)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    assert main([command, str(tmp_path / "anim.gif")]) == 0
    assert "anim.gif has 3 frames; only the first is used" in capsys.readouterr().err


def test_compress_refuses_to_overwrite_its_own_input(tmp_path):
    source = tmp_path / "x.lic"
    Image.fromarray(smooth_image(8, 8)).save(source, format="PNG")
    result = run_cli("compress", str(source), "-o", str(source), "--force")
    assert_one_line_error(result)


def test_debug_shows_the_traceback(tmp_path):
    result = run_cli("--debug", "decompress", str(tmp_path / "missing.lic"))
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_target_size_reports_what_it_achieved(tmp_path):
    source = tmp_path / "p.png"
    Image.fromarray(smooth_image(64, 96)).save(source)
    result = run_cli("compress", str(source), "--target-size", "600")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "p.lic").stat().st_size <= 600
    assert "quality" in result.stdout


@pytest.mark.parametrize(
    ("target", "message"),
    [(["--target-bpp", "0.001"], "cannot reach 0.001 bpp: the smallest file (quality 1) takes"), (["--target-size", "5"], "cannot fit in 5 bytes")],
)
def test_unreachable_target_is_refused_in_the_units_asked(tmp_path, target, message):
    source = tmp_path / "p.png"
    Image.fromarray(smooth_image(32, 32)).save(source)
    result = run_cli("compress", str(source), *target)
    assert result.returncode == 1 and message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "p.lic").exists()


def test_target_above_the_highest_quality_says_so(tmp_path):
    source = tmp_path / "p.png"
    Image.fromarray(smooth_image(32, 32)).save(source)
    result = run_cli("compress", str(source), "--target-bpp", "1000")
    assert result.returncode == 0, result.stderr
    assert "quality 100 (the highest: the target allows more)" in result.stdout


def test_quality_and_target_are_mutually_exclusive(tmp_path):
    assert run_cli("compress", "x.png", "--quality", "5", "--target-bpp", "0.5").returncode == 2


@pytest.mark.parametrize("adaptation", [["--optimize", "2", "-q", "40"], ["--optimize", "2", "--adapt-decoder", "2"]])
def test_adaptations_write_a_file_the_plain_decoder_reads(tmp_path, adaptation):
    source = tmp_path / "p.png"
    Image.fromarray(smooth_image(64, 64)).save(source)
    result = run_cli("compress", str(source), *adaptation)
    assert result.returncode == 0, result.stderr
    assert run_cli("decompress", str(tmp_path / "p.lic"), "-o", str(tmp_path / "back.png")).returncode == 0


def test_no_local_models_codes_the_same_pixels_with_the_models_tables_only(tmp_path):
    """A drawn chart, where the image-dependent entropy models pay: without them the file is larger, the pixels equal."""
    from licodec.eval.synthetic import low_complexity_images

    low_complexity_images()["bar-chart"].crop((0, 0, 256, 256)).save(tmp_path / "chart.png")
    sizes, pixels = [], []
    for name, flags in (("adapted", []), ("plain", ["--no-local-models"])):
        assert main(["compress", str(tmp_path / "chart.png"), "-o", str(tmp_path / f"{name}.lic"), "-q", "50", *flags]) == 0
        assert main(["decompress", str(tmp_path / f"{name}.lic"), "-o", str(tmp_path / f"{name}.png")]) == 0
        sizes.append((tmp_path / f"{name}.lic").stat().st_size)
        pixels.append(Image.open(tmp_path / f"{name}.png").tobytes())
    assert sizes[0] < sizes[1] and pixels[0] == pixels[1]
    assert main(["compress", str(tmp_path / "chart.png"), "-o", str(tmp_path / "t.lic"), "--target-size", str(sizes[1]), "--no-local-models"]) == 0
    assert (tmp_path / "t.lic").stat().st_size <= sizes[1]


@pytest.mark.parametrize(
    "command, module, trainer", [("train-prefilter", "prefilter", "train_prefilter"), ("train-postfilter", "postfilter", "train_postfilter")]
)
def test_filter_training_commands_hand_their_settings_to_their_own_trainer(tmp_path, monkeypatch, command, module, trainer):
    import importlib

    received = []
    monkeypatch.setattr(importlib.import_module(f"licodec.train.{module}"), trainer, received.append)
    output = tmp_path / "f.safetensors"
    assert main([command, str(tmp_path), "-o", str(output), "--steps", "7", "--batch-size", "3", "--seed", "2", "--threads", "1"]) == 0
    [settings] = received
    assert type(settings).__module__.endswith(module) and (settings.steps, settings.batch_size, settings.seed) == (7, 3, 2)
    assert settings.output == str(output) and settings.data == [str(tmp_path)]
    output.write_bytes(b"")
    assert main([command, str(tmp_path), "-o", str(output)]) == 1  # an existing output needs --force
    assert main([command, str(tmp_path), "-o", str(tmp_path / "no" / "f.safetensors")]) == 1  # refused before training
    assert len(received) == 1


def test_jpeg_fits_its_huffman_tables_unless_told_to_keep_the_standard_ones(tmp_path, capsys):
    source = tmp_path / "p.png"
    Image.fromarray(smooth_image(96, 128)).save(source)
    assert main(["jpeg", str(source), "-q", "40", "-o", str(tmp_path / "fitted.jpg")]) == 0
    assert main(["jpeg", str(source), "-q", "40", "-o", str(tmp_path / "standard.jpg"), "--standard-huffman"]) == 0
    assert "standard Huffman tables" in capsys.readouterr().out.splitlines()[-1]
    fitted, standard = (tmp_path / "fitted.jpg").read_bytes(), (tmp_path / "standard.jpg").read_bytes()
    assert len(fitted) < len(standard)
    pixels = [np.asarray(Image.open(tmp_path / name)) for name in ("fitted.jpg", "standard.jpg")]
    assert np.array_equal(*pixels)


def test_decompress_refuses_images_above_the_pixel_limit_unless_raised(lic_file, tmp_path, capsys):
    output = tmp_path / "out.png"
    assert main(["decompress", str(lic_file), "-o", str(output), "--max-pixels", "6143"]) == 1  # 96x64 = 6144
    assert "--max-pixels" in capsys.readouterr().err and not output.exists()
    assert main(["decompress", str(lic_file), "-o", str(output), "--max-pixels", "6144"]) == 0
    assert main(["decompress", str(lic_file), "-o", str(output), "--max-pixels", "0", "--force"]) == 0  # 0: no limit


@pytest.mark.parametrize("command", [["export"], ["train", "model"], ["train", "tables"], ["train", "prefilter"], ["train", "postfilter"]])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit:
        main([*command, "--help"])
    assert exit.value.code == 0 and capsys.readouterr().out.startswith(f"usage: licodec {' '.join(command)}")


@pytest.mark.parametrize(
    "old, new",
    [
        (["train-tables", "data", "-o", "t.json"], ["train", "tables", "data", "-o", "t.json"]),
        (["train-prefilter", "data", "-o", "f.safetensors"], ["train", "prefilter", "data", "-o", "f.safetensors"]),
        (["--debug", "train-postfilter", "data", "-o", "f.safetensors"], ["--debug", "train", "postfilter", "data", "-o", "f.safetensors"]),
        (["train", "data", "--steps", "5"], ["train", "model", "data", "--steps", "5"]),
        (["train", "--run", "r", "data"], ["train", "model", "--run", "r", "data"]),
    ],
)
def test_the_names_of_licodec_04_still_work_and_say_what_they_are_now(old, new, capsys):
    assert with_new_names(old) == new
    assert f"is now 'licodec {' '.join(new[new.index('train') : new.index('train') + 2])}'" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["train", "model", "data"], ["train", "--help"], ["compress", "train"], []])
def test_todays_names_pass_unchanged(argv, capsys):
    assert with_new_names(argv) == argv and capsys.readouterr().err == ""


def test_python_m_licodec_is_the_command():
    result = subprocess.run([sys.executable, "-m", "licodec", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("licodec ")


@pytest.fixture
def photos(tmp_path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for seed in range(3):
        Image.fromarray(smooth_image(32, 48, seed=seed)).save(folder / f"p{seed}.png")
    return folder


def test_many_files_and_folders_are_coded_in_one_process(photos, tmp_path, capsys):
    extra = tmp_path / "extra.png"
    Image.fromarray(smooth_image(40, 24)).save(extra)
    assert main(["compress", str(photos), str(extra), "-q", "30"]) == 0
    assert sorted(p.name for p in photos.glob("*.lic")) == ["p0.lic", "p1.lic", "p2.lic"] and (tmp_path / "extra.lic").exists()
    decoded = tmp_path / "decoded"
    decoded.mkdir()
    assert main(["decompress", str(photos), str(tmp_path / "extra.lic"), "-o", str(decoded)]) == 0
    assert sorted(p.name for p in decoded.iterdir()) == ["extra.png", "p0.png", "p1.png", "p2.png"]
    assert Image.open(decoded / "extra.png").size == (24, 40)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 8 and all(": " in line for line in lines)


def test_a_batch_checks_every_output_before_any_work(photos, capsys):
    (photos / "p1.lic").write_bytes(b"kept")
    assert main(["compress", str(photos)]) == 1
    assert "p1.lic exists; use --force" in capsys.readouterr().err
    assert sorted(p.name for p in photos.glob("*.lic")) == ["p1.lic"] and (photos / "p1.lic").read_bytes() == b"kept"


def test_a_damaged_file_in_a_batch_is_one_line_and_the_others_decode(photos, tmp_path):
    assert main(["compress", str(photos)]) == 0
    (photos / "p1.lic").write_bytes(b"LICODEC damaged")
    decoded = tmp_path / "decoded"
    decoded.mkdir()
    result = run_cli("decompress", str(photos), "-o", str(decoded))
    assert_one_line_error(result)
    assert "p1.lic" in result.stderr
    assert sorted(p.name for p in decoded.iterdir()) == ["p0.png", "p2.png"]


@pytest.mark.parametrize(
    "args",
    [
        ["compress", "photos", "-", "-o", "out"],  # standard input among others
        ["compress", "photos", "--roi", "photos/p0.png"],  # one mask for many images
        ["compress", "photos", "-o", "photos/p0.png"],  # -o not a folder
        ["compress", "photos", "twins/p0.jpg", "-o", "out"],  # two inputs writing out/p0.lic
        ["decompress", "photos"],  # no .lic files in it
        ["decompress", "photos/p0.lic", "photos/p1.lic"],  # would overwrite the source photos
    ],
)
def test_batch_mistakes_are_one_line_errors(args, photos):
    (photos.parent / "out").mkdir()
    (photos.parent / "twins").mkdir()
    (photos.parent / "twins" / "p0.jpg").write_bytes(b"")
    if "p1.lic" in args:
        assert main(["compress", str(photos)]) == 0
    assert_one_line_error(run_cli(*args, cwd=photos.parent))
