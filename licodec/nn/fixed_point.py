"""Compiling the float networks on the probability path into exact integer networks (:mod:`licodec.nn.integer_network`).

Weights are scaled per output channel by a power of two into int16 range and rounded;
biases land on the same grid; :func:`compile_network` refuses a layer whose partial sums
could leave the range where float64 is exact. :func:`load_into_float` goes back: a weights
file stores the integers only, and training resumes from the floats they stand for.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from licodec.nn.integer_network import ACT_FRAC_BITS, ACT_LIMIT, EXACT_LIMIT, WEIGHT_BITS, FixedPointLayer, FixedPointNetwork


def to_fixed(x: torch.Tensor) -> torch.Tensor:
    """Float activations to the integer grid (float64 holding integers), clamped."""
    return torch.clamp(torch.round(x.double() * 2.0**ACT_FRAC_BITS), -ACT_LIMIT, ACT_LIMIT)


def from_fixed(x: torch.Tensor) -> torch.Tensor:
    return (x * 2.0**-ACT_FRAC_BITS).float()


def compile_network(network: nn.Sequential) -> FixedPointNetwork:
    """Compile a float ``nn.Sequential`` of Conv2d / ConvTranspose2d / ReLU to integers.

    Raises ``ValueError`` for any other layer, or if exactness cannot be guaranteed.
    """
    modules = list(network)
    layers = []
    for i, module in enumerate(modules):
        if isinstance(module, nn.ReLU):
            continue
        relu = i + 1 < len(modules) and isinstance(modules[i + 1], nn.ReLU)
        if isinstance(module, nn.ConvTranspose2d):
            layers.append(_compile_transposed(module, relu))
        elif isinstance(module, nn.Conv2d):
            layers.append(_compile_conv(module, module.weight.detach().double(), relu))
        else:
            raise ValueError(f"cannot evaluate {type(module).__name__} in fixed point")
    return FixedPointNetwork(tuple(layers))


def _compile_conv(module: nn.Conv2d, weight: torch.Tensor, relu: bool, upsample: int = 1, pad=None) -> FixedPointLayer:
    if module.groups != 1 or module.dilation != (1, 1):
        raise ValueError("fixed-point layers support plain convolutions only")
    mask = getattr(module, "mask", None)
    if mask is not None:
        weight = weight * mask.double()
    weight = weight.numpy()
    out_channels = weight.shape[0]
    peak = np.abs(weight.reshape(out_channels, -1)).max(axis=1)
    shift = np.array([min(30, max(0, WEIGHT_BITS - 1 - math.ceil(math.log2(p)))) if p > 0 else 0 for p in peak], dtype=np.int32)
    scale = np.power(2.0, shift).reshape(-1, 1, 1, 1)
    weight_int = np.round(weight * scale).astype(np.int64)
    bias = module.bias.detach().double().numpy() if module.bias is not None else np.zeros(out_channels)
    bias_int = np.round(bias * np.power(2.0, shift + ACT_FRAC_BITS)).astype(np.int64)
    worst = np.abs(weight_int).reshape(out_channels, -1).sum(axis=1) * ACT_LIMIT + np.abs(bias_int)
    if worst.max() >= EXACT_LIMIT:
        raise ValueError("fixed-point layer could overflow the exact float64 range")
    stride = module.stride[0]
    if pad is None:
        pad = (module.padding[0], module.padding[0])
    return FixedPointLayer(weight_int.astype(np.int32), bias_int, shift, stride, upsample, pad, relu)


def _compile_transposed(module: nn.ConvTranspose2d, relu: bool) -> FixedPointLayer:
    """A transposed conv equals a stride-1 conv of the zero-upsampled input with the flipped kernel."""
    k = module.kernel_size[0]
    weight = module.weight.detach().double().flip(2, 3).transpose(0, 1).contiguous()  # (out, in, k, k)
    before = k - 1 - module.padding[0]
    after = before + module.output_padding[0]
    equivalent = nn.Conv2d(module.in_channels, module.out_channels, k, bias=module.bias is not None)
    equivalent.bias = module.bias
    return _compile_conv(equivalent, weight, relu, upsample=module.stride[0], pad=(before, after))


def load_into_float(network: FixedPointNetwork, modules: nn.Sequential) -> None:
    """Set the float layers ``network`` was compiled from to the values its integers stand for.

    The inverse of :func:`compile_network` up to its rounding: a weights file stores the
    probability path once, as integers, and the float modules (for training and rate
    estimates) are rebuilt from them, so the two paths compute the same function.
    """
    convolutions = [m for m in modules if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    if len(convolutions) != len(network.layers):
        raise ValueError(f"{len(network.layers)} integer layers for {len(convolutions)} float ones")
    with torch.no_grad():
        for module, layer in zip(convolutions, network.layers):
            weight, bias = float_values(layer)
            if isinstance(module, nn.ConvTranspose2d):  # stored as the flipped, transposed stride-1 kernel
                weight = weight.transpose(0, 1).flip(2, 3)
            module.weight.copy_(weight)
            if module.bias is not None:
                module.bias.copy_(bias)


def float_values(layer: FixedPointLayer) -> tuple[torch.Tensor, torch.Tensor]:
    """(weight, bias) float64 that an integer layer stands for, the weight in its stored stride-1 convolution form."""
    scale = np.power(2.0, -layer.shift.astype(np.float64))
    return torch.from_numpy(layer.weight * scale.reshape(-1, 1, 1, 1)), torch.from_numpy(layer.bias * scale * 2.0**-ACT_FRAC_BITS)
