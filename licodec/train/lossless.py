"""Training the multi-scale progressive lossless model (:mod:`licodec.lossless`) on lossless photos.

Each sample is a crop of a training image at a random scale of its pyramid (the image
itself, or its even rows and columns), coded through every step of a random profile (one
per batch); the loss is the bits of its samples as coding spends them. JPEG-sourced images are left out: their block artefacts
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
from licodec.lossless.codec import NETWORKS, LosslessCoder
from licodec.lossless.model import LosslessConfig, MultiScaleProgressive, compile_coder
from licodec.lossless.order import PROFILES, schedule, to_grid, to_ycocg
from licodec.lossless.weights import load_lossless, save_lossless
from licodec.nn.fixed_point import float_values
from licodec.nn.integer_network import FixedPointLayer
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
    init_weights: str | None = None  # a lossless weights file to grow from (fresh runs only)
    config: LosslessConfig = field(default_factory=LosslessConfig)


def lossless_images(folders: list[str], min_side: int) -> TrainingImages:
    paths = [p for p in find_images([Path(f) for f in folders]) if p.suffix.lower() not in LOSSY_SUFFIXES]
    data = load_images(paths, min_side)
    if not len(data):
        raise LicodecError(
            f"no losslessly stored training images (PNG, WebP, ...) with both sides at least {min_side} pixels in {', '.join(folders)}"
        )
    return data


def sample_grids(data: TrainingImages, seed: int, step: int, batch_size: int, crop: int) -> tuple[torch.Tensor, str]:
    """(grids (N, ENTRIES, crop/2, crop/2) of YCoCg-R sample values, the profile whose steps they are coded in)."""
    rng = np.random.default_rng([seed, step])
    grids = []
    for _ in range(batch_size):
        image = data.images[int(rng.integers(len(data)))].numpy()
        level = int(rng.integers(2)) if min(image.shape[1:]) >= 2 * crop else 0
        scale = image[:, :: 1 << level, :: 1 << level]
        top, left = (int(rng.integers(side - crop + 1)) for side in scale.shape[1:])
        patch = scale[:, top : top + crop, left : left + crop]
        if rng.random() < 0.5:
            patch = patch[:, :, ::-1]
        grids.append(to_grid(to_ycocg(patch)))
    return torch.from_numpy(np.stack(grids)).float(), list(PROFILES)[int(rng.integers(len(PROFILES)))]


class LosslessTrainer:
    def __init__(self, settings: LosslessTraining) -> None:
        if settings.crop % 2:
            raise LicodecError(f"--crop must be even, not {settings.crop}")
        self.settings = settings
        self.device = training_device(settings.device)
        self.run_dir = Path(settings.run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(settings.seed)
        self.model = MultiScaleProgressive(settings.config)
        if settings.init_weights:
            grow_from(self.model, load_lossless(Path(settings.init_weights), check_format=False)[0])
        self.model.to(self.device)
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
        grids, profile = sample_grids(data, s.seed, self.step, s.batch_size, s.crop)
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate_at(self.step, s.learning_rate, s.lr_drop_at)
        self.optimizer.zero_grad(set_to_none=True)
        total, samples = self.model.scale_bits(grids.to(self.device), schedule(profile, 3))
        bits = total / samples
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


def grow_from(model: MultiScaleProgressive, coder: LosslessCoder) -> None:
    """Start ``model`` from the networks of ``coder``, a model with as many or fewer channels and layers, computing
    what it computed (Net2Net's function-preserving growth): each stored layer fills the leading rows of its
    counterpart, reading its inputs where they now sit; inputs it never had (new channels, new input kinds) are
    read by nothing, outputs it never had start at zero, and layers it never had start as identities (each follows
    a ReLU, so an identity passes its input on)."""
    stored_width, stored_entry_width = (len(getattr(coder, name).layers[-1].bias) for name in ("context", "entries"))
    head_inputs = [*range(stored_width), *range(model.config.width, model.config.width + stored_entry_width)]
    for name in NETWORKS:
        layers = [m for m in getattr(model, name) if isinstance(m, torch.nn.Conv2d)]
        stored = getattr(coder, name).layers
        if len(stored) > len(layers):
            raise LicodecError(f"the starting weights' {name} network has {len(stored)} layers, more than this model's {len(layers)}")
        with torch.no_grad():
            for i, conv in enumerate(layers):
                if i >= len(stored):
                    _identity(conv)
                    continue
                inputs = head_inputs if name == "head" and i == 0 else list(range(stored[i].weight.shape[1]))
                _fill(conv, stored[i], inputs, last=name == "head" and i == len(layers) - 1)


def _fill(conv: torch.nn.Conv2d, layer: FixedPointLayer, inputs: list[int], last: bool) -> None:
    """Set ``conv``'s leading rows to ``layer``'s float values, its stored inputs read from columns ``inputs``."""
    weight, bias = float_values(layer)
    outputs = weight.shape[0]
    if outputs > conv.out_channels or max(inputs) >= conv.in_channels or weight.shape[2:] != conv.weight.shape[2:]:
        raise LicodecError(f"a starting layer of shape {tuple(weight.shape)} does not fit in {tuple(conv.weight.shape)}")
    conv.weight[:outputs] = 0
    conv.weight[:outputs, inputs] = weight.float()
    conv.bias[:outputs] = bias.float()
    if last:
        conv.weight[outputs:] = 0
        conv.bias[outputs:] = 0


def _identity(conv: torch.nn.Conv2d) -> None:
    if conv.in_channels != conv.out_channels:
        raise LicodecError(f"a new layer of {conv.in_channels} to {conv.out_channels} channels cannot start as an identity")
    centre = conv.kernel_size[0] // 2
    conv.weight.zero_()
    conv.weight[range(conv.out_channels), range(conv.in_channels), centre, centre] = 1.0
    conv.bias.zero_()


def export_lossless(checkpoint: Path, output: Path, name: str) -> str:
    """Write a checkpoint's model as a lossless weights file (integer networks and tables); returns its hash."""
    state = torch.load(checkpoint, weights_only=False, map_location="cpu")
    config = LosslessConfig.from_json(json.dumps(state["settings"]["config"]))
    model = MultiScaleProgressive(config)
    model.load_state_dict(state["model"])
    metadata = {"steps": str(state["step"]), "cpu_hours": f"{state['cpu_seconds'] / 3600:.3f}", "config": config.to_json()}
    return save_lossless(compile_coder(model), output, name, metadata)
