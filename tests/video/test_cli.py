"""``licodec video encode``."""

import subprocess

from licodec.cli import main
from tests.conftest import needs_libvpx

pytestmark = needs_libvpx


def test_encode_writes_webm_near_the_target_and_refuses_to_overwrite(clip, tmp_path, capsys):
    output = tmp_path / "out.webm"
    assert main(["video", "encode", str(clip), "-o", str(output), "--target-kbps", "150", "--speed", "4", "--no-progress"]) == 0
    said = capsys.readouterr().out
    assert "24 frames" in said and "rate control libvpx" in said
    probe = ["ffprobe", "-v", "error", "-count_frames", "-show_entries", "stream=codec_name,nb_read_frames", "-of", "csv=p=0", str(output)]
    assert subprocess.run(probe, capture_output=True, text=True, check=True).stdout.strip() == "vp9,24"
    before = output.read_bytes()
    assert main(["video", "encode", str(clip), "-o", str(output), "--target-kbps", "150", "--no-progress"]) == 1
    assert "exists" in capsys.readouterr().err and output.read_bytes() == before
    assert main(["video", "encode", str(clip), "-o", str(output), "--target-kbps", "150", "--no-progress", "--force", "--frames", "6"]) == 0
    assert "6 frames" in capsys.readouterr().out
    assert (
        main(["video", "encode", str(clip), "-o", str(tmp_path / "tpl.ivf"), "--target-kbps", "150", "--rate-control", "tpl", "--no-progress"]) == 0
    )
    assert "rate control tpl" in capsys.readouterr().out and (tmp_path / "tpl.ivf").read_bytes()[:4] == b"DKIF"


def test_bad_inputs_are_one_line_errors_and_leave_no_output(tmp_path, capsys):
    junk = tmp_path / "junk.avi"
    junk.write_bytes(b"RIFF" + b"\x00" * 500)
    for argv, message in (
        ([str(junk), "-o", str(tmp_path / "a.webm")], "not a video"),
        ([str(tmp_path / "missing.mp4"), "-o", str(tmp_path / "a.webm")], "no such file"),
        ([str(junk), "-o", str(tmp_path / "a.mp4")], "name the output .webm"),
    ):
        assert main(["video", "encode", *argv, "--target-kbps", "100", "--no-progress"]) == 1
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.avi"]


def test_a_policy_file_goes_only_with_the_learned_rate_control(clip, tmp_path, capsys):
    command = ["video", "encode", str(clip), "-o", str(tmp_path / "o.ivf"), "--target-kbps", "100", "--policy", "p.safetensors"]
    assert main(command) == 1
    assert "--rate-control learned" in capsys.readouterr().err
