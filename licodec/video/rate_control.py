"""Rate controls of licodec's own, spoken through libvpx's external interface (:class:`licodec.video.libvpx.RateControl`).

Every one shares :class:`BudgetModel`: VP9's frame size falls by about half for every
:data:`Q_PER_HALVING` steps of ``q_index`` (measured here on two real clips, see
docs/video.md), so a clip's bits follow ``log2(bits per pixel) = c - q / Q_PER_HALVING``
with one content constant ``c``, re-estimated from every frame coded so far. The base
quantiser of the frames still to come is the one that spends what is left of the budget
on them; a policy only decides how far each frame departs from that base.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from licodec.errors import LicodecError
from licodec.storage import find_file, load_arrays
from licodec.video.libvpx import FIRST_PASS_FIELDS, FRAME_TYPES, ClipConfig, FrameInfo, FrameResult, RateControl
from licodec.video.vp9_header import coded_frames

Q_PER_HALVING = 45.0
"""q_index steps that halve VP9's bits: 41 on carphone, 48 on bikes (60 frames, q 40-240, cpu-used 4)."""

PRIOR_CONTENT = -1.2  # c of a typical clip (carphone -0.6, bikes -1.8), until the clip's own frames say otherwise
PRIOR_FRAMES = 4  # how many frames' worth of weight the prior carries
HORIZON = 16  # frames a frame's influence is followed through: libvpx's usual alt-ref interval


class BudgetModel:
    """Bits spent against the budget, and the base q_index that spends the rest evenly (in the model above)."""

    def __init__(self, clip: ClipConfig) -> None:
        self.clip = clip
        self.budget_bits = clip.target_kbps * 1000 * clip.frames / clip.fps
        self.pixels = clip.width * clip.height
        self.spent_bits = 0
        self.shown = 0  # displayed frames coded (hidden alt-refs are not displayed)
        self.q_sum = 0.0
        self.coded = 0

    def observe(self, frame: FrameInfo, result: FrameResult) -> None:
        self.spent_bits += result.bits
        self.q_sum += result.q_index
        self.coded += 1
        if frame.frame_type != "altref":
            self.shown += 1

    @property
    def content(self) -> float:
        """The clip's constant c, from its frames so far, pulled towards the prior while they are few."""
        if not self.coded or not self.shown:
            return PRIOR_CONTENT
        measured = math.log2(max(self.spent_bits, 1) / (self.pixels * self.shown)) + self.q_sum / self.coded / Q_PER_HALVING
        return (PRIOR_FRAMES * PRIOR_CONTENT + self.shown * measured) / (PRIOR_FRAMES + self.shown)

    @property
    def bits_per_frame_left(self) -> float:
        """The budget left per frame left (never below 2% of the budget in all: never give up on the rest of the clip)."""
        left_bits = max(self.budget_bits - self.spent_bits, 0.02 * self.budget_bits)
        return left_bits / max(self.clip.frames - self.shown, 1)

    @property
    def remaining_share(self) -> float:
        """The budget left per frame left, relative to the clip's average (1: on plan)."""
        return self.bits_per_frame_left / (self.budget_bits / self.clip.frames)

    def base_q(self) -> float:
        """The q_index that spends the remaining budget evenly over the remaining frames."""
        return Q_PER_HALVING * (self.content - math.log2(self.bits_per_frame_left / self.pixels))


def clamp_q(q: float) -> int:
    return int(min(max(round(q), 0), 255))


def at_coding_index(per_frame: np.ndarray, coding_index: int) -> float:
    """A per-coded-frame value, the last frame's for frames past the end (a plan made on fewer frames)."""
    return float(per_frame[min(coding_index, len(per_frame) - 1)])


FEATURES = (
    "key", "inter", "altref", "overlay", "golden", "gop_position", "clip_position", "tpl_boost", "intra_error",
    "predictability", "pcnt_inter", "pcnt_motion", "pcnt_second_ref", "pcnt_neutral", "intra_skip_pct", "motion",
    "clip_predictability", "clip_intra_error", "clip_coded_error", "target_bpp", "content", "remaining_share", "base_q",
    "plan_q", "plan_overshoot",
)  # fmt: skip
"""What a policy sees when libvpx asks for a frame's quantiser (:meth:`PlannedRateControl.features`)."""


@dataclass(frozen=True)
class LibvpxPlan:
    """What libvpx's own two-pass VBR did with the clip: each coded frame's q_index and bits, in coding order."""

    q_indexes: np.ndarray
    bits: np.ndarray

    @classmethod
    def from_packets(cls, packets: list[bytes]) -> LibvpxPlan:
        frames = np.array(coded_frames(packets), dtype=np.float64).reshape(-1, 2)
        return cls(frames[:, 0], frames[:, 1])

    def q_at(self, coding_index: int) -> float:
        """libvpx's q for the coded frame ``coding_index``."""
        return at_coding_index(self.q_indexes, coding_index)


