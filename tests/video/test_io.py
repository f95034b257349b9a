"""Reading video through ffmpeg and writing IVF / WebM."""

import struct
from fractions import Fraction

import numpy as np
import pytest

from licodec.errors import LicodecError
from licodec.video.io import VideoInfo, frame_planes, ivf_bytes, probe, read_frames, write_video
from tests.conftest import needs_ffmpeg

pytestmark = needs_ffmpeg


def test_probe_and_read_give_every_frame_as_i420(clip):
    info = probe(clip)
    assert (info.width, info.height, info.fps) == (96, 64, Fraction(12))
    frames = list(read_frames(clip, info))
    assert len(frames) == 24 and all(len(f) == 96 * 64 * 3 // 2 for f in frames)
    y, u, v = frame_planes(frames[0], info)
    assert y.shape == (64, 96) and u.shape == v.shape == (32, 48)
    assert not np.array_equal(frames[0], frames[1])  # the pattern moves
    assert len(list(read_frames(clip, info, limit=5))) == 5


def test_unreadable_and_missing_inputs_are_one_line_errors(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00" * 1000)
    with pytest.raises(LicodecError, match="not a video ffmpeg can read"):
        probe(junk)
    with pytest.raises(LicodecError, match="no such file"):
        probe(tmp_path / "missing.mp4")


def test_a_truncated_file_gives_the_frames_it_holds(clip, tmp_path):
    broken = tmp_path / "broken.mkv"
    data = clip.read_bytes()
    broken.write_bytes(data[: len(data) // 2])  # cut mid-stream: ffmpeg decodes what is there
    info = probe(clip)
    frames = list(read_frames(broken, info))
    assert 0 < len(frames) < 24 and all(len(f) == info.frame_bytes for f in frames)


def test_ivf_header_and_frames():
    info = VideoInfo(8, 6, Fraction(30000, 1001))
    data = ivf_bytes([(0, b"abc"), (1, b"de")], info)
    assert data[:4] == b"DKIF" and data[8:12] == b"VP90"
    assert struct.unpack("<HHIII", data[12:28]) == (8, 6, 30000, 1001, 2)
    assert data[32:44] == struct.pack("<IQ", 3, 0) and data[44:47] == b"abc"


def test_write_video_leaves_nothing_behind_when_ffmpeg_fails(tmp_path, monkeypatch):
    import licodec.video.io as video_io

    info = VideoInfo(8, 6, Fraction(30))
    monkeypatch.setattr(video_io, "tool", lambda name: "false")  # an ffmpeg that fails
    with pytest.raises(LicodecError, match="cannot write"):
        write_video(tmp_path / "out.webm", ivf_bytes([(0, b"data")], info))
    assert list(tmp_path.iterdir()) == []
    write_video(tmp_path / "out.ivf", ivf_bytes([(0, b"data")], info))  # IVF needs no ffmpeg
    assert [p.name for p in tmp_path.iterdir()] == ["out.ivf"]
