"""Knowledge distillation of a lighter synthesis transform from a trained model, in three stages.

A student whose decoder is narrower (``--decoder-widths``) starts from the teacher's weights, each
tensor cut to its leading channels (:func:`licodec.models.growth.narrow_into`), and learns by step:

1. ``features``: on the teacher's quantised latent, each of the student's synthesis stages (after
   every inverse GDN, and the image) matches the teacher's at the same depth, its leading channels;
2. ``reconstruction``: the student's image matches the teacher's;
3. ``joint``: ordinary rate-distortion training of the whole student (:func:`licodec.train.loop.rd_loss`).

In the first two stages the loss reaches the synthesis transform only, so the student's encoder
and entropy model stay the teacher's; the third lets everything move. The weight average that
export ships starts afresh with each stage. The stage follows from the step, so a run resumes
exactly like any other. Lighter decoders for the same latent are how the
literature's three-step distillation trades decoder cost for quality.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from licodec.errors import LicodecError
from licodec.models import LearnedCodec, load_weights
from licodec.models.catalog import weights_path
from licodec.models.context import CheckerboardContext
from licodec.nn.gdn import GDN

STAGES = ("features", "reconstruction", "joint")


@dataclass(frozen=True)
class Distillation:
    teacher: LearnedCodec
    stage_starts: tuple[int, int]  # the steps at which "reconstruction" and "joint" begin

    def stage(self, step: int) -> str:
        return STAGES[sum(step >= start for start in self.stage_starts)]


def load_teacher(name: str, device: torch.device) -> LearnedCodec:
    """The trained model a student learns from (a shipped name or a weights file), frozen, in eval mode."""
    teacher, metadata = load_weights(weights_path(name))
    if type(teacher) is not CheckerboardContext:
        raise LicodecError(f"distillation learns from a he2021-checkerboard model, and {name} is {metadata['architecture']}")
    teacher.to(device).eval().requires_grad_(False)
    return teacher


def check_student(teacher: LearnedCodec, student: LearnedCodec) -> None:
    """A student decodes the teacher's latent with a synthesis transform of the standard layers, narrower or not."""
    if type(student) is not CheckerboardContext:
        raise LicodecError("a distilled student is a he2021-checkerboard model (--architecture he2021-checkerboard)")
    if student.config.latent_channels != teacher.config.latent_channels:
        raise LicodecError(
            f"a student decodes the teacher's latent: --latent-channels must be {teacher.config.latent_channels}, "
            f"not {student.config.latent_channels}"
        )
    if any(s > t for s, t in zip(student.config.decoder_widths, teacher.config.decoder_widths)):
        raise LicodecError(f"a student's --decoder-widths are at most the teacher's {teacher.config.decoder_widths}")


def synthesis_stages(model: LearnedCodec, y_hat: torch.Tensor, rungs: torch.Tensor) -> list[torch.Tensor]:
    """g_s's activations after each inverse GDN, then the image, for a quantised latent at the rungs' rates."""
    h = model.synthesis_input(y_hat, rungs.float())
    stages = []
    for layer in model.g_s:
        h = layer(h)
        if isinstance(layer, GDN):
            stages.append(h)
    return [*stages, h]


def distill_loss(teacher: LearnedCodec, student: LearnedCodec, x: torch.Tensor, rungs: torch.Tensor, stage: str) -> dict:
    """The loss of a ``features`` or ``reconstruction`` step, with the teacher's rate and the student's PSNR to log."""
    with torch.no_grad():
        y = teacher.encode_latent(x, rungs.float())
        scales, means, z_likelihoods = teacher.latent_parameters(y)
        y_hat, y_likelihoods = teacher.mask_inactive(y, *teacher.gaussian(y, scales, means))  # eval mode: as coded
        targets = synthesis_stages(teacher, y_hat, rungs)
    outputs = synthesis_stages(student, y_hat, rungs)
    if stage == "features":
        loss = sum(F.mse_loss(out, target[:, : out.shape[1]]) for out, target in zip(outputs, targets)) / len(outputs)
    else:
        loss = F.mse_loss(outputs[-1], targets[-1])
    bits = torch.log2(y_likelihoods).sum() + torch.log2(z_likelihoods).sum()
    mse = F.mse_loss(outputs[-1].detach(), x)
    return {"loss": loss, "bpp": -bits / (x.shape[0] * x.shape[-2] * x.shape[-1]), "mse": mse, "psnr": -10 * torch.log10(mse.clamp(min=1e-10))}
