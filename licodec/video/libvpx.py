"""libvpx's VP9 encoder from Python: a C shim built once against the installed headers, and ctypes over it.

The shim (``vpx_shim.c``) only opens the encoder, passes frames in and packets out; the
configuration struct it fills is laid out by the compiler, so nothing here depends on
libvpx's struct layouts except the small, stable external rate-control ABI
(``vpx/vpx_ext_ratectrl.h``, ABI version 1), mirrored below. Through that interface a
Python object decides each frame's ``q_index``: libvpx sends it the first pass's
statistics, asks for each frame's quantiser and reports each frame's bits and SSE.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from licodec.errors import LicodecError
from licodec.storage import user_cache
from licodec.video.io import i420_size

SHIM_SOURCE = Path(__file__).with_name("vpx_shim.c")
SETUP_HINT = "Debian: apt-get install libvpx-dev gcc ('make system' installs what licodec needs)"

FIRST_PASS_FIELDS = (
    "frame", "weight", "intra_error", "coded_error", "sr_coded_error", "frame_noise_energy", "pcnt_inter", "pcnt_motion",
    "pcnt_second_ref", "pcnt_neutral", "pcnt_intra_low", "pcnt_intra_high", "intra_skip_pct", "intra_smooth_pct",
    "inactive_zone_rows", "inactive_zone_cols", "MVr", "mvr_abs", "MVc", "mvc_abs", "MVrv", "MVcv", "mv_in_out_count",
    "duration", "count",
)  # fmt: skip
"""The per-frame first-pass statistics libvpx sends an external rate control, in the header's order."""

FRAME_TYPES = ("key", "inter", "altref", "overlay", "golden")
"""``vpx_rc_encodeframe_info_t.frame_type``, by value."""

RC_OK, RC_ERROR = 0, 1


class _FrameStats(ctypes.Structure):
    _fields_ = [(name, ctypes.c_double) for name in FIRST_PASS_FIELDS]


class _FirstPassStats(ctypes.Structure):
    _fields_ = [("frame_stats", ctypes.POINTER(_FrameStats)), ("num_frames", ctypes.c_int)]


class _RcConfig(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_int)
        for name in ("frame_width", "frame_height", "show_frame_count", "target_bitrate_kbps", "frame_rate_num", "frame_rate_den")
    ]


class _FrameInfo(ctypes.Structure):
    _fields_ = [
        ("frame_type", ctypes.c_int),
        ("show_index", ctypes.c_int),
        ("coding_index", ctypes.c_int),
        ("gop_index", ctypes.c_int),
        ("ref_frame_coding_indexes", ctypes.c_int * 3),
        ("ref_frame_valid_list", ctypes.c_int * 3),
    ]


class _FrameDecision(ctypes.Structure):
    _fields_ = [("q_index", ctypes.c_int), ("max_frame_size", ctypes.c_int)]


class _FrameResult(ctypes.Structure):
    _fields_ = [("sse", ctypes.c_int64), ("bit_count", ctypes.c_int64), ("pixel_count", ctypes.c_int64), ("actual_encoding_qindex", ctypes.c_int)]


_CREATE = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(_RcConfig), ctypes.POINTER(ctypes.c_void_p))
_SEND_STATS = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(_FirstPassStats))
_DECIDE = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(_FrameInfo), ctypes.POINTER(_FrameDecision))
_UPDATE = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(_FrameResult))
_DELETE = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)


class _RcFuncs(ctypes.Structure):
    _fields_ = [
        ("create_model", _CREATE),
        ("send_firstpass_stats", _SEND_STATS),
        ("get_encodeframe_decision", _DECIDE),
        ("update_encodeframe_result", _UPDATE),
        ("delete_model", _DELETE),
        ("priv", ctypes.c_void_p),
    ]


@dataclass(frozen=True)
class ClipConfig:
    """What libvpx tells a rate control when it starts: the clip and its budget."""

    width: int
    height: int
    frames: int
    target_kbps: int
    fps: float


@dataclass(frozen=True)
class FrameInfo:
    """The frame libvpx asks a quantiser for."""

    frame_type: str  # one of FRAME_TYPES
    show_index: int  # display order
    coding_index: int  # coding order
    gop_index: int  # position in its group of pictures


