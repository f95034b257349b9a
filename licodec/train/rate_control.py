"""Learning VP9 rate control: optimal trajectories by evolution strategy, a policy that imitates them, self-competition.

1. **Search.** For a training clip and a target, CMA-ES looks for the q_index of each coded
   frame that gives the highest mean PSNR of the shown frames without going over the
   target (:func:`search_trajectory`), starting from libvpx's own choices (read from its
   packets): the search improves on the baseline it is to beat. Each q is recorded as the
   policy would have chosen it, an offset from the budget model's base
   (:class:`licodec.video.rate_control.PlannedRateControl`).
2. **Imitation.** A small network learns each searched offset from what the encoder knows
   when it asks (FEATURES), with two auxiliary heads that predict the frame's bits (against
   an even share) and its PSNR (against the clip's), and noise on the inputs as augmentation
   (:func:`fit_policy`).
3. **Self-competition** (optional). The policy explores with Gaussian offsets and is
   rewarded +1 when an episode beats its own past score on that clip and target, −1 when it
   does not, the MuZero rate-control paper's reward; REINFORCE moves it
   (:func:`self_competition`).
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import torch
from torch import nn

from licodec.errors import LicodecError
from licodec.storage import save_arrays
from licodec.video.io import VideoInfo, probe, read_frames
from licodec.video.libvpx import Encoding, FrameInfo, encode_vp9, first_pass_stats
from licodec.video.rate_control import FEATURES, LearnedRateControl, LibvpxPlan, PlannedRateControl, PolicyNetwork, TrajectoryRateControl

OVERSHOOT_PENALTY = 30.0
"""dB lost per unit of relative overshoot in a search's score: a trajectory over its target never wins."""

OFFSET_SCALE = 20.0  # q steps per network output unit
TARGET_RANGE = (0.015, 0.2)  # training targets, bits per pixel per frame (log-uniform)


@dataclass
class Clip:
    """A training clip held in memory as packed I420 frames, with its first pass computed once per target."""

    name: str  # its folder's name and its file name
    info: VideoInfo
    frames: list[bytes]

    @classmethod
    def load(cls, path: Path, frames: int | None = None) -> Clip:
        info = probe(path)
        return cls(f"{path.parent.name}/{path.name}", info, list(read_frames(path, info, frames)))

    @property
    def seconds(self) -> float:
        return len(self.frames) / float(self.info.fps)

    def kbps(self, bpp: float) -> int:
        return max(1, round(bpp * self.info.width * self.info.height * float(self.info.fps) / 1000))


@dataclass
class Decision:
    """One coded frame of an episode: what the policy saw and chose, and what it cost."""

    features: list[float]
    offset: float  # from the budget base
    q_index: int
    frame_type: str
    bits: int
    psnr: float


@dataclass
class Episode:
    clip: str
    target_kbps: int
    kbps: float
    psnr: float  # mean over shown frames
    decisions: list[Decision]
    feature_names: str = ",".join(FEATURES)  # what each decision's features are (a licodec with other FEATURES replays it)

    @property
    def score(self) -> float:
        """Mean PSNR, less :data:`OVERSHOOT_PENALTY` dB per unit of overshoot."""
        return self.psnr - OVERSHOOT_PENALTY * max(0.0, self.kbps / self.target_kbps - 1)

    @classmethod
    def from_json(cls, row: dict) -> Episode:
        return cls(**{**row, "decisions": [Decision(**d) for d in row["decisions"]]})


