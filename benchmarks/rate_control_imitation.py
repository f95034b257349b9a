"""How much of the searched trajectories a learned VP9 rate control keeps, on its own training clips.

    .venv/bin/python benchmarks/rate_control_imitation.py RUN_DIR CLIPS_ROOT [--blocks 4] [--episodes 150]

RUN_DIR holds the ``trajectories.jsonl`` of ``licodec train rate-control``; CLIPS_ROOT the
folders its clips were in (each trajectory names ``folder/file``). For every clip and target
it codes once (no retries) with libvpx's own quantisers, with a policy fitted as the command
fits it, and compares those with the searched trajectory: mean PSNR of the shown frames,
size against the target, and the search's score (PSNR less the overshoot penalty). Then it
fine-tunes the policy by self-competition in ``--blocks`` blocks of ``--episodes`` episodes
and prints the score after each. Encodes are deterministic, so sizes and PSNR do not depend
on the CPU.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import numpy as np

from licodec.train.rate_control import Clip, Encoder, Episode, fit_policy, self_competition
from licodec.video.rate_control import LearnedRateControl, TrajectoryRateControl


def mean_score(model, encoders: list[Encoder]) -> float:
    return float(np.mean([encoder.episode(LearnedRateControl(model.network(), retries=0)).score for encoder in encoders]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("clips_root", type=Path)
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--speed", type=int, default=5)
    parser.add_argument("--blocks", type=int, default=4)
    parser.add_argument("--episodes", type=int, default=150)
    args = parser.parse_args()
    lines = (args.run_dir / "trajectories.jsonl").read_text().splitlines()
    searched = [Episode.from_json(json.loads(line)) for line in lines if line.strip()]
    clips: dict[str, Clip] = {}
    encoders = []
    for episode in searched:
        if episode.clip not in clips:
            clips[episode.clip] = Clip.load(args.clips_root / episode.clip, args.frames)
        encoders.append(Encoder(clips[episode.clip], episode.target_kbps, args.speed))
    model = fit_policy(searched)
    libvpx = [encoder.episode(TrajectoryRateControl(encoder.plan.q_indexes)) for encoder in encoders]
    learned = [encoder.episode(LearnedRateControl(model.network(), retries=0)) for encoder in encoders]
    print(f"{len(searched)} clip-targets of {len(clips)} clips, {platform.processor() or platform.machine()}")
    print("| coded with | PSNR | size / target | score |\n|---|---|---|---|")
    for name, episodes in (("libvpx's own q", libvpx), ("fitted policy", learned), ("searched trajectories", searched)):
        psnr = np.mean([e.psnr for e in episodes])
        ratio = np.mean([e.kbps / e.target_kbps for e in episodes])
        print(f"| {name} | {psnr:.2f} dB | {ratio:.3f} | {np.mean([e.score for e in episodes]):.2f} dB |")
    for block in range(args.blocks):
        self_competition(model, encoders, args.episodes, seed=block)
        print(f"after {(block + 1) * args.episodes} self-competition episodes: score {mean_score(model, encoders):.2f} dB")


if __name__ == "__main__":
    main()
