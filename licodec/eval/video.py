"""``licodec eval --video``: rate controls of VP9 compared on real clips at the same targets.

Each clip is encoded at a ladder of targets (bits per pixel per frame, so every resolution
gets comparable rates) by each rate control; the output is decoded by ffmpeg and compared
with the source frame by frame. Reported: PSNR over Y, U and V together (libvpx's overall
PSNR: all samples' squared error), PSNR and SSIM of Y, the bitrate reached against its
target, the BD-rate of each rate control against libvpx's two-pass VBR per clip, and how
often each ends within +5% of its target.
"""

from __future__ import annotations

import hashlib
import json
import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from pytorch_msssim import ssim

from licodec.errors import LicodecError
from licodec.eval.bdrate import bd_rate
from licodec.storage import weights_hash
from licodec.video.encode import encode_file
from licodec.video.io import VideoInfo, frame_planes, probe, read_frames
from licodec.video.libvpx import libvpx_version
from licodec.video.rate_control import RATE_CONTROLS, policy_path

TARGET_BPP = (0.02, 0.04, 0.08, 0.16)
"""Targets in bits per pixel per frame: 15-120 kbps for 176x144 at 30 fps, 90-700 kbps for 640x272 at 25."""

TARGET_TOLERANCE = 0.05  # an encode "meets" its target when it ends at most 5% above it


@dataclass
class VideoMeasurement:
    clip: str
    rate_control: str
    target_kbps: int
    kbps: float
    frames: int
    psnr: float  # mean over frames of the YUV PSNR
    psnr_y: float
    ssim_y: float
    encode_seconds: float
    frame_psnr: list[float]

    @property
    def meets_target(self) -> bool:
        return self.kbps <= self.target_kbps * (1 + TARGET_TOLERANCE)


def targets_for(info: VideoInfo) -> list[int]:
    return [max(1, round(bpp * info.width * info.height * float(info.fps) / 1000)) for bpp in TARGET_BPP]


def measure(clip: Path, info: VideoInfo, rate_control: str, target_kbps: int, frames: int | None, speed: int) -> VideoMeasurement:
    """Encode ``clip`` once and compare its decode with the source, frame by frame."""
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "out.webm"
        start = time.perf_counter()
        encoded = encode_file(clip, output, target_kbps, RATE_CONTROLS[rate_control](), speed=speed, frames=frames)
        seconds = time.perf_counter() - start
        decoded = list(read_frames(output, info))
    source = list(read_frames(clip, info, frames))
    if len(decoded) != len(source):
        raise LicodecError(f"{clip.name}: ffmpeg decoded {len(decoded)} frames of the {len(source)} encoded")
    scores = [frame_scores(a, b, info) for a, b in zip(source, decoded)]
    psnr, psnr_y, ssim_y = (float(np.mean([s[i] for s in scores])) for i in range(3))
    return VideoMeasurement(clip.name, rate_control, target_kbps, encoded.kbps, encoded.frames, psnr, psnr_y, ssim_y, seconds, [s[0] for s in scores])


def frame_scores(source: bytes, decoded: bytes, info: VideoInfo) -> tuple[float, float, float]:
    """(YUV PSNR, Y PSNR, Y SSIM) of one decoded frame."""
    a = np.frombuffer(source, dtype=np.uint8).astype(np.float64)
    b = np.frombuffer(decoded, dtype=np.uint8).astype(np.float64)
    psnr = _psnr(float(np.mean((a - b) ** 2)))
    ya, yb = frame_planes(source, info)[0], frame_planes(decoded, info)[0]
    psnr_y = _psnr(float(np.mean((ya.astype(np.float64) - yb) ** 2)))
    planes = [torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))[None, None] for y in (ya, yb)]
    ssim_y = float(ssim(*planes, data_range=255.0, size_average=True)) if min(info.width, info.height) >= 11 else math.nan
    return psnr, psnr_y, ssim_y


def _psnr(mse: float) -> float:
    return 10 * math.log10(255.0**2 / max(mse, 1e-10))