class Encoder:
    """Encodes one clip at one target again and again (the first pass is shared)."""

    def __init__(self, clip: Clip, target_kbps: int, speed: int = 5, threads: int = 1) -> None:
        self.clip, self.target_kbps, self.speed, self.threads = clip, target_kbps, speed, threads
        info = clip.info
        self.fps = (info.fps.numerator, info.fps.denominator)
        self.first_pass = first_pass_stats(self._frames, info.width, info.height, self.fps, target_kbps, threads, speed)

    def _frames(self) -> list[bytes]:
        return self.clip.frames

    def _encode(self, policy: PlannedRateControl | None) -> Encoding:
        info = self.clip.info
        return encode_vp9(
            self._frames, info.width, info.height, self.fps, self.target_kbps, policy, self.threads, self.speed, first_pass=self.first_pass
        )

    @cached_property
    def plan(self) -> LibvpxPlan:
        """What libvpx's own two-pass VBR does with the clip (each coded frame's q and bits, read from its packets)."""
        return LibvpxPlan.from_packets([packet.data for packet in self._encode(None).packets])

    def episode(self, policy: PlannedRateControl) -> Episode:
        """Code the clip with ``policy``, shown libvpx's plan (a search's trajectories are then recorded against it)."""
        policy.plan = self.plan
        encoding = self._encode(policy)
        decisions = [
            Decision([float(v) for v in features], offset, result.q_index, frame.frame_type, result.bits, result.psnr)
            for (features, _, offset), (frame, result) in zip(policy.trace, encoding.frames)
        ]
        shown = [d.psnr for d in decisions if d.frame_type != "altref"]
        kbps = 8 * encoding.bytes / 1000 / self.clip.seconds
        return Episode(self.clip.name, self.target_kbps, kbps, float(np.mean(shown)), decisions)


def search_trajectory(encoder: Encoder, evaluations: int, seed: int, sigma: float = 6.0) -> Episode:
    """The best trajectory CMA-ES finds in ``evaluations`` encodes, starting from libvpx's own (:attr:`Encoder.plan`)."""
    try:
        import cma
    except ImportError:
        raise LicodecError("searching trajectories needs the cma package: pip install 'licodec[video]'") from None
    start = encoder.plan.q_indexes
    best = encoder.episode(TrajectoryRateControl(start))
    options = {"popsize": 12, "maxfevals": evaluations, "seed": seed + 1, "verbose": -9, "bounds": [0, 255]}
    search = cma.CMAEvolutionStrategy(start.astype(np.float64), sigma, options)
    while not search.stop():
        candidates = search.ask()
        episodes = [encoder.episode(TrajectoryRateControl(np.round(x))) for x in candidates]
        search.tell(candidates, [-e.score for e in episodes])
        best = max([best, *episodes], key=lambda e: e.score)
    return best


def training_targets(clip: Clip, count: int, seed: int) -> list[int]:
    """``count`` targets for the clip, log-uniform over :data:`TARGET_RANGE`, the same for the same seed and file name."""
    rng = np.random.default_rng([seed, *Path(clip.name).name.encode()])
    return [clip.kbps(math.exp(rng.uniform(*np.log(TARGET_RANGE)))) for _ in range(count)]


def search_all(
    clips: list[Path], run_dir: Path, targets: int, evaluations: int, frames: int | None, speed: int, seed: int, log: Callable[[str], None]
) -> list[Episode]:
    """Searched trajectories for every clip and target, kept in ``run_dir/trajectories.jsonl`` (a rerun resumes)."""
    path = run_dir / "trajectories.jsonl"
    done = {(e.clip, e.target_kbps): e for e in map(Episode.from_json, _rows(path))}
    for clip_path in clips:
        clip = Clip.load(clip_path, frames)
        for target in training_targets(clip, targets, seed):
            kept = done.get((clip.name, target))
            if kept is not None and kept.feature_names == ",".join(FEATURES):
                continue
            encoder = Encoder(clip, target, speed)
            if kept is not None:  # searched by a licodec that saw other features: the same trajectory, seen anew
                done[clip.name, target] = encoder.episode(TrajectoryRateControl(np.array([d.q_index for d in kept.decisions])))
                continue
            found = search_trajectory(encoder, evaluations, seed)
            done[clip.name, target] = found
            with path.open("a") as handle:
                handle.write(json.dumps(asdict(found)) + "\n")
            log(f"{clip.name} at {target} kbps: {found.psnr:.2f} dB at {found.kbps:.1f} kbps")
    _rewrite(path, done.values())
    return list(done.values())


