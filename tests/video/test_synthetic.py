"""Training clips made from photographs."""

import numpy as np
from PIL import Image

from licodec.cli import main
from licodec.video.io import probe, read_frames
from licodec.video.synthetic import make_clips, plan_shots, render
from tests.conftest import needs_ffmpeg, smooth_image


def photos(folder, count: int = 3):
    folder.mkdir(exist_ok=True)
    for i in range(count):
        Image.fromarray(smooth_image(120, 160, seed=i)).save(folder / f"{i}.png")
    return sorted(folder.glob("*.png"))


def test_shots_cover_the_clip_and_the_window_moves(tmp_path):
    shots = plan_shots(photos(tmp_path / "p"), 100, np.random.default_rng(0), mean_shot=30)
    assert sum(s.frames for s in shots) == 100 and all(s.frames >= 1 for s in shots)
    frames = list(render(shots[:1], 48, 32))
    assert len(frames) == shots[0].frames and frames[0].shape == (32, 48, 3) and frames[0].dtype == np.uint8
    assert not np.array_equal(frames[0], frames[-1])  # the camera moved


@needs_ffmpeg
def test_clips_are_lossless_video_the_same_for_the_same_seed(tmp_path):
    sources = photos(tmp_path / "p")
    first = make_clips(sources, tmp_path / "a", 2, 12, (48, 32), 10, seed=3)
    again = make_clips(sources, tmp_path / "b", 1, 12, (48, 32), 10, seed=3)
    info = probe(first[0])
    assert (info.width, info.height, float(info.fps)) == (48, 32, 10.0)
    decoded = list(read_frames(first[0], info))
    assert len(decoded) == 12 and decoded == list(read_frames(again[0], info))
    assert decoded != list(read_frames(first[1], info))
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["clip-000.mkv", "clip-001.mkv"]


@needs_ffmpeg
def test_the_command_refuses_to_write_over_clips_without_force(tmp_path, capsys):
    folder = tmp_path / "p"
    photos(folder)
    argv = ["video", "clips", str(tmp_path / "out"), "--photos", str(folder), "--count", "1", "--frames", "4", "--size", "32x32"]
    assert main(argv) == 0 and "wrote 1 clips" in capsys.readouterr().out
    assert main(argv) == 1 and "--force" in capsys.readouterr().err
    assert main([*argv, "--force"]) == 0
    assert main(["video", "clips", str(tmp_path / "x"), "--photos", str(tmp_path / "missing")]) == 1
    assert "not a folder" in capsys.readouterr().err