@dataclass(frozen=True)
class FrameResult:
    """What coding a frame cost and gave."""

    bits: int
    sse: int  # over the Y, U and V planes
    pixels: int  # samples in the Y, U and V planes
    q_index: int

    @property
    def psnr(self) -> float:
        """PSNR over all planes' samples (libvpx's own measure, 8-bit)."""
        return 10 * np.log10(255.0**2 * self.pixels / max(self.sse, 1))


class RateControl(Protocol):
    """A policy that chooses each frame's VP9 ``q_index`` (0 to 255) through libvpx's external interface."""

    def start(self, clip: ClipConfig, first_pass: np.ndarray) -> None:
        """The clip and its first-pass statistics, (frames, len(FIRST_PASS_FIELDS)) before any decision."""

    def decide(self, frame: FrameInfo) -> int:
        """The q_index of the next frame to code."""

    def observe(self, frame: FrameInfo, result: FrameResult) -> None:
        """What the frame just decided cost."""


@dataclass
class Packet:
    pts: int
    data: bytes
    keyframe: bool


@dataclass
class Encoding:
    """Packets of a VP9 stream and, with an external rate control, what each coded frame cost."""

    packets: list[Packet]
    input_frames: int
    frames: list[tuple[FrameInfo, FrameResult]] = field(default_factory=list)  # each coded frame, hidden ones too

    @property
    def bytes(self) -> int:
        return sum(len(p.data) for p in self.packets)


@lru_cache(maxsize=1)
def shim() -> ctypes.CDLL:
    """The compiled shim, built on first use into the user's cache (keyed by its source and libvpx's headers)."""
    library = ctypes.CDLL(str(_built_shim()))
    library.lv_version.restype = ctypes.c_char_p
    library.lv_open.restype = ctypes.c_void_p
    library.lv_open.argtypes = [ctypes.c_int] * 6 + [
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.c_int,
    ]
    library.lv_encode.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_longlong]
    library.lv_packet.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_int)]
    library.lv_packet.argtypes += [ctypes.POINTER(ctypes.c_longlong), ctypes.POINTER(ctypes.c_int)]
    library.lv_error.restype = ctypes.c_char_p
    library.lv_error.argtypes = [ctypes.c_void_p]
    library.lv_close.argtypes = [ctypes.c_void_p]
    if library.lv_frame_stats_size() != ctypes.sizeof(_FrameStats):
        raise LicodecError("this libvpx's external rate-control interface differs from the one licodec speaks (vpx_ext_ratectrl.h ABI 1)")
    return library


def libvpx_version() -> str:
    return shim().lv_version().decode()


def _built_shim() -> Path:
    header = Path("/usr/include/vpx/vpx_ext_ratectrl.h")
    compiler = shutil.which(os.environ.get("CC", "cc"))
    if compiler is None:
        raise LicodecError(f"VP9 encoding needs a C compiler to build its libvpx layer; {SETUP_HINT}")
    digest = hashlib.sha256(SHIM_SOURCE.read_bytes() + (header.read_bytes() if header.exists() else b"")).hexdigest()[:16]
    built = user_cache("video", f"vpx_shim-{digest}.so")
    if built.exists():
        return built
    built.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=built.parent, suffix=".so", delete=False) as handle:
        temporary = Path(handle.name)
    try:
        command = [compiler, "-O2", "-shared", "-fPIC", "-o", str(temporary), str(SHIM_SOURCE), "-lvpx"]
        compiled = subprocess.run(command, capture_output=True, text=True)
        if compiled.returncode != 0:
            raise LicodecError(f"cannot build licodec's libvpx layer (are libvpx's headers installed?); {SETUP_HINT}")
        temporary.replace(built)
    finally:
        temporary.unlink(missing_ok=True)
    return built


