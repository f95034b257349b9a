"""Reading each coded frame's quantiser from VP9 packets."""

import pytest

from licodec.errors import LicodecError
from licodec.video.io import probe, read_frames
from licodec.video.libvpx import encode_vp9
from licodec.video.rate_control import TplRateControl, TrajectoryRateControl
from licodec.video.vp9_header import base_q_index, packet_q_indexes, superframe
from tests.conftest import needs_libvpx


@needs_libvpx
def test_the_headers_give_the_q_index_every_coded_frame_was_coded_with(clip):
    info = probe(clip)
    encoding = encode_vp9(lambda: read_frames(clip, info), 96, 64, (12, 1), 200, TplRateControl(), cpu_used=4)
    assert packet_q_indexes([p.data for p in encoding.packets]) == [r.q_index for _, r in encoding.frames]
    assert any(len(superframe(p.data)) > 1 for p in encoding.packets)  # alt-refs travel hidden in superframes


@needs_libvpx
def test_replaying_libvpx_s_own_quantisers_reproduces_its_stream(clip):
    info = probe(clip)
    frames = lambda: read_frames(clip, info)
    own = encode_vp9(frames, 96, 64, (12, 1), 200, None, cpu_used=4)
    replayed = encode_vp9(frames, 96, 64, (12, 1), 200, TrajectoryRateControl(packet_q_indexes([p.data for p in own.packets])), cpu_used=4)
    assert abs(replayed.bytes / own.bytes - 1) < 0.02


@pytest.mark.parametrize("data", [b"", b"\x00\x00", b"\x80\x00\x00\x00"])
def test_what_is_not_a_vp9_frame_is_a_one_line_error(data):
    with pytest.raises(LicodecError, match="VP9"):
        base_q_index(data)
