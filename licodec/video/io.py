"""Reading any video ffmpeg reads as raw I420 frames, and writing VP9 packets as IVF or WebM.

ffmpeg and ffprobe (Debian's ``ffmpeg``) do the demuxing and decoding; a file they cannot
read, or that breaks part-way, is a one-line :class:`LicodecError` with ffmpeg's own words.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from licodec.errors import LicodecError

VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".webm", ".mov", ".y4m", ".ivf", ".m4v", ".mpg", ".mpeg", ".ts"}
FFMPEG_HINT = "Debian: apt-get install ffmpeg ('make system' installs what licodec needs)"


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: Fraction

    @property
    def frame_bytes(self) -> int:
        return i420_size(self.width, self.height)


def i420_size(width: int, height: int) -> int:
    """Bytes of one packed 8-bit I420 frame: Y, then U and V at half size, rounded up."""
    return width * height + 2 * ((width + 1) // 2) * ((height + 1) // 2)


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise LicodecError(f"video needs {name}; {FFMPEG_HINT}")
    return found


def probe(path: Path) -> VideoInfo:
    """Size and frame rate of the first video stream of ``path``."""
    if not Path(path).is_file():
        raise LicodecError(f"{path}: no such file")
    command = [tool("ffprobe"), "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height,avg_frame_rate,r_frame_rate"]
    result = subprocess.run([*command, "-of", "json", str(path)], capture_output=True, text=True)
    streams = json.loads(result.stdout or "{}").get("streams") if result.returncode == 0 else None
    if not streams:
        raise LicodecError(f"{path}: not a video ffmpeg can read{_reason(result.stderr)}")
    stream = streams[0]
    fps = _rate(stream.get("avg_frame_rate")) or _rate(stream.get("r_frame_rate"))
    if not fps or not stream.get("width") or not stream.get("height"):
        raise LicodecError(f"{path}: its video stream states no size or frame rate")
    return VideoInfo(int(stream["width"]), int(stream["height"]), fps)


def _rate(text: str | None) -> Fraction | None:
    try:
        rate = Fraction(text)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return rate if rate > 0 else None


def _reason(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return f" ({lines[-1]})" if lines else ""


def read_frames(path: Path, info: VideoInfo, limit: int | None = None) -> Iterator[bytes]:
    """Packed I420 frames of ``path`` in display order; a decoding error ends in a one-line error, not in fewer frames."""
    command = [tool("ffmpeg"), "-v", "error", "-xerror", "-nostdin", "-i", str(path), "-map", "0:v:0"]
    if limit is not None:
        command += ["-frames:v", str(limit)]
    command += ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        while frame := process.stdout.read(info.frame_bytes):
            if len(frame) != info.frame_bytes:
                break
            yield frame
        stderr = process.stderr.read().decode(errors="replace")
        if process.wait() != 0:
            raise LicodecError(f"{path}: ffmpeg cannot decode it{_reason(stderr)}")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()


def frame_planes(frame: bytes, info: VideoInfo) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The Y, U and V planes of a packed I420 frame."""
    w, h = info.width, info.height
    cw, ch = (w + 1) // 2, (h + 1) // 2
    data = np.frombuffer(frame, dtype=np.uint8)
    return data[: w * h].reshape(h, w), data[w * h : w * h + cw * ch].reshape(ch, cw), data[w * h + cw * ch :].reshape(ch, cw)


def ivf_bytes(packets: list[tuple[int, bytes]], info: VideoInfo) -> bytes:
    """An IVF file (the VP9 elementary stream container libvpx's tools write) of (pts, data) packets."""
    header = struct.pack("<4sHH4sHHIIII", b"DKIF", 0, 32, b"VP90", info.width, info.height, info.fps.numerator, info.fps.denominator, len(packets), 0)
    frames = b"".join(struct.pack("<IQ", len(data), pts) + data for pts, data in packets)
    return header + frames


def write_video(path: Path, ivf: bytes) -> None:
    """Write the stream as ``path``: IVF as it is, WebM (or MKV) remuxed by ffmpeg; the file appears whole or not at all."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.partial{path.suffix}")
    try:
        if path.suffix.lower() == ".ivf":
            temporary.write_bytes(ivf)
        else:
            source = path.with_name(f".{path.name}.partial.ivf")
            try:
                source.write_bytes(ivf)
                command = [tool("ffmpeg"), "-v", "error", "-nostdin", "-y", "-i", str(source), "-c", "copy", str(temporary)]
                result = subprocess.run(command, capture_output=True, text=True)
                if result.returncode != 0:
                    raise LicodecError(f"{path}: ffmpeg cannot write it{_reason(result.stderr)}")
            finally:
                source.unlink(missing_ok=True)
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


def list_clips(folder: Path) -> list[Path]:
    """The video files directly in ``folder`` (by suffix), sorted; none is an error."""
    clips = sorted(p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
    if not clips:
        raise LicodecError(f"{folder} holds no video files ({', '.join(sorted(VIDEO_SUFFIXES))})")
    return clips