class _Bridge:
    """Holds a RateControl behind libvpx's C callbacks; an exception in one is kept and raised after the call."""

    def __init__(self, policy: RateControl) -> None:
        self.policy = policy
        self.error: BaseException | None = None
        self.frames: list[tuple[FrameInfo, FrameResult]] = []
        self._pending: FrameInfo | None = None
        self._clip: _RcConfig | None = None
        self.funcs = _RcFuncs(
            _CREATE(self._create), _SEND_STATS(self._send_stats), _DECIDE(self._decide), _UPDATE(self._update), _DELETE(lambda model: RC_OK), None
        )

    def _guard(self, work: Callable[[], None]) -> int:
        if self.error is not None:
            return RC_ERROR
        try:
            work()
        except BaseException as error:
            self.error = error
            return RC_ERROR
        return RC_OK

    def _create(self, priv, config, model) -> int:
        def work() -> None:
            c = config.contents
            self._clip = _RcConfig(c.frame_width, c.frame_height, c.show_frame_count, c.target_bitrate_kbps, c.frame_rate_num, c.frame_rate_den)
            model[0] = 1  # libvpx only passes the handle back

        return self._guard(work)

    def _send_stats(self, model, stats) -> int:
        def work() -> None:
            s, c = stats.contents, self._clip
            rows = np.array([[getattr(s.frame_stats[i], name) for name in FIRST_PASS_FIELDS] for i in range(s.num_frames)], dtype=np.float64)
            fps = c.frame_rate_num / max(c.frame_rate_den, 1)
            self.policy.start(ClipConfig(c.frame_width, c.frame_height, c.show_frame_count, c.target_bitrate_kbps, fps), rows)

        return self._guard(work)

    def _decide(self, model, info, decision) -> int:
        def work() -> None:
            i = info.contents
            frame = FrameInfo(
                FRAME_TYPES[i.frame_type] if 0 <= i.frame_type < len(FRAME_TYPES) else "inter", i.show_index, i.coding_index, i.gop_index
            )
            q_index = int(self.policy.decide(frame))
            if not 0 <= q_index <= 255:
                raise LicodecError(f"the rate control chose q_index {q_index}; VP9's range is 0 to 255")
            decision.contents.q_index = q_index
            decision.contents.max_frame_size = 0
            self._pending = frame

        return self._guard(work)

    def _update(self, model, result) -> int:
        def work() -> None:
            r = result.contents
            measured = FrameResult(int(r.bit_count), int(r.sse), int(r.pixel_count), int(r.actual_encoding_qindex))
            self.frames.append((self._pending, measured))
            self.policy.observe(self._pending, measured)

        return self._guard(work)


class _Encoder:
    """One libvpx VP9 encoder session (one pass)."""

    def __init__(self, width: int, height: int, fps: tuple[int, int], kbps: int, pass_: int, stats: bytes, threads: int, cpu_used: int, funcs=None):
        self.library = shim()
        self._stats = ctypes.create_string_buffer(stats, len(stats)) if stats else None  # alive as long as the encoder
        error = ctypes.create_string_buffer(256)
        rc = ctypes.byref(funcs) if funcs is not None else None
        self.handle = self.library.lv_open(width, height, fps[0], fps[1], kbps, pass_, self._stats, len(stats), threads, cpu_used, rc, error, 256)
        if not self.handle:
            raise LicodecError(f"libvpx refused the VP9 encoder settings: {error.value.decode(errors='replace')}")

    def encode(self, frame: bytes | None, pts: int) -> list[tuple[int, bytes, int, bool]]:
        """Feed one packed I420 frame (None flushes); the packets it released, as (kind, data, pts, keyframe)."""
        buffer = None if frame is None else ctypes.c_char_p(frame)
        if self.library.lv_encode(self.handle, buffer, pts) != 0:
            raise LicodecError(f"libvpx failed to encode frame {pts}: {self.library.lv_error(self.handle).decode(errors='replace')}")
        packets = []
        data, size, packet_pts, keyframe = ctypes.c_void_p(), ctypes.c_int(), ctypes.c_longlong(), ctypes.c_int()
        while kind := self.library.lv_packet(self.handle, ctypes.byref(data), ctypes.byref(size), ctypes.byref(packet_pts), ctypes.byref(keyframe)):
            packets.append((kind, ctypes.string_at(data, size.value), packet_pts.value, bool(keyframe.value)))
        return packets

    def close(self) -> None:
        if self.handle:
            self.library.lv_close(self.handle)
            self.handle = None


