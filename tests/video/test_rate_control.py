"""licodec's rate controls: the budget model, the features a policy sees, TPL, trajectories and the learned policy."""

import numpy as np
import pytest

from licodec.errors import LicodecError
from licodec.storage import save_arrays
from licodec.video.io import probe, read_frames
from licodec.video.libvpx import FIRST_PASS_FIELDS, ClipConfig, FrameInfo, FrameResult, encode_vp9
from licodec.video.rate_control import (
    FEATURES,
    Q_PER_HALVING,
    BudgetModel,
    LearnedRateControl,
    LibvpxPlan,
    PolicyNetwork,
    TplRateControl,
    TrajectoryRateControl,
    load_policy,
    propagate,
)
from tests.conftest import needs_libvpx

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


def first_pass(frames: int = CLIP.frames) -> np.ndarray:
    stats = np.ones((frames, len(FIRST_PASS_FIELDS)))
    stats[:, FIRST_PASS_FIELDS.index("intra_error")] = 100.0
    stats[:, FIRST_PASS_FIELDS.index("coded_error")] = 20.0
    return stats


def test_features_describe_the_frame_and_where_the_budget_stands():
    policy = TplRateControl()
    policy.start(CLIP, first_pass())
    features = policy.features(frame(3, "altref"))
    assert features.shape == (len(FEATURES),) and np.isfinite(features).all()
    assert features[FEATURES.index("altref")] == 1 and features[FEATURES.index("inter")] == 0
    assert features[FEATURES.index("predictability")] == np.log2(0.2)
    policy.observe(frame(0), FrameResult(int(4 * policy.budget.budget_bits / CLIP.frames), 1, 1, 100))
    assert policy.features(frame(1))[FEATURES.index("remaining_share")] < 0  # overspent: less than an even share left


def test_a_trajectory_gives_each_coded_frame_its_q_and_records_it_as_an_offset_from_the_base():
    policy = TrajectoryRateControl(np.array([80.0, 200.0]))
    policy.start(CLIP, first_pass())
    base = policy.budget.base_q()
    assert [policy.decide(frame(0, "key")), policy.decide(frame(1)), policy.decide(frame(2))] == [80, 200, 200]  # past its end: its last
    assert [offset for _, _, offset in policy.trace] == pytest.approx([80 - base, 200 - base, 200 - base])


def constant_policy(offset: float) -> PolicyNetwork:
    width = len(FEATURES)
    hidden = ((np.zeros((4, width)), np.zeros(4)),)
    return PolicyNetwork(np.zeros(width), np.ones(width), hidden, (np.zeros((1, 4)), np.array([offset])), offset_scale=20.0)


def test_the_learned_policy_runs_its_network_on_the_features():
    policy = LearnedRateControl(constant_policy(0.5))
    policy.start(CLIP, first_pass())
    assert policy.decide(frame(0)) == round(policy.trace[0][1] + 10)


def test_a_policy_file_for_other_features_is_refused(tmp_path):
    path = tmp_path / "old.safetensors"
    save_arrays(path, {"mean": np.zeros(3, np.float32)}, {"features": "a,b,c", "hidden_layers": "0", "offset_scale": "20"})
    with pytest.raises(LicodecError, match="other features"):
        load_policy(str(path))
    with pytest.raises(LicodecError, match="no such rate-control policy file"):
        load_policy(str(tmp_path / "missing.safetensors"))


@needs_libvpx
def test_the_shipped_learned_policy_reaches_its_target_through_libvpx(clip):
    info = probe(clip)
    encoding = encode_vp9(lambda: read_frames(clip, info), 96, 64, (12, 1), 200, LearnedRateControl(), cpu_used=4)
    assert 0.7 < 8 * encoding.bytes / 1000 / 2 / 200 < 1.1


def test_with_libvpx_s_plan_the_base_is_its_q_moved_to_the_target_and_corrected_for_what_was_spent():
    policy = TplRateControl()
    policy.start(CLIP, first_pass())
    budget_bits = policy.budget.budget_bits
    policy.plan = LibvpxPlan(np.array([100.0, 150.0]), np.array([budget_bits, budget_bits]))  # libvpx spent twice the budget
    assert policy.base(frame(0, "key")) == pytest.approx(100 + Q_PER_HALVING)  # half the bits: one halving of q up
    policy.observe(frame(0, "key"), FrameResult(int(budget_bits), 1, 1, 145))  # twice what the rescaled plan allowed
    assert policy.base(frame(1)) == pytest.approx(150 + Q_PER_HALVING * 1.5, abs=0.01)  # half of that halving more


def test_a_learned_encode_over_its_target_is_coded_again_with_every_q_raised_at_most_retries_times():
    policy = LearnedRateControl(constant_policy(0.0), retries=2)
    assert not policy.retry(1.02)  # within RETRY_ABOVE
    assert policy.retry(2.0) and policy.shift == pytest.approx(Q_PER_HALVING + 2)
    assert policy.retry(2.0) and not policy.retry(2.0)  # retries spent
