"""libvpx's VP9 encoder through the shim: its own two-pass VBR, and a Python rate control through the external interface."""

import subprocess

import numpy as np
import pytest

from licodec.errors import LicodecError
from licodec.video.io import ivf_bytes, probe, read_frames
from licodec.video.libvpx import FIRST_PASS_FIELDS, ClipConfig, FrameInfo, FrameResult, encode_vp9, libvpx_version
from tests.conftest import needs_libvpx

pytestmark = needs_libvpx


class ConstantQ:
    """Every frame at one q_index, recording what libvpx said."""

    def __init__(self, q_index: int) -> None:
        self.q_index = q_index
        self.clip: ClipConfig | None = None
        self.first_pass: np.ndarray | None = None
        self.seen: list[tuple[FrameInfo, FrameResult]] = []

    def start(self, clip: ClipConfig, first_pass: np.ndarray) -> None:
        self.clip, self.first_pass = clip, first_pass

    def decide(self, frame: FrameInfo) -> int:
        return self.q_index

    def observe(self, frame: FrameInfo, result: FrameResult) -> None:
        self.seen.append((frame, result))


def encode(clip, rate_control=None, kbps: int = 300):
    info = probe(clip)
    return info, encode_vp9(lambda: read_frames(clip, info), info.width, info.height, (12, 1), kbps, rate_control, cpu_used=4)


def decoded_frames(path) -> int:
    command = [
        "ffprobe",
        "-v",
        "error",
        "-count_frames",
        "-select_streams",
        "v:0",
        "-show_entries",
        "stream=nb_read_frames,codec_name",
        "-of",
        "csv=p=0",
    ]
    return subprocess.run([*command, str(path)], capture_output=True, text=True, check=True).stdout.strip()


def test_libvpx_two_pass_vbr_writes_a_stream_ffmpeg_decodes_in_full(clip, tmp_path):
    assert libvpx_version().startswith("v1.")
    info, encoding = encode(clip)
    assert encoding.input_frames == 24 and len(encoding.packets) == 24 and encoding.packets[0].keyframe
    assert encoding.frames == []  # libvpx decided: no external results
    path = tmp_path / "out.ivf"
    path.write_bytes(ivf_bytes([(p.pts, p.data) for p in encoding.packets], info))
    assert decoded_frames(path) == "vp9,24"


def test_an_external_rate_control_decides_every_frames_quantiser(clip):
    low, high = ConstantQ(40), ConstantQ(200)
    _, fine = encode(clip, low)
    _, coarse = encode(clip, high)
    assert low.clip.frames == 24 and (low.clip.width, low.clip.height) == (96, 64) and low.clip.target_kbps == 300
    assert low.first_pass.shape == (24, len(FIRST_PASS_FIELDS))
    assert [result.q_index for _, result in low.seen] == [40] * len(low.seen) and len(low.seen) >= 24
    assert low.seen[0][0].frame_type == "key"
    assert fine.bytes > 2 * coarse.bytes  # the quantiser we chose is the one used
    psnr_fine = np.mean([r.psnr for _, r in low.seen])
    psnr_coarse = np.mean([r.psnr for _, r in high.seen])
    assert psnr_fine > psnr_coarse + 5
    assert fine.frames == low.seen


def test_a_failing_rate_control_raises_its_own_error_after_the_call(clip):
    class Broken(ConstantQ):
        def decide(self, frame):
            raise ValueError("policy broke")

    with pytest.raises(ValueError, match="policy broke"):
        encode(clip, Broken(100))
    with pytest.raises(LicodecError, match="q_index 300"):
        encode(clip, ConstantQ(300))


def test_frames_of_the_wrong_size_are_refused(clip):
    with pytest.raises(LicodecError, match="I420 frame holds"):
        encode_vp9(lambda: iter([b"\x00" * 10]), 96, 64, (12, 1), 300)
