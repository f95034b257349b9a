"""The public API on every kind of input, with tiny models so each case takes milliseconds."""

import dataclasses
import io
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import licodec
from licodec import api
from licodec.errors import CorruptBitstreamError, LicodecError, WeightsMismatchError
from licodec.models import save_weights
from tests.conftest import KODAK, REPO, loud_model, rate_ladder_model, smooth_image, tiny_model
from tests.data.make_v2_files import v2_cases


def round_trip(model, image, quality=60):
    data = licodec.compress(image, quality=quality, model=model)
    return data, licodec.decompress(data, model=model)


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "TIFF", "BMP", "PPM"])
def test_every_input_format_round_trips(checkerboard_model, fmt):
    source = Image.fromarray(smooth_image(40, 56))
    _, decoded = round_trip(checkerboard_model, encoded(source, fmt))
    assert decoded.size == (56, 40) and decoded.mode == "RGB"


@pytest.mark.parametrize("size", [(1, 1), (1, 97), (97, 1), (63, 65), (130, 70)])
def test_any_size_is_cropped_back_exactly(checkerboard_model, size):
    width, height = size
    _, decoded = round_trip(checkerboard_model, smooth_image(height, width))
    assert decoded.size == (width, height)


def test_every_architecture_round_trips_through_the_file_format(any_tiny_model):
    data, decoded = round_trip(any_tiny_model, smooth_image(33, 47))
    assert decoded.size == (47, 33)
    assert licodec.decompress(data, model=any_tiny_model).tobytes() == decoded.tobytes()


def test_grayscale_comes_back_grayscale(checkerboard_model):
    _, decoded = round_trip(checkerboard_model, Image.fromarray(smooth_image(20, 20)).convert("L"))
    assert decoded.mode == "L"


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_alpha_is_kept_losslessly(checkerboard_model, mode):
    image = Image.fromarray(smooth_image(24, 24)).convert(mode)
    alpha = Image.fromarray(np.random.default_rng(0).integers(0, 256, (24, 24)).astype(np.uint8))
    image.putalpha(alpha)
    _, decoded = round_trip(checkerboard_model, image)
    assert decoded.mode == mode
    assert decoded.getchannel("A").tobytes() == alpha.tobytes()


def test_sixteen_bit_input_is_recorded_in_the_header(checkerboard_model):
    image = Image.fromarray(np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000)
    data, decoded = round_trip(checkerboard_model, image)
    assert licodec.bitstream.read_header(data).bit_depth == 16
    assert decoded.mode == "L"


def test_large_images_are_tiled_and_reassembled(checkerboard_model, monkeypatch):
    monkeypatch.setattr(licodec.bitstream, "TILE_PX", 64)
    image = smooth_image(150, 200)
    data, decoded = round_trip(checkerboard_model, image)
    header = licodec.bitstream.read_header(data)
    assert header.tile_px == 64
    assert decoded.size == (200, 150)
    assert len(licodec.bitstream.LicFile.from_bytes(data).streams) == 3 * 4 * licodec.bitstream.STREAMS_PER_TILE


def test_decoded_pixels_do_not_depend_on_the_tile_size_setting_of_the_decoder(checkerboard_model, monkeypatch):
    monkeypatch.setattr(licodec.bitstream, "TILE_PX", 64)
    data = licodec.compress(smooth_image(100, 100), model=checkerboard_model)
    monkeypatch.setattr(licodec.bitstream, "TILE_PX", 1024)  # the file says how it was tiled
    assert licodec.decompress(data, model=checkerboard_model).size == (100, 100)


@pytest.mark.parametrize("quality", [0, 101, float("nan"), -5, "high", None])
def test_quality_out_of_range_is_a_user_error(checkerboard_model, quality):
    with pytest.raises(LicodecError, match="quality"):
        licodec.compress(smooth_image(8, 8), quality=quality, model=checkerboard_model)


def test_stream_count_mismatch_is_corruption(checkerboard_model):
    data = licodec.compress(smooth_image(16, 16), model=checkerboard_model)
    lic = licodec.bitstream.LicFile.from_bytes(data)
    damaged = licodec.bitstream.pack(lic.header, lic.streams[:1])
    with pytest.raises(CorruptBitstreamError):
        licodec.decompress(damaged, model=checkerboard_model)


