"""licodec's rate controls: the budget model alone, and the TPL allocation through libvpx."""

import numpy as np

from licodec.video.io import probe, read_frames
from licodec.video.libvpx import FIRST_PASS_FIELDS, ClipConfig, FrameInfo, FrameResult, encode_vp9
from licodec.video.rate_control import Q_PER_HALVING, BudgetModel, TplRateControl, propagate
from tests.video.conftest import needs_libvpx

CLIP = ClipConfig(width=176, height=144, frames=30, target_kbps=100, fps=30.0)  # 0.13 bits per pixel


def frame(index: int, kind: str = "inter") -> FrameInfo:
    return FrameInfo(kind, index, index, index)


def test_the_base_quantiser_rises_when_frames_cost_more_than_planned_and_falls_when_less():
    budget = BudgetModel(CLIP)
    start = budget.base_q()
    per_frame = budget.budget_bits / CLIP.frames
    budget.observe(frame(0), FrameResult(int(4 * per_frame), 1, 1, round(start)))
    assert budget.base_q() > start and budget.remaining_share < 1
    cheap = BudgetModel(CLIP)
    cheap.observe(frame(0), FrameResult(int(per_frame / 4), 1, 1, round(start)))
    assert cheap.base_q() < start and cheap.remaining_share > 1


def test_the_budget_model_halves_the_bits_every_q_per_halving_steps():
    budget = BudgetModel(CLIP)
    for i in range(20):  # frames that spent exactly their share at q 100
        budget.observe(frame(i), FrameResult(int(budget.budget_bits / CLIP.frames), 1, 1, 100))
    assert abs(budget.base_q() - 100) < 5  # on plan: about the same q (the prior pulls a little)
    half = BudgetModel(ClipConfig(176, 144, 30, 50, 30.0))
    for i in range(20):
        half.observe(frame(i), FrameResult(int(budget.budget_bits / CLIP.frames), 1, 1, 100))
    assert half.base_q() - budget.base_q() > Q_PER_HALVING  # half the budget, and already overspent


def test_importance_accumulates_what_later_frames_reuse_within_the_horizon():
    assert propagate(np.zeros(4)).tolist() == [1, 1, 1, 1]
    assert propagate(np.full(4, 0.5)).tolist() == [1.875, 1.75, 1.5, 1.0]
    assert propagate(np.ones(40), horizon=16)[0] == 17


def test_tpl_gives_frames_that_others_reuse_a_lower_quantiser():
    stats = np.zeros((CLIP.frames, len(FIRST_PASS_FIELDS)))
    stats[:, FIRST_PASS_FIELDS.index("intra_error")] = 100.0
    stats[:, FIRST_PASS_FIELDS.index("coded_error")] = [100] + [10] * 4 + [100] * 25  # a static run, then changes
    policy = TplRateControl()
    policy.start(CLIP, stats)
    q = [policy.decide(frame(t)) for t in range(CLIP.frames)]
    assert q[0] < q[3] < q[4] == q[29]  # frame 0 feeds the four of the static run, frame 3 one, frame 4 none
    assert min(q) > 0 and max(q) < 255
    assert policy.decide(frame(5, "altref")) < q[5]


@needs_libvpx
def test_tpl_reaches_its_target_through_libvpx(clip):
    info = probe(clip)
    encoding = encode_vp9(lambda: read_frames(clip, info), 96, 64, (12, 1), 200, TplRateControl(), cpu_used=4)
    kbps = 8 * encoding.bytes / 1000 / 2  # 24 frames at 12 fps
    assert 0.7 < kbps / 200 < 1.1  # 24 frames leave the budget model little to learn from