def _rewrite(path: Path, episodes: Iterable[Episode]) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text("".join(json.dumps(asdict(e)) + "\n" for e in episodes))
    temporary.replace(path)


def encoders(clips: list[Path], targets: int, frames: int | None, speed: int, seed: int) -> list[Encoder]:
    """An encoder for every clip at each of its training targets (as :func:`search_all` chose them)."""
    loaded = [Clip.load(path, frames) for path in clips]
    return [Encoder(clip, target, speed) for clip in loaded for target in training_targets(clip, targets, seed)]


def _rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class PolicyModel(nn.Module):
    """The policy's network with its auxiliary heads (frame bits against an even share, frame PSNR against the clip's)."""

    def __init__(self, mean: np.ndarray, scale: np.ndarray, hidden: tuple[int, ...] = (16,)) -> None:
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32))
        widths = (len(FEATURES), *hidden)
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(widths))
        self.offset = nn.Linear(widths[-1], 1)
        self.aux = nn.Linear(widths[-1], 2)

    def forward(self, features: torch.Tensor, noise: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
        h = (features - self.mean) / self.scale
        if noise:
            h = h + noise * torch.randn_like(h)
        for layer in self.hidden:
            h = torch.tanh(layer(h))
        return self.offset(h).squeeze(-1), self.aux(h)

    def network(self) -> PolicyNetwork:
        """The same function in numpy, as the encoder runs it."""
        arrays = {k: v.detach().double().numpy() for k, v in self.state_dict().items()}
        hidden = tuple((arrays[f"hidden.{i}.weight"], arrays[f"hidden.{i}.bias"]) for i in range(len(self.hidden)))
        return PolicyNetwork(arrays["mean"], arrays["scale"], hidden, (arrays["offset.weight"], arrays["offset.bias"]), OFFSET_SCALE)


def imitation_data(episodes: list[Episode]) -> tuple[torch.Tensor, ...]:
    """Features, target offsets (in network units), auxiliary targets and each target's clamp (-1: q 0, +1: q 255, 0: none)
    for every decision of the episodes."""
    features, offsets, aux, clamped = [], [], [], []
    for episode in episodes:
        shown = [d for d in episode.decisions if d.frame_type != "altref"]
        even_bits = sum(d.bits for d in episode.decisions) / max(len(shown), 1)
        for d in episode.decisions:
            features.append(d.features)
            offsets.append(d.offset / OFFSET_SCALE)
            aux.append([math.log2(max(d.bits, 1) / even_bits), (d.psnr - episode.psnr) / 4])
            clamped.append(1.0 if d.q_index >= 255 else -1.0 if d.q_index <= 0 else 0.0)
    as_tensor = lambda rows: torch.tensor(rows, dtype=torch.float32)
    return as_tensor(features), as_tensor(offsets), as_tensor(aux), as_tensor(clamped)


def imitation_loss(predicted: torch.Tensor, offsets: torch.Tensor, clamped: torch.Tensor) -> torch.Tensor:
    """Squared error, except where the searched q sat at a bound of VP9's range: there any offset beyond it gave
    the same q, so only falling short of it counts (a censored regression)."""
    error = predicted - offsets
    error = torch.where(clamped > 0, error.clamp(max=0), torch.where(clamped < 0, error.clamp(min=0), error))
    return (error**2).mean()


def fit_policy(
    episodes: list[Episode], steps: int = 300, hidden: tuple[int, ...] = (16,), aux_weight: float = 0.5, noise: float = 0.05, seed: int = 0
) -> PolicyModel:
    """A policy that imitates the episodes' offsets (Adam, full batch), with the auxiliary losses and input noise."""
    if not episodes:
        raise LicodecError("no trajectories to learn from")
    torch.manual_seed(seed)
    features, offsets, aux, clamped = imitation_data(episodes)
    scale = features.std(dim=0).clamp(min=1e-3)
    model = PolicyModel(features.mean(dim=0).numpy(), scale.numpy(), hidden)
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    for _ in range(steps):
        predicted, predicted_aux = model(features, noise)
        loss = imitation_loss(predicted, offsets, clamped) + aux_weight * nn.functional.mse_loss(predicted_aux, aux)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return model


def imitation_error(model: PolicyModel, episodes: list[Episode]) -> float:
    """Root-mean-square error, in q steps, of the model's offsets against the episodes' (as :func:`imitation_loss` counts it)."""
    features, offsets, _, clamped = imitation_data(episodes)
    with torch.no_grad():
        predicted, _ = model(features)
    return float(imitation_loss(predicted, offsets, clamped).sqrt()) * OFFSET_SCALE


def held_out_error(episodes: list[Episode], fraction: float = 0.25, seed: int = 0, **fit: object) -> tuple[float, float]:
    """Imitation error (q steps) on the training clips and on a held-out ``fraction`` of the clips, for a policy
    fitted (with the ``fit`` arguments of :func:`fit_policy`) without those: how well imitation generalises."""
    clips = sorted({e.clip for e in episodes})
    held = set(np.random.default_rng(seed).permutation(clips)[: max(1, round(fraction * len(clips)))])
    kept = [e for e in episodes if e.clip not in held]
    if not kept:
        raise LicodecError("too few clips to hold some out")
    model = fit_policy(kept, seed=seed, **fit)
    return imitation_error(model, kept), imitation_error(model, [e for e in episodes if e.clip in held])


class ExploringRateControl(LearnedRateControl):
    """The policy's offsets plus Gaussian exploration (``sigma`` q steps), for self-competition."""

    def __init__(self, network: PolicyNetwork, sigma: float, rng: np.random.Generator) -> None:
        super().__init__(network, retries=0)  # an episode is one encode
        self.sigma, self.rng = sigma, rng

    def offset(self, frame: FrameInfo, features: np.ndarray) -> float:
        return super().offset(frame, features) + self.sigma * float(self.rng.standard_normal())


def self_competition(model: PolicyModel, encoders: list[Encoder], episodes: int, sigma: float = 4.0, lr: float = 1e-3, seed: int = 0) -> float:
    """REINFORCE with the self-competition reward: +1 when an episode beats the policy's own past score on that
    clip and target (an average that follows its recent scores), −1 otherwise. Returns the mean reward."""
    rng = np.random.default_rng(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    past = {i: encoder.episode(LearnedRateControl(model.network(), retries=0)).score for i, encoder in enumerate(encoders)}
    rewards = []
    for _ in range(episodes):
        i = int(rng.integers(len(encoders)))
        played = encoders[i].episode(ExploringRateControl(model.network(), sigma, rng))
        reward = 1.0 if played.score > past[i] else -1.0
        past[i] = 0.8 * past[i] + 0.2 * played.score
        features = torch.tensor([d.features for d in played.decisions], dtype=torch.float32)
        taken = torch.tensor([d.offset for d in played.decisions], dtype=torch.float32) / OFFSET_SCALE
        mean, _ = model(features)
        log_likelihood = -((taken - mean) ** 2).sum() / (2 * (sigma / OFFSET_SCALE) ** 2)
        loss = -reward * log_likelihood / len(played.decisions)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        rewards.append(reward)
    return float(np.mean(rewards)) if rewards else 0.0


def export_policy(model: PolicyModel, path: Path, description: str) -> str:
    """The policy's network (not its auxiliary heads) as a small safetensors file; returns its hash."""
    network = model.network()
    arrays = {"mean": network.mean, "scale": network.scale, "offset.weight": network.output[0], "offset.bias": network.output[1]}
    for i, (weight, bias) in enumerate(network.hidden):
        arrays[f"hidden.{i}.weight"], arrays[f"hidden.{i}.bias"] = weight, bias
    arrays = {k: v.astype(np.float32) for k, v in arrays.items()}
    metadata = {"features": ",".join(FEATURES), "hidden_layers": str(len(network.hidden)), "offset_scale": str(OFFSET_SCALE)}
    return save_arrays(path, arrays, {**metadata, "description": description})
