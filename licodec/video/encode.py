"""Encoding a video file to VP9: read with ffmpeg, two passes of libvpx, written as IVF or WebM."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from licodec.errors import LicodecError
from licodec.video.io import VideoInfo, ivf_bytes, probe, read_frames, write_video
from licodec.video.libvpx import Encoding, RateControl, encode_vp9


@dataclass(frozen=True)
class EncodedVideo:
    info: VideoInfo
    frames: int
    bytes: int  # of the VP9 frames, without the container
    encoding: Encoding

    @property
    def kbps(self) -> float:
        seconds = self.frames / float(self.info.fps)
        return 8 * self.bytes / 1000 / seconds


def encode_file(
    source: Path,
    output: Path,
    target_kbps: int,
    rate_control: RateControl | None,
    speed: int = 2,
    threads: int = 2,
    frames: int | None = None,
    on_frame: Callable[[int], None] | None = None,
) -> EncodedVideo:
    """Two-pass VP9 of ``source`` (its first ``frames``) at ``target_kbps``; ``rate_control`` None is libvpx's own VBR."""
    info = probe(source)
    if info.width > 16384 or info.height > 16384:
        raise LicodecError(f"{source}: {info.width}x{info.height} is larger than VP9 codes")
    encoding = encode_vp9(
        lambda: read_frames(source, info, frames),
        info.width,
        info.height,
        (info.fps.numerator, info.fps.denominator),
        target_kbps,
        rate_control,
        threads=threads,
        cpu_used=speed,
        on_frame=on_frame,
    )
    if not encoding.input_frames:
        raise LicodecError(f"{source}: no frames to encode")
    write_video(output, ivf_bytes([(p.pts, p.data) for p in encoding.packets], info))
    return EncodedVideo(info, encoding.input_frames, encoding.bytes, encoding)