def encode_vp9(
    frames: Callable[[], Iterable[bytes]],
    width: int,
    height: int,
    fps: tuple[int, int],
    target_kbps: int,
    rate_control: RateControl | None = None,
    threads: int = 2,
    cpu_used: int = 2,
    on_frame: Callable[[int], None] | None = None,
    first_pass: bytes | None = None,
) -> Encoding:
    """Two-pass VBR VP9 of the packed I420 ``frames`` (a callable: each pass reads them afresh).

    With ``rate_control``, libvpx's second pass asks it for every frame's quantiser; without,
    libvpx's own two-pass VBR decides. ``on_frame(n)`` is called as each pass takes frame n.
    ``first_pass`` reuses :func:`first_pass_stats` of the same frames (a search encodes one clip many times).
    A rate control with ``wants_plan`` and no ``plan`` yet is first shown the packets of libvpx's own second pass
    (``prepare(packets)``): a third pass. A rate control with ``retry(size / target)`` is asked after each encode
    whether to code the clip again (having adjusted itself).
    """
    if first_pass is None:
        first_pass = first_pass_stats(frames, width, height, fps, target_kbps, threads, cpu_used, on_frame)
    if getattr(rate_control, "wants_plan", False) and rate_control.plan is None:  # it starts from libvpx's own decisions
        own, _ = _run_pass(frames, width, height, fps, target_kbps, 2, first_pass, threads, cpu_used, None, on_frame)
        rate_control.prepare([data for kind, data, _, _ in own if kind == 1])
    encoding = _second_pass(frames, width, height, fps, target_kbps, first_pass, threads, cpu_used, rate_control, on_frame)
    while encoding.input_frames and hasattr(rate_control, "retry"):
        budget_bits = target_kbps * 1000 * encoding.input_frames * fps[1] / fps[0]
        if not rate_control.retry(8 * encoding.bytes / budget_bits):
            break
        encoding = _second_pass(frames, width, height, fps, target_kbps, first_pass, threads, cpu_used, rate_control, on_frame)
    return encoding


def _second_pass(frames, width, height, fps, kbps, first_pass, threads, cpu_used, rate_control, on_frame) -> Encoding:
    bridge = _Bridge(rate_control) if rate_control is not None else None
    packets, count = _run_pass(frames, width, height, fps, kbps, 2, first_pass, threads, cpu_used, bridge, on_frame)
    encoding = Encoding([Packet(pts, data, keyframe) for kind, data, pts, keyframe in packets if kind == 1], count)
    if bridge is not None:
        encoding.frames = bridge.frames
    return encoding


def first_pass_stats(
    frames: Callable[[], Iterable[bytes]],
    width: int,
    height: int,
    fps: tuple[int, int],
    target_kbps: int,
    threads: int = 2,
    cpu_used: int = 2,
    on_frame: Callable[[int], None] | None = None,
) -> bytes:
    """libvpx's first pass over the frames: the statistics its second pass (and a rate control) plans with."""
    first, _ = _run_pass(frames, width, height, fps, target_kbps, 1, b"", threads, cpu_used, None, on_frame)
    return b"".join(data for kind, data, _, _ in first if kind == 2)


def _run_pass(frames, width, height, fps, kbps, pass_, stats, threads, cpu_used, bridge, on_frame) -> tuple[list, int]:
    """One pass over the frames: its packets as (kind, data, pts, keyframe), and how many frames it read."""
    encoder = _Encoder(width, height, fps, kbps, pass_, stats, threads, cpu_used, bridge.funcs if bridge else None)
    packets, count = [], 0
    try:
        for index, frame in enumerate(_checked_frames(frames(), width, height)):
            count += 1
            packets += _encoded(encoder, frame, index, bridge)
            if on_frame is not None:
                on_frame(index)
        while flushed := _encoded(encoder, None, -1, bridge):  # each call releases what the look-ahead still holds
            packets += flushed
    finally:
        encoder.close()
    return packets, count


def _encoded(encoder: _Encoder, frame: bytes | None, pts: int, bridge: _Bridge | None) -> list:
    try:
        packets = encoder.encode(frame, pts)
    except LicodecError:
        if bridge is not None and bridge.error is not None:
            raise bridge.error from None
        raise
    if bridge is not None and bridge.error is not None:
        raise bridge.error
    return packets


def _checked_frames(frames: Iterable[bytes], width: int, height: int) -> Iterator[bytes]:
    size = i420_size(width, height)
    for index, frame in enumerate(frames):
        if len(frame) != size:
            raise LicodecError(f"frame {index} holds {len(frame)} bytes; a {width}x{height} I420 frame holds {size}")
        yield frame
