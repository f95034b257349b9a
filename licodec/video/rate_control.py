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

import numpy as np

from licodec.video.libvpx import FIRST_PASS_FIELDS, ClipConfig, FrameInfo, FrameResult, RateControl

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


class TplRateControl:
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

    def start(self, clip: ClipConfig, first_pass: np.ndarray) -> None:
        self.budget = BudgetModel(clip)
        intra = first_pass[: clip.frames, FIRST_PASS_FIELDS.index("intra_error")]
        inter = first_pass[: clip.frames, FIRST_PASS_FIELDS.index("coded_error")]
        self.intra = np.maximum(intra, 1e-6)
        self.share = np.clip(1 - inter / self.intra, 0, 1)  # share[t]: how much of frame t its predecessor gives it
        self.importance = propagate(self.share)
        self.offset = float(np.mean(np.log2(self.importance)))

    def decide(self, frame: FrameInfo) -> int:
        t = min(frame.show_index, len(self.importance) - 1)
        boost = math.log2(self.importance[t]) - self.offset
        if frame.frame_type == "altref":
            boost += self.altref_boost
        return clamp_q(self.budget.base_q() - self.strength * boost)

    def observe(self, frame: FrameInfo, result: FrameResult) -> None:
        self.budget.observe(frame, result)


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


RATE_CONTROLS: dict[str, Callable[[], RateControl | None]] = {"libvpx": lambda: None, "tpl": TplRateControl}
"""What ``--rate-control`` names: libvpx's own two-pass VBR (None), or a policy of licodec's."""