def evaluate_video(
    clips: list[Path],
    out: Path,
    rate_controls: list[str],
    frames: int | None = None,
    speed: int = 2,
    warn: Callable[[str], None] = print,
    on_row: Callable[[VideoMeasurement], None] = lambda row: None,
) -> list[VideoMeasurement]:
    """Every clip at every target by every rate control; rows cached in ``out/cache.jsonl`` by what decides them."""
    out.mkdir(parents=True, exist_ok=True)
    cache_path = out / "cache.jsonl"
    cache = _load_cache(cache_path)
    rows = []
    with cache_path.open("a") as cache_file:
        for clip in clips:
            try:
                info = probe(clip)
            except LicodecError as error:
                warn(f"skipping {clip.name}: {error}")
                continue
            digest = hashlib.sha256(clip.read_bytes()).hexdigest()[:16]
            for target in targets_for(info):
                for name in rate_controls:
                    key = f"{digest}|{_identity(name)}|{target}|{frames}|{speed}|{libvpx_version()}"
                    if key not in cache:
                        try:
                            cache[key] = measure(clip, info, name, target, frames, speed)
                        except LicodecError as error:
                            warn(f"skipping {clip.name} at {target} kbps ({name}): {error}")
                            continue
                        cache_file.write(json.dumps({"key": key, "measurement": asdict(cache[key])}) + "\n")
                        cache_file.flush()
                    rows.append(cache[key])
                    on_row(cache[key])
    return rows


def _identity(rate_control: str) -> str:
    """The rate control's name, and for the learned one its policy's weights hash (a new policy is measured anew)."""
    return f"{rate_control}@{weights_hash(policy_path())}" if rate_control == "learned" else rate_control


def _load_cache(path: Path) -> dict[str, VideoMeasurement]:
    cache = {}
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                row = json.loads(line)
                cache[row["key"]] = VideoMeasurement(**row["measurement"])
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by an interrupted run
    return cache


def summary(rows: list[VideoMeasurement], anchor: str = "libvpx") -> str:
    """Markdown: per clip the BD-rate (PSNR, YUV) of each rate control against ``anchor``; per rate control the share of targets met."""
    controls = sorted({r.rate_control for r in rows}, key=lambda name: (name != anchor, name))
    clips = sorted({r.clip for r in rows})
    lines = [f"| clip | {' | '.join(f'{c} BD-rate' for c in controls if c != anchor)} |", "|---" * (len(controls)) + "|"]
    bds: dict[str, list[float]] = {c: [] for c in controls}
    for clip in clips:
        curves = {c: _curve([r for r in rows if r.clip == clip and r.rate_control == c]) for c in controls}
        cells = []
        for c in controls:
            if c == anchor:
                continue
            value = bd_rate(curves[anchor], curves[c], "psnr", envelope=True) if curves[anchor] and curves[c] else math.nan
            bds[c].append(value)
            cells.append("n/a" if math.isnan(value) else f"{value:+.2f}%")
        lines.append(f"| {clip} | {' | '.join(cells)} |")
    means = [f"{np.nanmean(bds[c]):+.2f}%" if any(not math.isnan(v) for v in bds[c]) else "n/a" for c in controls if c != anchor]
    lines.append(f"| **mean** | {' | '.join(means)} |")
    lines += ["", "| rate control | encodes | within +5% of target | mean |bitrate error| |", "|---|---|---|---|"]
    for c in controls:
        mine = [r for r in rows if r.rate_control == c]
        met = sum(r.meets_target for r in mine)
        error = np.mean([abs(r.kbps / r.target_kbps - 1) for r in mine]) if mine else math.nan
        lines.append(f"| {c} | {len(mine)} | {met} ({100 * met / max(len(mine), 1):.0f}%) | {100 * error:.1f}% |")
    return "\n".join(lines) + "\n"


def _curve(rows: list[VideoMeasurement]) -> dict[str, list[float]] | None:
    if not rows:
        return None
    rows = sorted(rows, key=lambda r: r.kbps)
    return {"bpp": [r.kbps for r in rows], "psnr": [r.psnr for r in rows]}
