"""Learning a VP9 rate control: the search, the imitation, self-competition and the command."""

import json

import numpy as np
import pytest
import torch

from licodec.cli import main
from licodec.train.rate_control import (
    Clip,
    Decision,
    Encoder,
    Episode,
    export_policy,
    fit_policy,
    held_out_error,
    imitation_loss,
    search_all,
    search_trajectory,
    self_competition,
)
from licodec.video.libvpx import FRAME_TYPES
from licodec.video.rate_control import FEATURES, LearnedRateControl, load_policy
from tests.conftest import needs_libvpx


def episode(seed: int) -> Episode:
    """Frames whose searched offset is -20 for alt-refs and +5 otherwise."""
    rng = np.random.default_rng(seed)
    decisions = []
    for i in range(20):
        kind = "altref" if i % 8 == 1 else "inter"
        features = rng.normal(size=len(FEATURES))
        features[: len(FRAME_TYPES)] = [float(kind == name) for name in FRAME_TYPES]
        offset = -20.0 if kind == "altref" else 5.0
        decisions.append(Decision(features.tolist(), offset, 100 + round(offset), kind, 1000 + i, 30.0 + i % 3))
    return Episode("clip", 100, 98.0, 31.0, decisions)


def test_the_policy_learns_the_searched_offsets_and_exports_what_it_learned(tmp_path):
    model = fit_policy([episode(i) for i in range(6)], steps=300)
    network = model.network()
    for d in episode(9).decisions:  # unseen frames of the same kinds
        assert abs(network(np.array(d.features)) - d.offset) < 4
    path = tmp_path / "policy.safetensors"
    export_policy(model, path, "test")
    loaded = load_policy(str(path))
    features = np.array(episode(3).decisions[1].features)
    assert abs(loaded(features) - network(features)) < 1e-3


def test_an_episode_over_its_target_scores_below_one_under_it():
    under, over = episode(0), episode(0)
    over.kbps = 110.0
    assert over.score < under.score - 2


@needs_libvpx
def test_the_search_finds_a_trajectory_no_worse_than_even_offsets_and_self_competition_moves_the_policy(clip):
    encoder = Encoder(Clip.load(clip), 150, speed=8)
    even = encoder.episode(LearnedRateControl(fit_policy([episode(0)], steps=1).network()))
    found = search_trajectory(encoder, evaluations=12, seed=0)
    assert len(found.decisions) == len(even.decisions) and found.kbps > 0
    model = fit_policy([found], steps=50)
    before = [p.detach().clone() for p in model.parameters()]
    reward = self_competition(model, [encoder], episodes=2)
    assert -1 <= reward <= 1
    assert any((a != b).any() for a, b in zip(before, model.parameters()))


@needs_libvpx
def test_train_rate_control_writes_a_policy_that_video_encode_uses(clip, tmp_path, capsys):
    policy = tmp_path / "policy.safetensors"
    args = ["train", "rate-control", str(clip), "-o", str(policy), "--run-dir", str(tmp_path / "run"), "--targets", "1"]
    assert main([*args, "--evaluations", "12", "--steps", "20", "--speed", "8", "--frames", "12"]) == 0
    assert policy.exists() and (tmp_path / "run" / "trajectories.jsonl").exists()
    assert main([*args, "--steps", "20"]) == 1  # exists: refused without --force
    assert "exists" in capsys.readouterr().err
    out = tmp_path / "learned.ivf"
    command = ["video", "encode", str(clip), "-o", str(out), "--target-kbps", "150", "--rate-control", "learned", "--policy", str(policy)]
    assert main([*command, "--no-progress"]) == 0 and out.stat().st_size > 0


def test_train_rate_control_refuses_a_missing_clip(tmp_path, capsys):
    assert main(["train", "rate-control", str(tmp_path / "none.mkv"), "-o", str(tmp_path / "p.safetensors")]) == 1
    assert "no such clip" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["0", "x"])
def test_train_rate_control_refuses_bad_counts(value, tmp_path):
    with pytest.raises(SystemExit):
        main(["train", "rate-control", str(tmp_path), "-o", str(tmp_path / "p.safetensors"), "--evaluations", value])


def test_held_out_clips_measure_how_imitation_generalises():
    episodes = [episode(i) for i in range(4)]
    for i, e in enumerate(episodes):
        e.clip = f"clip-{i}"
    seen, unseen = held_out_error(episodes, steps=200)
    assert seen < 4 and unseen < 8  # the rule (alt-refs -20, others +5) holds on every clip


@needs_libvpx
def test_trajectories_searched_with_other_features_are_replayed_not_searched_again(clip, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    first = search_all([clip], run, targets=1, evaluations=12, frames=12, speed=8, seed=0, log=lambda line: None)[0]
    row = json.loads((run / "trajectories.jsonl").read_text())
    row["feature_names"], row["decisions"][0]["features"] = "older,features", [0.0]
    (run / "trajectories.jsonl").write_text(json.dumps(row) + "\n")
    logged = []
    again = search_all([clip], run, targets=1, evaluations=12, frames=12, speed=8, seed=0, log=logged.append)[0]
    assert not logged  # no new search
    assert [d.q_index for d in again.decisions] == [d.q_index for d in first.decisions]
    assert again.decisions[0].features == first.decisions[0].features and again.kbps == first.kbps


def test_a_searched_q_at_a_bound_of_the_range_only_counts_when_the_policy_falls_short_of_it():
    offsets, clamped = torch.tensor([1.0, 1.0, 1.0]), torch.tensor([1.0, -1.0, 0.0])  # q 255, q 0, free
    assert imitation_loss(torch.tensor([2.0, 0.0, 1.0]), offsets, clamped) == 0  # beyond the bounds: the same q
    assert imitation_loss(torch.tensor([0.0, 1.0, 1.0]), offsets, clamped) == pytest.approx(1 / 3)
    assert imitation_loss(torch.tensor([1.0, 2.0, 1.0]), offsets, clamped) == pytest.approx(1 / 3)