@pytest.mark.parametrize(
    "name", ["he2021-checkerboard-plain", "he2021-checkerboard-offsets", "bmshj2018-hyperprior-plain", "bmshj2018-hyperprior-offsets"]
)
def test_format_version_1_files_still_decode(name):
    """Files written by licodec 95ca80f (format 1: a binary offsets flag, no adaptive mode), with
    loud_model(architecture) and smooth_image(48, 40) at quality 50, offsets forced on or off. The
    coding mode never changes the reconstruction, so they decode to what a new file decodes to."""
    old = (REPO / "tests" / "data" / f"v1-{name}.lic").read_bytes()
    assert old[8] == 1
    assert_decodes_like_a_new_file(old, name.rsplit("-", 1)[0], smooth_image(48, 40))


V2_CASES = v2_cases()


@pytest.mark.parametrize("name", [n for n in V2_CASES if "decoder-updates" not in n])
def test_format_version_2_files_still_decode(name):
    """Files written by licodec 3dfe31a (``tests/data/make_v2_files.py``): every coding mode of y and z,
    alpha with a region of interest, and tiles. They decode to what a new file of the same image decodes to."""
    case = V2_CASES[name]
    old = (REPO / "tests" / "data" / name).read_bytes()
    assert old[8] == 2
    assert_decodes_like_a_new_file(old, case["architecture"], case["image"], roi=case.get("roi"))


def assert_decodes_like_a_new_file(old: bytes, architecture: str, image: np.ndarray, roi=None) -> None:
    """``old`` decodes to what a file of ``image`` written now (current format, quality 50) decodes to."""
    model = loud_model(architecture)
    new = licodec.compress(image, quality=50, model=model, roi=roi)
    assert new[8] == licodec.bitstream.FORMAT_VERSION
    np.testing.assert_array_equal(np.asarray(licodec.decompress(old, model=model)), np.asarray(licodec.decompress(new, model=model)))


def test_format_version_2_decoder_updates_still_apply():
    """The updates came from a float optimisation, so the file is compared with the pixels it decoded to
    when written (within one level: the synthesis runs in floating point), and must differ without them."""
    name = "v2-he2021-checkerboard-decoder-updates.lic"
    data = (REPO / "tests" / "data" / name).read_bytes()
    old = licodec.bitstream.LicFile.from_bytes(data)
    model = loud_model("he2021-checkerboard")
    decoded = np.asarray(licodec.decompress(data, model=model), dtype=np.int16)
    expected = np.asarray(Image.open(REPO / "tests" / "data" / name.replace(".lic", ".png")), dtype=np.int16)
    assert np.abs(decoded - expected).max() <= 1
    without = licodec.bitstream.pack(dataclasses.replace(old.header, flags=0), old.streams[:-1])
    assert np.abs(np.asarray(licodec.decompress(without, model=model), dtype=np.int16) - expected).max() > 1


THREAD_SCRIPT = """
import sys, torch
torch.set_num_threads(int(sys.argv[1]))
import licodec
from tests.conftest import smooth_image, tiny_model
model = tiny_model(sys.argv[3].split(":")[1]) if sys.argv[3].startswith("tiny:") else licodec.load_model()
image = smooth_image(96, 160, seed=3) if sys.argv[4] == "-" else sys.argv[4]
if sys.argv[2] == "encode":
    sys.stdout.buffer.write(licodec.compress(image, quality=70, model=model))
else:
    sys.stdout.buffer.write(licodec.decompress(sys.stdin.buffer.read(), model=model).tobytes())
"""


def run_with_threads(threads: int, mode: str, model: str, image: str = "-", stdin: bytes = b"") -> bytes:
    result = subprocess.run(
        [sys.executable, "-c", THREAD_SCRIPT, str(threads), mode, model, image],
        input=stdin,
        capture_output=True,
        cwd=REPO,
        check=True,
    )
    return result.stdout


def assert_thread_count_does_not_matter(model: str, image: str = "-") -> None:
    one = run_with_threads(1, "encode", model, image)
    two = run_with_threads(2, "encode", model, image)
    assert one == two
    assert run_with_threads(1, "decode", model, stdin=one) == run_with_threads(2, "decode", model, stdin=one)


@pytest.mark.parametrize("architecture", ["he2021-checkerboard", "fu2023-asymmetric", "fu2023-gllmm"])
def test_encoding_and_decoding_agree_across_thread_counts(architecture):
    assert_thread_count_does_not_matter(f"tiny:{architecture}")


@pytest.mark.skipif(not (KODAK / "kodim23.png").exists(), reason="needs ../shared/data/kodak")
def test_default_model_agrees_across_thread_counts_on_a_kodak_image():
    assert_thread_count_does_not_matter("default", str(KODAK / "kodim23.png"))


