"""The rate-distortion training loop, with exact resume.

loss = lambda * distortion + bits per pixel, the distortion being 255^2 * MSE, 1 - MS-SSIM or
1 - MS-SSIM + LPIPS (:mod:`licodec.train.distortion`).

Each sample in a batch draws its own rung of the rate ladder, so one model learns
every rate at once (gain units, :class:`licodec.models.transforms.GainUnits`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import platform
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from licodec.adapt.latent import TaskLoss
from licodec.errors import LicodecError
from licodec.machines.ocr_torch import OcrTaskLoss
from licodec.machines.text_images import TextImageSource
from licodec.models import SHIPPED_CONFIG, CodecConfig, create_model, load_weights, save_weights
from licodec.models.base import LearnedCodec
from licodec.models.growth import grow_into, narrow_into
from licodec.nn.discriminator import PatchDiscriminator, discriminator_loss, generator_loss
from licodec.train.data import TrainingImages, load_split, sample_batch
from licodec.train.distill import Distillation, check_student, distill_loss, load_teacher
from licodec.train.distortion import MS_SSIM_MIN_CROP, Distortion, distortion_measure, mean_squared_error, needs_large_crops
from licodec.train.distributed import any_rank, average_gradients, init_from_environment


@dataclass
class TrainSettings:
    data: list[str]
    run_dir: str
    architecture: str = "he2021-checkerboard"
    config: CodecConfig = SHIPPED_CONFIG
    batch_size: int = 8
    crop: int = 128
    learning_rate: float = 1e-4
    aux_learning_rate: float = 1e-3
    clip_norm: float = 1.0
    steps: int = 1_000_000
    seed: int = 0
    threads: int = 2
    checkpoint_minutes: float = 10.0
    validate_every: int = 2000
    log_every: int = 20
    validation_fraction: float = 0.03
    lr_drop_at: int | None = None  # step after which the learning rate is divided by 10
    ema_decay: float = 0.999  # exponential moving average of the weights: what gets shipped
    mixed_precision: bool = False  # bfloat16 hidden layers in g_a/g_s (LearnedCodec._transform)
    compile: bool = False  # torch.compile the training forward pass (a minute to compile)
    rung_weights: tuple[float, ...] | None = None  # how often each rung is drawn, relative; None draws them evenly
    device: str = "cpu"  # "cpu", or "cuda" (a GPU, one process; bfloat16 hidden layers as with mixed_precision)
    distill_from: str | None = None  # a trained model the run distils a narrower decoder from (licodec.train.distill)
    distill_stages: tuple[int, int] | None = None  # steps where "reconstruction" and "joint" begin; None: a fifth and half
    l1_weights: tuple[float, ...] | None = None  # per rung: weight of sum |y| / pixels in the loss (needs config.channel_mask)
    task: str | None = None  # "ocr": train on text images (licodec.machines.text_images) with the machine's loss added
    task_weight: float = 1000.0  # the task loss's weight beside 255^2 * MSE, both times the rung's lambda
    adversarial_weight: float = 0.0  # > 0: fine-tune the decoder (g_s) alone against a patch discriminator; the
    # generator loss's weight beside 255^2 * MSE, both times the rung's lambda
    discriminator_learning_rate: float = 1e-4
    conditional_discriminator: bool = False  # the discriminator also sees the quantised latent (HiFiC's conditional GAN)
    decoder_only: bool = False  # train the decoder (g_s) alone: the encoder and entropy model, so the rates, stay as loaded

    def to_json(self) -> dict:
        d = asdict(self)
        d["config"] = json.loads(self.config.to_json())
        return d


def rd_loss(
    model: LearnedCodec,
    x: torch.Tensor,
    rungs: torch.Tensor,
    lambdas: torch.Tensor,
    distortion: Distortion,
    l1_weights: torch.Tensor | None = None,
    task_losses: list[TaskLoss] | None = None,
    task_weight: float = 0.0,
    discriminator: PatchDiscriminator | None = None,
    adversarial_weight: float = 0.0,
) -> dict:
    """Per-sample rate-distortion loss; ``rungs`` picks each sample's lambda and gains, and its weight of the
    L1 penalty on y that turns whole channels off (``l1_weights``; :mod:`licodec.coding.channel_mask`).

    ``task_losses``, one per sample, add a machine's loss on the decoded sample, weighted like the distortion;
    a ``discriminator`` adds the generator's adversarial loss, weighted so too. The result holds the
    decodes as ``x_hat`` and, for a conditional discriminator, their quantised ``latent`` (for the discriminator's
    own step) beside the scalars."""
    out = model(x, rungs.float())
    num_pixels = x.shape[-2] * x.shape[-1]
    bits = sum(torch.log2(lik).sum(dim=(1, 2, 3)) for lik in out["likelihoods"].values())
    bpp = -bits / num_pixels
    mse = ((out["x_hat"] - x) ** 2).mean(dim=(1, 2, 3))
    lam = lambdas[rungs]
    dist_term = lam * distortion(out["x_hat"], x)
    if l1_weights is not None:
        dist_term = dist_term + l1_weights[rungs] * out["y"].abs().sum(dim=(1, 2, 3)) / num_pixels
    if task_losses is not None:
        task = torch.stack([task_loss(out["x_hat"][i : i + 1].clamp(0, 1)) for i, task_loss in enumerate(task_losses)])
        dist_term = dist_term + lam * task_weight * task
    if discriminator is not None:
        latent = out["y"].detach().round() if discriminator.conditional else None
        adversarial = generator_loss(discriminator(out["x_hat"].clamp(0, 1), latent))
        dist_term = dist_term + lam * adversarial_weight * adversarial
    loss = (dist_term + bpp).mean()
    psnr = (-10 * torch.log10(mse.detach().clamp(min=1e-10))).mean()
    result = {"loss": loss, "bpp": bpp.detach().mean(), "mse": mse.detach().mean(), "psnr": psnr}
    if task_losses is not None:
        result["task"] = task.detach().mean()
    if discriminator is not None:
        result["adversarial"] = adversarial.detach().mean()
        result["x_hat"] = out["x_hat"].detach()
        result["latent"] = latent
    if model.config.channel_mask:  # the share of y's channels a coder would code
        result["active"] = model.channel_activity(out["y"]).float().mean()
    return result


def draw_rungs(rng: np.random.Generator, rungs: int, count: int, weights: tuple[float, ...] | None) -> np.ndarray:
    """Each sample's rung: evenly by default, or in proportion to ``weights``.

    Weighting the top rungs trains the high-rate end harder, where the model lags most.
    The even draw is the one runs before ``rung_weights`` existed made, so they resume exactly.
    """
    if weights is None:
        return rng.integers(rungs, size=count)
    p = np.asarray(weights, dtype=np.float64)
    return rng.choice(rungs, size=count, p=p / p.sum())


def _split_parameters(model: LearnedCodec):
    main = [p for n, p in model.named_parameters() if not n.endswith("quantiles")]
    aux = [p for n, p in model.named_parameters() if n.endswith("quantiles")]
    return main, aux


class Trainer:
    def __init__(self, settings: TrainSettings, init_weights: Path | None = None) -> None:
        if settings.rung_weights is not None and len(settings.rung_weights) != settings.config.num_rates:
            raise LicodecError(f"--rung-weights gives {len(settings.rung_weights)} weights for a ladder of {settings.config.num_rates} rungs")
        if settings.l1_weights is not None and len(settings.l1_weights) != settings.config.num_rates:
            raise LicodecError(f"--l1-weights gives {len(settings.l1_weights)} weights for a ladder of {settings.config.num_rates} rungs")
        if needs_large_crops(settings.config.distortion) and settings.crop < MS_SSIM_MIN_CROP:
            raise LicodecError(f"MS-SSIM training needs crops of at least {MS_SSIM_MIN_CROP} pixels (got {settings.crop})")
        if settings.conditional_discriminator and settings.adversarial_weight == 0:
            raise LicodecError("--conditional describes the discriminator of --adversarial; give both")
        if (settings.adversarial_weight > 0 or settings.decoder_only) and settings.distill_from is not None:
            raise LicodecError("decoder-only fine-tuning and distillation each decide what the decoder learns; run them one after the other")
        self.device = training_device(settings.device)
        self.settings = settings
        self.rank, self.world = init_from_environment()
        if self.world > 1 and self.device.type != "cpu":
            raise LicodecError("several training processes (torchrun) run on the CPU only; train on a GPU in one process")
        self.run_dir = Path(settings.run_dir)
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LicodecError(f"cannot create the run folder {self.run_dir}: {exc.strerror}") from None
        torch.manual_seed(settings.seed)
        self.model = create_model(settings.architecture, settings.config)
        if settings.config.channel_mask and not self.model.procedure.can_mask_channels:
            raise LicodecError(f"{settings.architecture} codes every channel of y: it cannot be trained with a channel mask (--l1-weights)")
        self._training_forward = self.model  # replaced by a compiled wrapper in run()
        self.prior = Lineage()  # the training behind --init-weights, which export adds to this run's
        self.distillation = self._distillation(settings) if settings.distill_from is not None else None
        if self.distillation is not None and init_weights is None:
            narrow_into(self.distillation.teacher, self.model)
        if init_weights is not None:
            loaded, metadata = load_weights(init_weights)
            try:  # the same network, or a larger one or a longer ladder grown from it, starting where it is
                grow_into(loaded, self.model)
            except (RuntimeError, ValueError):
                raise LicodecError(
                    f"{init_weights} holds a {metadata['architecture']} network with {metadata['config']}, "
                    f"which does not fit this run's {settings.architecture} with {settings.config.to_json()}"
                ) from None
            self.prior = Lineage.of_weights(metadata)
        self.model.to(self.device)
        self.distortion = distortion_measure(settings.config.distortion, self.device)
        self.model.mixed_precision = settings.mixed_precision or self.device.type == "cuda"
        main, aux = _split_parameters(self.model)
        self.discriminator = None
        if self.decoder_only:  # the decoder alone learns: the encoder and entropy model, so the rates, stay
            self.model.requires_grad_(False)
            main = list(self.model.g_s.parameters())
            for parameter in main:
                parameter.requires_grad_(True)
        if settings.adversarial_weight > 0:
            latent_channels = settings.config.latent_channels if settings.conditional_discriminator else 0
            self.discriminator = PatchDiscriminator(latent_channels=latent_channels).to(self.device)
            self.discriminator_optimizer = torch.optim.Adam(
                self.discriminator.parameters(), lr=settings.discriminator_learning_rate, betas=(0.5, 0.999)
            )
        self.trained_parameters = main
        self.optimizer = torch.optim.Adam(main, lr=settings.learning_rate)
        self.aux_optimizer = torch.optim.Adam(aux, lr=settings.aux_learning_rate)
        self.ema = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        self.step = 0
        self.cpu_seconds = 0.0
        self.gpu_seconds = 0.0  # wall-clock time of the steps run on a GPU, which process time does not count
        self.lambdas = torch.tensor(settings.config.lambdas, device=self.device)
        self.l1_weights = None if settings.l1_weights is None else torch.tensor(settings.l1_weights, device=self.device)
        self._stop = False

    @property
    def decoder_only(self) -> bool:
        """Adversarial fine-tuning always trains the decoder alone."""
        return self.settings.decoder_only or self.settings.adversarial_weight > 0

    def _distillation(self, settings: TrainSettings) -> Distillation:
        teacher = load_teacher(settings.distill_from, self.device)
        check_student(teacher, self.model)
        starts = settings.distill_stages or (settings.steps // 5, settings.steps // 2)
        if not 0 <= starts[0] <= starts[1]:
            raise LicodecError(f"--distill-stages takes two steps in order, not {starts[0]},{starts[1]}")
        return Distillation(teacher, starts)

    @property
    def checkpoint_path(self) -> Path:
        return self.run_dir / "checkpoint.pt"

    def save_checkpoint(self) -> None:
        if self.rank != 0:
            return
        state = {
            "model": self.model.state_dict(),
            "ema": self.ema,
            "optimizer": self.optimizer.state_dict(),
            "aux_optimizer": self.aux_optimizer.state_dict(),
            "step": self.step,
            "cpu_seconds": self.cpu_seconds,
            "gpu_seconds": self.gpu_seconds,
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else None,
            "settings": self.settings.to_json(),
            "prior": asdict(self.prior),
        }
        if self.discriminator is not None:
            state["discriminator"] = self.discriminator.state_dict()
            state["discriminator_optimizer"] = self.discriminator_optimizer.state_dict()
        write_checkpoint(state, self.checkpoint_path)

    def resume(self) -> None:
        state = torch.load(self.checkpoint_path, weights_only=False, map_location=self.device)
        if (self.discriminator is not None) != ("discriminator" in state):
            trained = "adversarially" if "discriminator" in state else "without --adversarial"
            raise LicodecError(f"{self.checkpoint_path} was trained {trained}; resume it as it was, or start a new run from its export")
        if self.discriminator is not None and state["settings"].get("conditional_discriminator", False) != self.discriminator.conditional:
            kind = "a conditional" if self.discriminator.conditional else "an unconditional"
            raise LicodecError(f"{self.checkpoint_path} was trained against a different discriminator than {kind} one; resume it as it was")
        self.model.load_state_dict(state["model"])
        self.ema = state.get("ema") or {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        self.optimizer.load_state_dict(state["optimizer"])
        self.aux_optimizer.load_state_dict(state["aux_optimizer"])
        self.step = state["step"]
        self.cpu_seconds = state["cpu_seconds"]
        self.gpu_seconds = state.get("gpu_seconds", 0.0)
        self.prior = Lineage(**state.get("prior", {}))
        if self.discriminator is not None:
            self.discriminator.load_state_dict(state["discriminator"])
            self.discriminator_optimizer.load_state_dict(state["discriminator_optimizer"])
        torch.set_rng_state(state["torch_rng"].cpu())
        if state.get("cuda_rng") is not None and self.device.type == "cuda":
            torch.cuda.set_rng_state(state["cuda_rng"].cpu(), self.device)

    def export(self, path: Path, name: str) -> str:
        """Ship the averaged (EMA) weights, with their integer coding tables."""
        self.save_checkpoint()
        return export_checkpoint(self.checkpoint_path, path, name)

    def _request_stop(self, signum, frame) -> None:
        self._stop = True

    def _learning_rate(self) -> float:
        return learning_rate_at(self.step, self.settings.learning_rate, self.settings.lr_drop_at)

    def train_step(self, x: torch.Tensor, boxes: list | None = None) -> dict:
        """One optimiser step on batch ``x``; with a task, ``boxes`` holds each sample's text lines."""
        key = [self.settings.seed, self.step, 1] + ([self.rank] if self.rank else [])
        rungs = torch.from_numpy(draw_rungs(np.random.default_rng(key), len(self.lambdas), x.shape[0], self.settings.rung_weights)).to(self.device)
        for group in self.optimizer.param_groups:
            group["lr"] = self._learning_rate()
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        self.aux_optimizer.zero_grad(set_to_none=True)
        stage = self.distillation.stage(self.step) if self.distillation is not None else "joint"
        if self.distillation is not None and self.step in self.distillation.stage_starts:
            self.ema = {k: v.detach().clone() for k, v in self.model.state_dict().items()}  # average each stage on its own
        if stage == "joint":
            task_losses = None if boxes is None else [OcrTaskLoss(x[i : i + 1], list(b)) for i, b in enumerate(boxes)]
            result = rd_loss(
                self._training_forward,
                x,
                rungs,
                self.lambdas,
                self.distortion,
                self.l1_weights,
                task_losses,
                self.settings.task_weight,
                self.discriminator,
                self.settings.adversarial_weight,
            )
        else:
            result = distill_loss(self.distillation.teacher, self.model, x, rungs, stage)
        result["loss"].backward()
        main, aux_parameters = self.trained_parameters, _split_parameters(self.model)[1]
        average_gradients(main, self.world)
        torch.nn.utils.clip_grad_norm_(main, self.settings.clip_norm)
        self.optimizer.step()
        if self.discriminator is not None:
            result["discriminator"] = self._discriminator_step(x, result.pop("x_hat"), result.pop("latent"))
        aux = self.model.aux_loss()
        if stage == "joint" and not self.decoder_only:  # decoder-only runs leave the entropy model as it was
            aux.backward()
            average_gradients(aux_parameters, self.world)
            self.aux_optimizer.step()
        self._update_ema()
        result["aux"] = aux.detach()
        return result

    def _discriminator_step(self, x: torch.Tensor, x_hat: torch.Tensor, latent: torch.Tensor | None) -> torch.Tensor:
        """One step of the discriminator: this batch's originals against its decodes (each beside the latent, if conditional)."""
        self.discriminator_optimizer.zero_grad(set_to_none=True)
        loss = discriminator_loss(self.discriminator(x, latent), self.discriminator(x_hat.clamp(0, 1), latent))
        loss.backward()
        average_gradients(list(self.discriminator.parameters()), self.world)
        self.discriminator_optimizer.step()
        return loss.detach()

    @torch.no_grad()
    def _update_ema(self) -> None:
        """Weights averaged over the last ~1/(1 - decay) steps: smoother than any single step's."""
        decay = self.settings.ema_decay
        for key, value in self.model.state_dict().items():
            if value.dtype.is_floating_point:
                self.ema[key].mul_(decay).add_(value.detach(), alpha=1 - decay)
            else:
                self.ema[key].copy_(value)

    @contextlib.contextmanager
    def averaged_weights(self):
        """Temporarily put the EMA weights (what export ships) into the model; the live weights come back after."""
        live = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        self.model.load_state_dict(self.ema)
        try:
            yield
        finally:
            self.model.load_state_dict(live)

    def validation_row(self, images: TrainingImages) -> dict:
        """Held-out figures of the live weights and of the averaged weights that would ship."""
        live = self.validate(images)
        with self.averaged_weights():
            shipped = self.validate(images)
        return {"step": self.step, "validation": live, "validation_ema": shipped}

    @torch.no_grad()
    def validate(self, images: TrainingImages) -> list[dict]:
        """Estimated bpp and PSNR on held-out centre crops, at every rung (in float32)."""
        self.model.eval()
        mixed, self.model.mixed_precision = self.model.mixed_precision, False
        rows = []
        crops = [img[:, : img.shape[1] // 64 * 64, : img.shape[2] // 64 * 64].float().unsqueeze(0).to(self.device) / 255 for img in images.images]
        crops = [c[..., :256, :256] for c in crops]
        for rung in range(len(self.lambdas)):
            results = [rd_loss(self.model, c, torch.tensor([rung], device=self.device), self.lambdas, mean_squared_error) for c in crops]
            row = {
                "rung": rung,
                "bpp": float(np.mean([float(r["bpp"]) for r in results])),
                "psnr": float(np.mean([float(r["psnr"]) for r in results])),
            }
            if "active" in results[0]:
                row["active"] = float(np.mean([float(r["active"]) for r in results]))
            rows.append(row)
        self.model.train()
        self.model.mixed_precision = mixed
        return rows

    def _batch(self, data: TrainingImages, text: TextImageSource | None) -> tuple[torch.Tensor, list | None]:
        """This step's crops of the photographs, or with a task its text images (drawn on the training split's photographs) and their lines."""
        s = self.settings
        if text is None:
            return sample_batch(data, s.seed, self.step, s.batch_size, s.crop, rank=self.rank).to(self.device, non_blocking=True), None
        pixels, boxes = text.batch(s.seed * 1000 + self.rank, self.step, s.batch_size, s.crop)
        return torch.from_numpy(pixels).permute(0, 3, 1, 2).float().div(255).to(self.device), boxes

    def replica_digest(self) -> str:
        """SHA-256 of the model's parameters: equal on every replica of a data-parallel run."""
        digest = hashlib.sha256()
        for key, value in sorted(self.model.state_dict().items()):
            digest.update(key.encode())
            digest.update(value.detach().cpu().contiguous().numpy().tobytes())
        return digest.hexdigest()

    def run(self, resume: bool, progress: bool = True) -> None:
        s = self.settings
        torch.set_num_threads(s.threads)
        if s.compile:
            self._training_forward = torch.compile(self.model)
        data, validation = load_split(s.data, s.validation_fraction, s.crop, 64)
        text = TextImageSource([Path(d) for d in s.data], "train") if s.task else None
        if resume and self.checkpoint_path.exists():
            self.resume()
        log = (self.run_dir / "log.jsonl").open("a", buffering=1) if self.rank == 0 else open(os.devnull, "w")  # noqa: SIM115 (closed when the run ends)
        progress = progress and self.rank == 0
        log.write(
            json.dumps({"event": "start", "step": self.step, "train_images": len(data), "val_images": len(validation), "settings": s.to_json()})
            + "\n"
        )
        signal.signal(signal.SIGTERM, self._request_stop)
        signal.signal(signal.SIGINT, self._request_stop)
        last_save = time.monotonic()
        bar = tqdm(total=s.steps, initial=self.step, disable=not progress, dynamic_ncols=True)
        while self.step < s.steps and not any_rank(self._stop, self.world):
            start, wall = time.process_time(), time.monotonic()
            x, boxes = self._batch(data, text)
            r = self.train_step(x, boxes)
            self.step += 1
            self.cpu_seconds += time.process_time() - start
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
                self.gpu_seconds += time.monotonic() - wall
            bar.update(1)
            if self.step % s.log_every == 0:
                row = {k: round(float(v.detach()), 5) for k, v in r.items()}
                bar.set_postfix(bpp=row["bpp"], psnr=row["psnr"], loss=row["loss"])
                log.write(json.dumps({"step": self.step, **row}) + "\n")
            if self.step % s.validate_every == 0 and len(validation) and self.rank == 0:
                log.write(json.dumps(self.validation_row(validation)) + "\n")
                log.flush()
            if time.monotonic() - last_save > s.checkpoint_minutes * 60:
                self.save_checkpoint()
                last_save = time.monotonic()
                log.flush()
            loss = float(r["loss"].detach())
            if not math.isfinite(loss):
                raise FloatingPointError(f"loss became {loss} at step {self.step}")
        self.save_checkpoint()
        if self.world > 1:
            (self.run_dir / f"replica-{self.rank}.sha256").write_text(self.replica_digest())
        log.write(json.dumps({"event": "stop", "step": self.step, "cpu_hours": self.cpu_seconds / 3600}) + "\n")
        log.close()
        bar.close()


def write_checkpoint(state: dict, path: Path) -> None:
    """``torch.save`` through a temporary file and a rename: an interrupted save never leaves half a checkpoint."""
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def learning_rate_at(step: int, learning_rate: float, drop_at: int | None) -> float:
    """The learning rate of ``step``: divided by 10 from ``drop_at`` on (``--lr-drop-at``), if given."""
    return learning_rate / 10 if drop_at is not None and step >= drop_at else learning_rate


def training_device(name: str) -> torch.device:
    """The device ``--device`` names, checked before any work: "cpu", or "cuda" / "cuda:N" where this torch sees a GPU."""
    try:
        device = torch.device(name)
    except RuntimeError:
        raise LicodecError(f"--device takes cpu or cuda, not {name!r}") from None
    if device.type not in ("cpu", "cuda"):
        raise LicodecError(f"--device takes cpu or cuda, not {name!r}")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise LicodecError(f"--device {name}: this torch ({torch.__version__}) sees no CUDA GPU")
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise LicodecError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA GPU(s)")
    return device


def bfloat16_is_fast() -> bool:
    """Whether this CPU runs bfloat16 convolutions natively (AVX-512 class x86, or not x86 at all).

    Without AVX-512, oneDNN falls back to a reference path, many times slower than float32
    (``benchmarks/train_step.py``; docs/results.md).
    """
    if platform.machine().lower() not in {"x86_64", "amd64", "i386", "i686"}:
        return True
    return torch.backends.cpu.get_cpu_capability().startswith("AVX512")


@dataclass(frozen=True)
class Lineage:
    """Training steps and CPU-hours behind a set of weights, across the runs that led to them."""

    steps: int = 0
    cpu_hours: float = 0.0

    @classmethod
    def of_weights(cls, metadata: dict) -> Lineage:
        """From shipped weights' metadata ("steps" and "cpu_hours" count the whole lineage)."""
        extra = json.loads(metadata.get("extra", "{}"))
        return cls(int(extra.get("steps", 0)), float(extra.get("cpu_hours", 0.0)))


def export_checkpoint(checkpoint: Path, output: Path, name: str, prior: Lineage | None = None) -> str:
    """Write a checkpoint's averaged (EMA) model as shipped weights (fp16 + integer tables); returns its hash.

    The metadata counts the whole lineage: ``prior`` (default: what the run started
    from, recorded by ``--init-weights``) plus this run, which is also given alone.
    """
    state = torch.load(checkpoint, weights_only=False, map_location="cpu")
    settings = state["settings"]
    config = CodecConfig.from_json(json.dumps(settings["config"]))
    model = create_model(settings["architecture"], config)
    model.load_state_dict(state.get("ema") or state["model"])
    model.eval()
    prior = prior or Lineage(**state.get("prior", {}))
    run_hours = state["cpu_seconds"] / 3600
    extra = {
        "steps": prior.steps + state["step"],
        "cpu_hours": round(prior.cpu_hours + run_hours, 2),
        "run_steps": state["step"],
        "run_cpu_hours": round(run_hours, 2),
        "ema": "ema" in state,
    }
    if state.get("gpu_seconds"):
        extra["run_gpu_hours"] = round(state["gpu_seconds"] / 3600, 2)
    return save_weights(model, output, name, half_precision=True, extra=extra)
