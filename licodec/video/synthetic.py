"""Training clips made from photographs: a camera that pans and zooms over a still, with cuts between stills.

Real clips are few and kept for evaluation; a rate-control policy needs many clips to learn
from. Moving a crop window over a photograph gives real image statistics with motion that
first-pass statistics can see (global pans, zooms, cuts, fades), in any number.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from licodec.errors import LicodecError
from licodec.video.io import tool


@dataclass(frozen=True)
class Shot:
    """A window moving in a straight line (and a steady zoom) over one photograph for ``frames`` frames."""

    photo: Path
    frames: int
    start: tuple[float, float, float]  # centre x, centre y (fractions of the photo), window width (fraction of the photo width)
    end: tuple[float, float, float]
    fade: float  # brightness change over the shot, as a fraction (0: none)


def plan_shots(photos: list[Path], frames: int, rng: np.random.Generator, mean_shot: int = 40) -> list[Shot]:
    """Shots of random photographs, lengths around ``mean_shot`` frames, ``frames`` in all."""
    shots, left = [], frames
    while left > 0:
        length = int(min(left, max(8, rng.geometric(1 / mean_shot))))
        width = rng.uniform(0.35, 0.9)
        zoom = width * rng.uniform(0.8, 1.25)
        speed = rng.uniform(0.0, 0.3)  # of the photo, over the shot
        angle = rng.uniform(0, 2 * np.pi)
        start = (rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7), width)
        end = (start[0] + speed * np.cos(angle), start[1] + speed * np.sin(angle), min(zoom, 0.95))
        fade = rng.uniform(-0.3, 0.3) if rng.random() < 0.15 else 0.0
        shots.append(Shot(photos[int(rng.integers(len(photos)))], length, start, end, fade))
        left -= length
    return shots


def render(shots: list[Shot], width: int, height: int) -> Iterator[np.ndarray]:
    """The shots' frames, RGB uint8 (height, width, 3)."""
    for shot in shots:
        with Image.open(shot.photo) as opened:
            photo = opened.convert("RGB")
        for i in range(shot.frames):
            t = i / max(shot.frames - 1, 1)
            cx, cy, w = (a + (b - a) * t for a, b in zip(shot.start, shot.end))
            box_w = w * photo.width
            box_h = box_w * height / width
            box_h = min(box_h, photo.height)
            box_w = box_h * width / height
            left = float(np.clip(cx * photo.width - box_w / 2, 0, photo.width - box_w))
            top = float(np.clip(cy * photo.height - box_h / 2, 0, photo.height - box_h))
            frame = photo.resize((width, height), Image.BICUBIC, box=(left, top, left + box_w, top + box_h))
            pixels = np.asarray(frame, dtype=np.float32)
            if shot.fade:
                pixels = pixels * (1 + shot.fade * t)
            yield np.clip(np.rint(pixels), 0, 255).astype(np.uint8)


def write_lossless(path: Path, frames: Iterator[np.ndarray], width: int, height: int, fps: int) -> None:
    """RGB frames as a lossless FFV1 Matroska file (4:2:0, as every encoder here reads it), written whole or not at all."""
    temporary = path.with_name(f".{path.name}.partial.mkv")
    command = [tool("ffmpeg"), "-v", "error", "-nostdin", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}"]
    command += ["-r", str(fps), "-i", "-", "-pix_fmt", "yuv420p", "-c:v", "ffv1", str(temporary)]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for frame in frames:
            process.stdin.write(frame.tobytes())
        process.stdin.close()
        if process.wait() != 0:
            raise LicodecError(f"{path}: ffmpeg cannot write it ({process.stderr.read().decode(errors='replace').strip()})")
        temporary.replace(path)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stderr.close()
        temporary.unlink(missing_ok=True)


def make_clips(photos: list[Path], out: Path, count: int, frames: int, size: tuple[int, int], fps: int, seed: int) -> list[Path]:
    """``count`` clips of ``frames`` frames at ``size``, ``out/clip-NNN.mkv``; the same seed gives the same clips."""
    if not photos:
        raise LicodecError("no photographs to make clips from")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for index in range(count):
        rng = np.random.default_rng([seed, index])
        path = out / f"clip-{index:03d}.mkv"
        write_lossless(path, render(plan_shots(photos, frames, rng), *size), *size, fps)
        written.append(path)
    return written