class PlannedRateControl:
    """The budget model, the first pass's temporal dependencies, and a frame's features; a subclass picks the offset.

    Every decision is ``q = base + offset(frame)``. Without a :class:`LibvpxPlan` the base is
    the budget model's, which keeps the clip on its budget, and the offset says how much more
    (negative) or less (positive) this frame deserves than an even share. With a plan the base
    is libvpx's own q for the frame, moved by the q steps that bring libvpx's total to the
    target and half of those that correct what has been overspent or underspent so far
    (:meth:`planned_q`). Each decision is kept in :attr:`trace` (features, base, offset),
    the record a policy is trained on.
    """

    wants_plan = False  # True: encode_vp9 runs libvpx's own second pass first and calls prepare() with its packets
    plan: LibvpxPlan | None = None
    shift = 0.0  # q steps added to every base (a retry's correction)

    def prepare(self, packets: list[bytes]) -> None:
        self.plan = LibvpxPlan.from_packets(packets)

    def start(self, clip: ClipConfig, first_pass: np.ndarray) -> None:
        self.clip = clip
        self.budget = BudgetModel(clip)
        stats = first_pass[: clip.frames]
        self.stats = {name: stats[:, FIRST_PASS_FIELDS.index(name)] for name in FIRST_PASS_FIELDS}
        intra = np.maximum(self.stats["intra_error"], 1e-6)
        inter = np.maximum(self.stats["coded_error"], 1e-6)
        self.log_intra = np.log2(intra)
        self.log_ratio = np.log2(np.minimum(inter / intra, 1.0))
        self.importance = propagate(np.clip(1 - inter / intra, 0, 1))
        self.tpl_boost = np.log2(self.importance) - float(np.mean(np.log2(self.importance)))
        self.trace: list[tuple[np.ndarray, float, float]] = []

    def offset(self, frame: FrameInfo, features: np.ndarray) -> float:
        raise NotImplementedError

    def base(self, frame: FrameInfo) -> float:
        return self.shift + (self.budget.base_q() if self.plan is None else self.planned_q(frame))

    def planned_q(self, frame: FrameInfo) -> float:
        """libvpx's q for this frame, rescaled to the target and corrected for what has been spent so far."""
        plan = self.plan
        q = plan.q_at(frame.coding_index)
        to_target = self.budget.budget_bits / max(plan.bits.sum(), 1)
        planned_so_far = plan.bits[: self.budget.coded].sum() * to_target
        drift = self.budget.spent_bits / planned_so_far if self.budget.coded and planned_so_far > 0 else 1.0
        return q - Q_PER_HALVING * (math.log2(to_target) - 0.5 * math.log2(max(drift, 1e-3)))

    def decide(self, frame: FrameInfo) -> int:
        features = self.features(frame)
        base = self.base(frame)
        offset = float(self.offset(frame, features))
        self.trace.append((features, base, offset))
        return clamp_q(base + offset)

    def observe(self, frame: FrameInfo, result: FrameResult) -> None:
        self.budget.observe(frame, result)

    def features(self, frame: FrameInfo) -> np.ndarray:
        """The frame's type, place and first-pass statistics, and where the budget stands, as FEATURES."""
        t = min(max(frame.show_index, 0), self.clip.frames - 1)
        kind = [float(frame.frame_type == name) for name in FRAME_TYPES]
        s = self.stats
        motion = math.log2(1 + abs(s["mvr_abs"][t]) + abs(s["mvc_abs"][t]))
        target_bpp = self.budget.budget_bits / self.clip.frames / self.budget.pixels
        place = [frame.gop_index / HORIZON, t / max(self.clip.frames - 1, 1), self.tpl_boost[t]]
        first_pass = [self.log_intra[t] - float(np.mean(self.log_intra)), self.log_ratio[t]]
        first_pass += [s[name][t] for name in ("pcnt_inter", "pcnt_motion", "pcnt_second_ref", "pcnt_neutral", "intra_skip_pct")]
        budget = [math.log2(target_bpp), self.budget.content, math.log2(self.budget.remaining_share), self.budget.base_q() / 100]
        complexity = [float(np.mean(self.log_intra)), float(np.mean(self.log_intra + self.log_ratio))]
        clip = [motion, float(np.mean(self.log_ratio)), *complexity, *budget]
        plan = [0.0, 0.0]
        if self.plan is not None:
            overshoot = math.log2(max(self.plan.bits.sum(), 1) / self.budget.budget_bits)
            plan = [self.plan.q_at(frame.coding_index) / 100, overshoot]
        return np.array(kind + place + first_pass + clip + plan, dtype=np.float64)


class TplRateControl(PlannedRateControl):
    """Frame-level temporal-dependency (TPL) allocation, with the dependencies measured as coding goes.

    A frame matters in proportion to how much of it later frames reuse: from the first pass,
    frame t passes on the share ``1 - inter error / intra error`` of the next frame, and its
    importance is 1 plus what it passes on, accumulated backwards through the clip
    (:func:`propagate`). Each frame's q_index is the
    budget's base minus ``strength * log2(importance)``, centred so the plan spends the budget.

    The importances come from the first pass, which predicts from *source* frames; the
    refinement that measures them on the reconstructed references as coding goes is not
    implemented yet (docs/video.md).
    """

    def __init__(self, strength: float = 40.0, altref_boost: float = 1.0) -> None:
        self.strength = strength
        self.altref_boost = altref_boost

    def offset(self, frame: FrameInfo, features: np.ndarray) -> float:
        boost = features[FEATURES.index("tpl_boost")] + (self.altref_boost if frame.frame_type == "altref" else 0.0)
        return -self.strength * boost


