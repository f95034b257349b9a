"""LPIPS (Zhang et al. 2018), v0.1 linear heads on AlexNet or VGG16 features, as the reference computes it.

The distance of two RGB images in [0, 1]: each backbone stage's ReLU features are
normalised to unit length along the channels, their squared difference is weighted per
channel by the stage's linear head, averaged over the positions and summed over the
stages. The inputs are first scaled to [-1, 1] and then by the reference's per-channel
shift and scale. Reproduces the authors' example distances (0.722, 0.138) to 1e-3.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import nn

from licodec.perceptual import weights

SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
NETS = {"alex": "lpips-alex", "vgg": "lpips-vgg"}

ALEXNET = ((3, 64, 11, 4, 2), (64, 192, 5, 1, 2), (192, 384, 3, 1, 1), (384, 256, 3, 1, 1), (256, 256, 3, 1, 1))
"""AlexNet's convolutions: (in, out, kernel, stride, padding); a 3x3/2 max-pool follows the first two."""
VGG16 = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))
"""VGG16's five blocks of 3x3 convolutions; a 2x2 max-pool starts every block after the first."""


class AlexNetFeatures(nn.Module):
    """The ReLU outputs of AlexNet's five convolutions."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.ModuleList(nn.Conv2d(i, o, k, s, p) for i, o, k, s, p in ALEXNET)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        taps = []
        for index, conv in enumerate(self.features):
            if index in (1, 2):
                x = F.max_pool2d(x, 3, 2)
            x = F.relu(conv(x))
            taps.append(x)
        return taps


class VGG16Features(nn.Module):
    """The last ReLU output of each of VGG16's five blocks (relu1_2 ... relu5_3); ``pool`` between blocks."""

    def __init__(self, pool: Callable[[int], nn.Module] | None = None) -> None:
        super().__init__()
        widths = [3, *(w for block in VGG16 for w in block)]
        self.features = nn.ModuleList(nn.Conv2d(i, o, 3, padding=1) for i, o in pairwise(widths))
        self.pools = nn.ModuleList(pool(block[-1]) if pool else nn.MaxPool2d(2, 2) for block in VGG16[:-1])

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        taps, index = [], 0
        for b, block in enumerate(VGG16):
            if b:
                x = self.pools[b - 1](x)
            for _ in block:
                x = F.relu(self.features[index](x))
                index += 1
            taps.append(x)
        return taps


class LPIPS(nn.Module):
    """``LPIPS(net)(x, y)``: the distance (N,) between image batches (N, 3, H, W) in [0, 1]; 0 for equal images."""

    def __init__(self, net: str = "alex") -> None:
        super().__init__()
        if net not in NETS:
            raise ValueError(f"LPIPS nets: {', '.join(NETS)}")
        self.backbone = AlexNetFeatures() if net == "alex" else VGG16Features()
        arrays = weights.load(NETS[net])
        self.backbone.load_state_dict({k: torch.from_numpy(v) for k, v in arrays.items() if k.startswith("features.")})
        for i in range(5):
            self.register_buffer(f"head{i}", torch.from_numpy(arrays[f"heads.{i}"]).view(1, -1, 1, 1))
        self.register_buffer("shift", torch.tensor(SHIFT).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(SCALE).view(1, 3, 1, 1))
        self.eval().requires_grad_(False)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        features_x, features_y = (self.backbone(((2 * image - 1) - self.shift) / self.scale) for image in (x, y))
        distance = 0
        heads = (getattr(self, f"head{i}") for i in range(5))
        for head, a, b in zip(heads, features_x, features_y, strict=True):
            difference = (_unit(a) - _unit(b)) ** 2
            distance = distance + (difference * head).sum(1).mean(dim=(1, 2))
        return distance


def _unit(features: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    return features / (features.pow(2).sum(1, keepdim=True).sqrt() + eps)
