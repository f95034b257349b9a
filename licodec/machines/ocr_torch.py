"""PP-OCRv4 as a differentiable PyTorch machine, and the task loss codecs are tuned with.

The detector and recogniser are the ONNX networks rapidocr runs, evaluated by
:class:`~licodec.machines.onnx_torch.OnnxModule` (frozen), with rapidocr's preprocessing
in differentiable form: the detector sees the image scaled so its short side is 736 px
(a multiple of 32), the recogniser each text line scaled to 48 px high.

The task loss asks a decoded image to make the machine do what it does on the original
(no ground truth needed, so it works at encode time too): the detector's probability map
as a target (binary cross-entropy) plus, for each text line, the recogniser's per-column
character distribution (KL divergence from the original's).
"""

from __future__ import annotations

import math
from functools import cache

import torch
import torch.nn.functional as F
from torch import nn

from licodec.machines.extra import package_folder
from licodec.machines.onnx_torch import OnnxModule

DETECTOR_SHORT_SIDE = 736  # rapidocr's Det.limit_side_len with limit_type "min"
LINE_HEIGHT = 48  # rapidocr's Rec.rec_img_shape
MIN_LINE_WIDTH = 320

Box = tuple[int, int, int, int]  # left, top, right, bottom in pixels


@cache
def ocr_networks(device: str = "cpu") -> tuple[OnnxModule, OnnxModule]:
    """The detector and the recogniser on ``device``, loaded once per process and device, frozen."""
    folder = package_folder("rapidocr_onnxruntime", "OCR") / "models"
    networks = OnnxModule(folder / "ch_PP-OCRv4_det_infer.onnx"), OnnxModule(folder / "ch_PP-OCRv4_rec_infer.onnx")
    for network in networks:
        network.eval().requires_grad_(False).to(device)
    return networks


def _normalised(x: torch.Tensor) -> torch.Tensor:
    return (x - 0.5) / 0.5


def detector_size(height: int, width: int, upscale: bool = True) -> tuple[int, int]:
    """rapidocr's input size: the short side scaled up to 736 px (without ``upscale``: as is), sides multiples of 32."""
    scale = max(1.0, DETECTOR_SHORT_SIDE / min(height, width)) if upscale else 1.0
    return tuple(max(32, round(side * scale / 32) * 32) for side in (height, width))


def text_probability(x: torch.Tensor, upscale: bool = True) -> torch.Tensor:
    """The detector's text probability map for images ``x`` (N, 3, H, W) in [0, 1], at the detector's resolution.

    ``upscale=False`` skips rapidocr's enlargement of small images: a quarter of the work, for losses.
    """
    detector, _ = ocr_networks(str(x.device))
    size = detector_size(*x.shape[-2:], upscale)
    return detector(_normalised(F.interpolate(x, size=size, mode="bilinear", align_corners=False)))


def line_crops(x: torch.Tensor, boxes: list[Box]) -> torch.Tensor:
    """The lines ``boxes`` of one image ``x`` (1, 3, H, W), each 48 px high, padded on the right to one width (as rapidocr batches them)."""
    crops = []
    for left, top, right, bottom in boxes:
        crop = x[:, :, top:bottom, left:right]
        width = max(1, math.ceil(LINE_HEIGHT * crop.shape[-1] / crop.shape[-2]))
        crops.append(_normalised(F.interpolate(crop, size=(LINE_HEIGHT, width), mode="bilinear", align_corners=False)))
    full = max(MIN_LINE_WIDTH, *(c.shape[-1] for c in crops))
    return torch.cat([F.pad(c, (0, full - c.shape[-1])) for c in crops])


def character_probabilities(x: torch.Tensor, boxes: list[Box]) -> torch.Tensor:
    """The recogniser's per-column distributions over its 6,625 symbols (lines, columns, symbols)."""
    _, recogniser = ocr_networks(str(x.device))
    return recogniser(line_crops(x, boxes))


class OcrTaskLoss(nn.Module):
    """How far the machine's outputs on a decoded image are from its outputs on the original ``x`` (1, 3, H, W).

    ``boxes`` are the text lines to read (found on the original, or known); the detector runs
    at the image's own resolution, not rapidocr's enlargement, to keep the loss affordable.
    """

    def __init__(self, x: torch.Tensor, boxes: list[Box]) -> None:
        super().__init__()
        self.boxes = [b for b in boxes if b[2] - b[0] >= 4 and b[3] - b[1] >= 4]
        with torch.no_grad():
            self.text_map = text_probability(x, upscale=False).clamp(1e-4, 1 - 1e-4)
            self.characters = character_probabilities(x, self.boxes).clamp_min(1e-8) if self.boxes else None

    def forward(self, x_hat: torch.Tensor) -> torch.Tensor:
        """The mean loss over decodes ``x_hat`` (N, 3, H, W) of the original."""
        return self.per_image(x_hat).mean()

    def per_image(self, x_hat: torch.Tensor) -> torch.Tensor:
        """The loss of each of several decodes ``x_hat`` (N, 3, H, W) of the original, (N,): one machine pass for all."""
        found = text_probability(x_hat, upscale=False).clamp(1e-4, 1 - 1e-4)
        target = self.text_map.expand_as(found)
        loss = F.binary_cross_entropy(found, target, reduction="none").mean(dim=(1, 2, 3)) - _entropy(self.text_map)
        if self.characters is not None:
            n = len(x_hat)
            read = character_probabilities(x_hat, self.boxes).clamp_min(1e-8)  # lines in box-major order, n decodes each
            read = read.view(len(self.boxes), n, *read.shape[1:])
            expected = self.characters[:, None]
            loss = loss + (expected * (expected.log() - read.log())).sum(-1).mean(dim=(0, 2))
        return loss


def _entropy(p: torch.Tensor) -> torch.Tensor:
    """The cross-entropy's floor, subtracted so that a perfect decode costs 0."""
    return -(p * p.log() + (1 - p) * (1 - p).log()).mean()


def ocr_task_loss(x: torch.Tensor) -> OcrTaskLoss:
    """The task loss for an image ``x`` (1, 3, H, W) in [0, 1], on the text lines rapidocr finds in it."""
    from PIL import Image

    from licodec.machines.ocr import OcrMachine

    pixels = (x[0].permute(1, 2, 0).clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    lines = OcrMachine().read(Image.fromarray(pixels))
    return OcrTaskLoss(x, [_bounding_box(line.box, x.shape[-1], x.shape[-2]) for line in lines])


def _bounding_box(corners, width: int, height: int) -> Box:
    xs, ys = [p[0] for p in corners], [p[1] for p in corners]
    return (max(0, math.floor(min(xs))), max(0, math.floor(min(ys))), min(width, math.ceil(max(xs)) + 1), min(height, math.ceil(max(ys)) + 1))