class TrajectoryRateControl(PlannedRateControl):
    """A fixed trajectory: the q_index of each coded frame, in coding order (what a search proposes).

    Its trace records each q as an offset from the base (the budget model's, or libvpx's plan when it has one),
    as a policy would have chosen it.
    """

    def __init__(self, q_indexes: np.ndarray) -> None:
        self.q_indexes = np.asarray(q_indexes, dtype=np.float64)

    def decide(self, frame: FrameInfo) -> int:
        q = clamp_q(at_coding_index(self.q_indexes, frame.coding_index))
        base = self.base(frame)
        self.trace.append((self.features(frame), base, q - base))
        return q


def propagate(share: np.ndarray, horizon: int = HORIZON) -> np.ndarray:
    """``importance[t] = 1 + sum over the next ``horizon`` frames j of share[t+1] * ... * share[j]``:
    the recursion ``1 + share[t + 1] * importance[t + 1]`` cut at a group of pictures' length."""
    n = len(share)
    importance = np.ones(n)
    for t in range(n):
        carried = 1.0
        for j in range(t + 1, min(t + 1 + horizon, n)):
            carried *= share[j]
            importance[t] += carried
    return importance


RETRY_ABOVE = 0.03
"""How far over its target (a share) a learned encode may end before it is coded again (the evaluation allows 0.05)."""

LEARNED_POLICY = "ratecontrol-vp9"
"""The shipped learned policy (``licodec/weights/ratecontrol-vp9.safetensors``; ``licodec train rate-control`` makes one)."""


@dataclass(frozen=True)
class PolicyNetwork:
    """A small MLP from FEATURES (standardised) to a frame's q offset: tanh hidden layers, a linear output."""

    mean: np.ndarray
    scale: np.ndarray
    hidden: tuple[tuple[np.ndarray, np.ndarray], ...]
    output: tuple[np.ndarray, np.ndarray]
    offset_scale: float  # q steps per output unit

    def __call__(self, features: np.ndarray) -> float:
        h = (features - self.mean) / self.scale
        for weight, bias in self.hidden:
            h = np.tanh(h @ weight.T + bias)
        weight, bias = self.output
        return float((h @ weight.T + bias)[0]) * self.offset_scale


def policy_path(name: str | None = None) -> Path:
    """The shipped policy's file, or the policy file ``name``."""
    return find_file(name or LEARNED_POLICY, ".safetensors", "rate-control policy", "train rate-control")


def load_policy(name: str | None = None) -> PolicyNetwork:
    """The shipped policy, or a policy file written by ``licodec train rate-control``."""
    path = policy_path(name)
    arrays, metadata = load_arrays(path, "rate-control policy")
    if metadata.get("features") != ",".join(FEATURES):
        raise LicodecError(f"{path}: a rate-control policy for other features than this licodec computes")
    hidden = tuple(
        (arrays[f"hidden.{i}.weight"].astype(np.float64), arrays[f"hidden.{i}.bias"].astype(np.float64))
        for i in range(int(metadata["hidden_layers"]))
    )
    output = (arrays["offset.weight"].astype(np.float64), arrays["offset.bias"].astype(np.float64))
    return PolicyNetwork(arrays["mean"].astype(np.float64), arrays["scale"].astype(np.float64), hidden, output, float(metadata["offset_scale"]))


class LearnedRateControl(PlannedRateControl):
    """Offsets from libvpx's own plan, from a network trained to imitate searched optimal trajectories
    (``licodec train rate-control``): libvpx codes the clip once more, first, to show its plan.

    An encode that ends more than :data:`RETRY_ABOVE` over its target is coded again with every
    q raised by the steps that would bring it back (the budget model's slope, and 2 more), at
    most ``retries`` times: inference-time improvement that trades encoding time for the target.
    """

    wants_plan = True

    def __init__(self, policy: str | PolicyNetwork | None = None, retries: int = 2) -> None:
        self.network = policy if isinstance(policy, PolicyNetwork) else load_policy(policy)
        self.retries = retries

    def retry(self, size_ratio: float) -> bool:
        """After an encode that ended at ``size_ratio`` times the target: shift every q and code again?"""
        if size_ratio <= 1 + RETRY_ABOVE or self.retries <= 0:
            return False
        self.retries -= 1
        self.shift += Q_PER_HALVING * math.log2(size_ratio) + 2
        return True

    def offset(self, frame: FrameInfo, features: np.ndarray) -> float:
        return self.network(features)


RATE_CONTROLS: dict[str, Callable[[], RateControl | None]] = {"libvpx": lambda: None, "tpl": TplRateControl, "learned": LearnedRateControl}
"""What ``--rate-control`` names: libvpx's own two-pass VBR (None), or a policy of licodec's."""