def test_target_size_gives_the_largest_file_that_fits():
    model = rate_ladder_model()
    image = smooth_image(128, 128)
    low = len(licodec.compress(image, quality=1, model=model))
    high = len(licodec.compress(image, quality=100, model=model))
    budget = (low + high) // 2
    data, quality = api.compress_to_size(image, budget, model)
    assert low < len(data) <= budget
    assert len(licodec.compress(image, quality=quality + 0.01, model=model)) > budget


def test_unreachable_target_size_is_a_user_error(checkerboard_model):
    with pytest.raises(LicodecError, match="cannot fit"):
        api.compress_to_size(smooth_image(64, 64), 5, checkerboard_model)


def test_untiled_file_claiming_a_huge_size_is_refused_before_decoding(checkerboard_model):
    data = licodec.compress(smooth_image(16, 16), model=checkerboard_model)
    lic = licodec.bitstream.LicFile.from_bytes(data)
    huge = licodec.bitstream.Header(**{**lic.header.__dict__, "width_px": 50_000, "height_px": 50_000})
    with pytest.raises(CorruptBitstreamError, match="tiles"):
        licodec.decompress(licodec.bitstream.pack(huge, lic.streams), model=checkerboard_model)


def test_a_file_written_with_a_weights_file_decodes_with_that_file_only(tmp_path, checkerboard_model):
    mine, other = tmp_path / "mine.safetensors", tmp_path / "other.safetensors"
    save_weights(checkerboard_model, mine, "my-model")
    save_weights(tiny_model("he2021-checkerboard", seed=1), other, "my-model")
    data = licodec.compress(smooth_image(32, 48), model=str(mine))
    assert licodec.bitstream.read_header(data).model_name == "my-model"
    assert licodec.decompress(data, model=str(mine)).size == (48, 32)
    with pytest.raises(WeightsMismatchError, match="does not ship.*--model"):
        licodec.decompress(data)
    with pytest.raises(WeightsMismatchError, match="not these"):
        licodec.decompress(data, model=str(other))


def test_a_file_from_retired_shipped_weights_names_the_commit_that_has_them(checkerboard_model):
    data = licodec.compress(smooth_image(16, 16), model=checkerboard_model)
    lic = licodec.bitstream.LicFile.from_bytes(data)
    retired = {"model_name": "licodec-mse", "weights_hash": bytes.fromhex("ec3f2f1aa0dadfd6")}  # step 164,390
    old = licodec.bitstream.Header(**{**lic.header.__dict__, **retired})
    with pytest.raises(WeightsMismatchError, match=r"retired licodec-mse weights .* commit 822b400 \(licodec 0.1.0, .*--model"):
        licodec.decompress(licodec.bitstream.pack(old, lic.streams))


def test_options_object_and_keywords_write_the_same_file(checkerboard_model):
    image = smooth_image(32, 40)
    data, quality = licodec.compress_with(image, licodec.CompressOptions(quality=42.5, local_models=False), checkerboard_model)
    assert quality == 42.5 and data == licodec.compress(image, quality=42.5, model=checkerboard_model, local_models=False)
    with pytest.raises(TypeError, match="optimise_steps"):
        licodec.compress(image, model=checkerboard_model, optimise_steps=3)


def test_a_file_describing_more_pixels_than_the_limit_is_refused_before_decoding(checkerboard_model):
    """A few bytes of header can describe tens of gigapixels in small tiles; the limit is checked first."""
    huge = licodec.bitstream.Header("test-he2021-checkerboard", b"\0" * 8, 50.0, 20_000, 20_000, tile_px=1024)
    bomb = licodec.bitstream.pack(huge, (b"",) * (20 * 20 * licodec.bitstream.STREAMS_PER_TILE))
    assert len(bomb) < 10_000
    with pytest.raises(licodec.ImageTooLargeError, match="20000x20000.*--max-pixels"):
        licodec.decompress(bomb, model=checkerboard_model)


def test_the_default_pixel_limit_is_pillows_own_setting(checkerboard_model, monkeypatch):
    data = licodec.compress(smooth_image(16, 16), model=checkerboard_model)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 255)
    with pytest.raises(licodec.ImageTooLargeError, match="above the limit of 255"):
        licodec.decompress(data, model=checkerboard_model)
    assert licodec.decompress(data, model=checkerboard_model, max_pixels=256).size == (16, 16)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    assert licodec.decompress(data, model=checkerboard_model).size == (16, 16)


def test_damaged_files_are_oserrors_as_pillows_own_decoders_raise(checkerboard_model):
    data = bytearray(licodec.compress(smooth_image(16, 16), model=checkerboard_model))
    data[-10] ^= 0xFF
    with pytest.raises(OSError, match="checksum") as caught:
        licodec.decompress(bytes(data), model=checkerboard_model)
    assert isinstance(caught.value, CorruptBitstreamError)
