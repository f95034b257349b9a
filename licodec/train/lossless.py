"""Training the multi-scale progressive lossless model (:mod:`licodec.lossless`) on lossless photos.

Each sample is a crop of a training image at a random scale of its pyramid (the image
itself, or its even rows and columns), seen at a random step of a random profile: the
entries known before that step are the input, and the loss is the bits of the step's
entries as coding spends them. JPEG-sourced images are left out: their block artefacts
are not what a lossless coder meets. Batches follow from (seed, step), so a run resumes
exactly from its checkpoint.
"""

from __future__ import annotations

import json
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from licodec.errors import LicodecError
from licodec.image_folders import find_images
from licodec.lossless.model import LosslessConfig, MultiScaleProgressive, compile_coder
from licodec.lossless.order import ENTRIES, PROFILES, known_before, steps, to_grid, to_ycocg
from licodec.lossless.weights import save_lossless
from licodec.train.data import TrainingImages, load_images
from licodec.train.loop import learning_rate_at, training_device, write_checkpoint

LOSSY_SUFFIXES = {".jpg", ".jpeg"}


@dataclass
class LosslessTraining:
    data: list[str]
    run_dir: str
    steps: int = 20_000
    batch_size: int = 16
    crop: int = 64  # of the scale trained on, a multiple of 2
    learning_rate: float = 1e-3
    lr_drop_at: int | None = None
    seed: int = 0
    threads: int = 2
    checkpoint_minutes: float = 10.0
    log_every: int = 50
    device: str = "cpu"  # or "cuda": larger batches fit
    config: LosslessConfig = field(default_factory=LosslessConfig)


def lossless_images(folders: list[str], min_side: int) -> TrainingImages:
    paths = [p for p in find_images([Path(f) for f in folders]) if p.suffix.lower() not in LOSSY_SUFFIXES]
    data = load_images(paths, min_side)
    if not len(data):
        raise LicodecError(
            f"no losslessly stored training images (PNG, WebP, ...) with both sides at least {min_side} pixels in {', '.join(folders)}"
        )
    return data


def sample_grids(data: TrainingImages, seed: int, step: int, batch_size: int, crop: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(grids (N, ENTRIES, crop/2, crop/2) pixel values, known (N, ENTRIES, 1, 1), targets (N, ENTRIES, 1, 1))."""
    rng = np.random.default_rng([seed, step])
    grids, known, targets = [], [], []
    schedules = [(known_before(p, 3), steps(p, 3)) for p in PROFILES]
    for _ in range(batch_size):
        image = data.images[int(rng.integers(len(data)))].numpy()
        level = int(rng.integers(2)) if min(image.shape[1:]) >= 2 * crop else 0
        scale = image[:, :: 1 << level, :: 1 << level]
        top, left = (int(rng.integers(side - crop + 1)) for side in scale.shape[1:])
        patch = scale[:, top : top + crop, left : left + crop]
        if rng.random() < 0.5:
            patch = patch[:, :, ::-1]
        grids.append(to_grid(to_ycocg(patch)))
        before, entries = schedules[int(rng.integers(len(schedules)))]
        i = int(rng.integers(len(entries)))
        target = np.zeros(ENTRIES, dtype=bool)
        target[entries[i]] = True
        known.append(before[i])
        targets.append(target)
    return torch.from_numpy(np.stack(grids)).float(), _as_mask(known), _as_mask(targets)


def _as_mask(masks: list[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack(masks))[:, :, None, None]


class LosslessTrainer:
    def __init__(self, settings: LosslessTraining) -> None:
        if settings.crop % 2:
            raise LicodecError(f"--crop must be even, not {settings.crop}")
        self.settings = settings
        self.device = training_device(settings.device)
        self.run_dir = Path(settings.run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(settings.seed)
        self.model = MultiScaleProgressive(settings.config).to(self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=settings.learning_rate)
        self.step, self.cpu_seconds = 0, 0.0
        self._stop = False

    @property
    def checkpoint_path(self) -> Path:
        return self.run_dir / "checkpoint.pt"

    def save_checkpoint(self) -> None:
        state = {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(), "step": self.step, "cpu_seconds": self.cpu_seconds}
        state["settings"] = {**asdict(self.settings), "config": json.loads(self.settings.config.to_json())}
        write_checkpoint(state, self.checkpoint_path)

    def resume(self) -> None:
        state = torch.load(self.checkpoint_path, weights_only=False, map_location=self.device)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.step, self.cpu_seconds = state["step"], state["cpu_seconds"]

    def train_step(self, data: TrainingImages) -> float:
        s = self.settings
        grids, known, targets = (t.to(self.device) for t in sample_grids(data, s.seed, self.step, s.batch_size, s.crop))
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate_at(self.step, s.learning_rate, s.lr_drop_at)
        self.optimizer.zero_grad(set_to_none=True)
        bits = self.model.bits(grids, known, targets)
        bits.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        return float(bits.detach())

    def run(self, resume: bool) -> None:
        s = self.settings
        torch.set_num_threads(s.threads)
        data = lossless_images(s.data, 2 * s.crop)
        if resume and self.checkpoint_path.exists():
            self.resume()
        signal.signal(signal.SIGTERM, self._request_stop)
        signal.signal(signal.SIGINT, self._request_stop)
        last_save, recent = time.monotonic(), []
        with (self.run_dir / "log.jsonl").open("a", buffering=1) as log:
            log.write(json.dumps({"event": "start", "step": self.step, "images": len(data)}) + "\n")
            while self.step < s.steps and not self._stop:
                start = time.process_time()
                recent.append(self.train_step(data))
                self.step += 1
                self.cpu_seconds += time.process_time() - start
                if self.step % s.log_every == 0:
                    log.write(json.dumps({"step": self.step, "bpsp": round(float(np.mean(recent)), 4)}) + "\n")
                    recent = []
                if time.monotonic() - last_save > s.checkpoint_minutes * 60:
                    self.save_checkpoint()
                    last_save = time.monotonic()
            self.save_checkpoint()
            log.write(json.dumps({"event": "stop", "step": self.step, "cpu_hours": self.cpu_seconds / 3600}) + "\n")

    def _request_stop(self, signum, frame) -> None:
        self._stop = True


def export_lossless(checkpoint: Path, output: Path, name: str) -> str:
    """Write a checkpoint's model as a lossless weights file (integer networks and tables); returns its hash."""
    state = torch.load(checkpoint, weights_only=False, map_location="cpu")
    config = LosslessConfig.from_json(json.dumps(state["settings"]["config"]))
    model = MultiScaleProgressive(config)
    model.load_state_dict(state["model"])
    metadata = {"steps": str(state["step"]), "cpu_hours": f"{state['cpu_seconds'] / 3600:.3f}", "config": config.to_json()}
    return save_lossless(compile_coder(model), output, name, metadata)
