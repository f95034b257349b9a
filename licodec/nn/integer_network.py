"""Exact integer evaluation of the networks that decide the coder's probabilities, in numpy.

Why: if the hyper-synthesis or context networks gave even one different bit on
the decoder's machine, a different table would be chosen and the rest of the file
would decode to garbage (CompressAI's most reported bug). Following Ballé,
Johnston & Minnen 2019 ("Integer networks"), these networks are compiled once,
at export (:mod:`licodec.nn.fixed_point`), to integer weights and power-of-two
rescalings, and evaluated here on integer-valued activations.

The arithmetic runs in float64 so that BLAS does the work, yet it is exact:
every operand is an integer, and the compiler proves that no partial sum can
exceed 2**52, below which float64 represents every integer. Exact additions give
the same result in any order, so thread count, CPU, SIMD width, FMA and BLAS
cannot change a single bit. ``tests/nn/test_integer_network.py`` checks this
against an independent int64 implementation.

This module needs numpy only: a decoder runs it without PyTorch.

Convention: an activation ``a`` is stored as the integer ``round(a * 2**ACT_FRAC_BITS)``.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from functools import cached_property

import numpy as np

ACT_FRAC_BITS = 10
"""Fractional bits of every activation on the probability path. Part of the format."""
ACT_LIMIT = 1 << 21
"""Activations are clamped to [-ACT_LIMIT, ACT_LIMIT] (i.e. +-2048.0) after each layer."""
WEIGHT_BITS = 15
"""Weights are scaled per output channel so that the largest magnitude is < 2**WEIGHT_BITS (fits int16)."""
EXACT_LIMIT = 2.0**52


@dataclass(frozen=True, eq=False)
class FixedPointLayer:
    """One integer convolution: ``out = relu?(floor((W * x + b + 2**(s-1)) / 2**s))`` per channel.

    Transposed convolutions are stored as their equivalent stride-1 convolution
    of the zero-upsampled input, so evaluation only knows one kind of layer.
    """

    weight: np.ndarray  # (out, in, k, k) int32
    bias: np.ndarray  # (out,) int64, in units of 2**-(ACT_FRAC_BITS + shift)
    shift: np.ndarray  # (out,) int32, per-channel power-of-two rescaling
    stride: int
    upsample: int  # 1, or 2 for a transposed convolution
    pad: tuple[int, int]  # (before, after), the same on both axes
    relu: bool

    @property
    def kernel_size(self) -> int:
        return int(self.weight.shape[-1])

    def select(self, outputs: np.ndarray | None = None, inputs: np.ndarray | None = None) -> FixedPointLayer:
        """The layer computing only the ``outputs`` channels (indexes), from only the ``inputs`` channels (a mask).

        Exact: each output is a sum of its own, and an input left out must be zero
        wherever the layer runs, so its products were zero (a masked channel of y).
        """
        weight, bias, shift = self.weight, self.bias, self.shift
        if outputs is not None:
            weight, bias, shift = weight[outputs], bias[outputs], shift[outputs]
        if inputs is not None:
            weight = weight[:, inputs]
        return dataclasses.replace(self, weight=weight, bias=bias, shift=shift)

    # The float64 operands are made once per layer, not on every call: at decoding
    # sizes, converting (and page-faulting in) megabytes of weights costs as much as
    # a small layer's arithmetic.

    @cached_property
    def weight_matrix(self) -> np.ndarray:
        """(out, in*k*k) float64."""
        return _float64(self.weight.reshape(self.weight.shape[0], -1))

    @cached_property
    def tap_matrices(self) -> np.ndarray:
        """(k, k, out, in) float64: one contiguous matrix per kernel tap, as BLAS wants them."""
        return _tap_matrices(self.weight)

    @cached_property
    def phase_weights(self) -> dict[tuple[int, int], np.ndarray]:
        """Transposed layers: the (Ty, Tx, out, in) tap matrices of each output phase's sub-kernel, keyed by its first taps."""
        s = self.upsample
        return {(fy, fx): _tap_matrices(self.weight[:, :, fy::s, fx::s]) for fy in range(s) for fx in range(s)}

    @cached_property
    def taps(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows, cols) of the kernel taps whose weights are not all zero, and their (out, in*T) weights."""
        rows, cols = np.nonzero(np.any(self.weight != 0, axis=(0, 1)))
        return rows, cols, _float64(self.weight[:, :, rows, cols].reshape(self.weight.shape[0], -1))

    @cached_property
    def bias_column(self) -> np.ndarray:
        return _float64(self.bias).reshape(-1, 1)

    @cached_property
    def rescaling(self) -> tuple[np.ndarray, np.ndarray]:
        """(2**(s-1) or 0, 2**-s) per output channel, as columns: ``floor((acc + half) * scale)`` rounds half up."""
        shift = _float64(self.shift).reshape(-1, 1)
        return np.where(shift > 0, np.power(2.0, shift - 1), 0.0), np.power(2.0, -shift)


def _float64(array: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(array, dtype=np.float64)


def _tap_matrices(weight: np.ndarray) -> np.ndarray:
    return _float64(weight.transpose(2, 3, 0, 1))


@dataclass(frozen=True, eq=False)
class FixedPointNetwork:
    layers: tuple[FixedPointLayer, ...]

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """The layers as named integer arrays. Weights are int16 (|w| < 2**WEIGHT_BITS); a kernel with taps
        that are zero for every channel (a masked context) stores the others only, with a (k, k) tap mask."""
        arrays: dict[str, np.ndarray] = {}
        for i, layer in enumerate(self.layers):
            p = f"{prefix}.{i}"
            live = np.any(layer.weight != 0, axis=(0, 1))
            if live.all():
                arrays[f"{p}.weight"] = layer.weight.astype(np.int16)
            else:
                arrays[f"{p}.weight"] = layer.weight[:, :, live].astype(np.int16)  # (out, in, taps)
                arrays[f"{p}.taps"] = live.astype(np.uint8)
            arrays[f"{p}.bias"] = layer.bias
            arrays[f"{p}.shift"] = layer.shift
            arrays[f"{p}.geometry"] = np.array([layer.stride, layer.upsample, layer.pad[0], layer.pad[1], int(layer.relu)], dtype=np.int32)
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str) -> FixedPointNetwork:
        layers = []
        i = 0
        while f"{prefix}.{i}.weight" in arrays:
            p = f"{prefix}.{i}"
            stride, upsample, pad0, pad1, relu = (int(v) for v in arrays[f"{p}.geometry"])
            layers.append(
                FixedPointLayer(
                    weight=_full_kernel(np.asarray(arrays[f"{p}.weight"], dtype=np.int32), arrays.get(f"{p}.taps")),
                    bias=np.asarray(arrays[f"{p}.bias"], dtype=np.int64),
                    shift=np.asarray(arrays[f"{p}.shift"], dtype=np.int32),
                    stride=stride,
                    upsample=upsample,
                    pad=(pad0, pad1),
                    relu=bool(relu),
                )
            )
            i += 1
        if not layers:
            raise KeyError(f"no fixed-point network stored under {prefix!r}")
        return cls(tuple(layers))

    def with_outputs(self, outputs: np.ndarray | None) -> FixedPointNetwork:
        """The network computing only the ``outputs`` channels (indexes) of its last layer; all of them for None."""
        if outputs is None:
            return self
        return FixedPointNetwork((*self.layers[:-1], self.layers[-1].select(outputs=outputs)))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Evaluate on integer-valued float64 activations (N, C, H, W); returns the same kind.

        The input is clamped to the activation range first: the exactness bound of
        the compiler assumes it, and an escaped latent could exceed it.
        """
        x = np.clip(np.asarray(x, dtype=np.float64), -ACT_LIMIT, ACT_LIMIT)
        for layer in self.layers:
            x = run_layer(layer, x)
        return x


def _full_kernel(weight: np.ndarray, taps: np.ndarray | None) -> np.ndarray:
    """(out, in, k, k) from a stored kernel: as it is, or its live taps scattered into zeros by the tap mask."""
    if taps is None:
        return weight
    live = np.asarray(taps, dtype=bool)
    full = np.zeros(weight.shape[:2] + live.shape, dtype=weight.dtype)
    full[:, :, live] = weight
    return full


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` through PyTorch's BLAS where the process has imported torch, numpy's otherwise.

    The sums are exact whichever BLAS adds them. The point is the threads: right after a numpy product,
    numpy's BLAS threads spin waiting for more work, and PyTorch's synthesis transform, running next on
    the same cores, took 1.4 times as long beside them (``benchmarks/speed.py``, AMD EPYC, 2 threads).
    """
    torch = sys.modules.get("torch")
    if torch is None:
        return np.matmul(a, b)
    return torch.matmul(torch.from_numpy(a), torch.from_numpy(b)).numpy()


def add_product(acc: np.ndarray, a: np.ndarray, b: np.ndarray) -> None:
    """``acc += a @ b`` in place (2-D), through the BLAS :func:`matmul` would use."""
    torch = sys.modules.get("torch")
    if torch is None:
        acc += a @ b
    else:
        torch.from_numpy(acc).addmm_(torch.from_numpy(a), torch.from_numpy(b))


def run_layer(layer: FixedPointLayer, x: np.ndarray) -> np.ndarray:
    """One exact integer convolution as float64 matrix products.

    Matrix products rather than a convolution routine: a convolution backend may pick
    Winograd or FFT algorithms, whose intermediate values are not integers.
    """
    if layer.upsample > 1:
        return _run_transposed(layer, x)
    before, after = layer.pad
    n, channels, h, w = x.shape
    if layer.kernel_size == 1 and layer.stride == 1 and before == after == 0:  # a plain matrix product, no copy
        acc = matmul(layer.weight_matrix, x.reshape(n, channels, h * w))
        acc += layer.bias_column
        return _rescale(acc, layer).reshape(n, -1, h, w)
    if layer.stride == 1:
        return _correlate(x, layer.tap_matrices, layer, (before, after, before, after))
    k, s = layer.kernel_size, layer.stride
    padded = _pad(x, (before, after, before, after))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (k, k), axis=(2, 3))[:, :, ::s, ::s]  # (N, C, oh, ow, k, k)
    out_h, out_w = windows.shape[2:4]
    cols = windows.transpose(0, 1, 4, 5, 2, 3).reshape(n, channels * k * k, out_h * out_w)
    acc = matmul(layer.weight_matrix, cols)
    acc += layer.bias_column
    return _rescale(acc, layer).reshape(n, -1, out_h, out_w)


def _pad(x: np.ndarray, pad: tuple[int, int, int, int]) -> np.ndarray:
    """Zero-pad (N, C, H, W) by (left, right, top, bottom); a negative amount crops."""
    left, right, top, bottom = pad
    x = x[:, :, max(0, -top) : x.shape[2] - max(0, -bottom), max(0, -left) : x.shape[3] - max(0, -right)]
    return np.pad(x, ((0, 0), (0, 0), (max(0, top), max(0, bottom)), (max(0, left), max(0, right))))


def _correlate(x: np.ndarray, taps: np.ndarray, layer: FixedPointLayer, pad: tuple[int, int, int, int]) -> np.ndarray:
    """Rescaled stride-1 correlation of ``x`` padded by (left, right, top, bottom) with (Ty, Tx, out, in) tap matrices.

    One matrix product per tap, accumulated, instead of an im2col copy Ty*Tx times
    the input's size. Each tap reads the flattened padded input at a constant
    offset, so its operand is a view, not a copy: outputs are computed on the padded
    width and the extra Tx - 1 columns of each row are dropped. A negative padding crops.
    """
    left, right, top, bottom = pad
    taps_y, taps_x, out_channels, _ = taps.shape
    padded = _pad(x, (left, right, top, bottom + 1))  # one spare row keeps the last taps' views in bounds
    n, channels, h, w = padded.shape
    out_h, out_w = h - 1 - taps_y + 1, w - taps_x + 1
    flat = padded.reshape(n, channels, h * w)
    span = out_h * w
    acc = np.empty((n, out_channels, span))
    for i in range(n):
        acc[i] = layer.bias_column
        for dy in range(taps_y):
            for dx in range(taps_x):
                offset = dy * w + dx
                add_product(acc[i], taps[dy, dx], flat[i, :, offset : offset + span])
    return _rescale(acc, layer).reshape(n, out_channels, out_h, w)[..., :out_w]


def _run_transposed(layer: FixedPointLayer, x: np.ndarray) -> np.ndarray:
    """A stride-s transposed convolution, phase by phase, without multiplying inserted zeros.

    The layer is stored as a convolution of the zero-upsampled input. Output rows
    ``s*i + p`` only ever meet kernel rows ``d0, d0 + s, ...`` (``d0`` fixed by the
    phase ``p``) on real input, so each of the s*s output phases is a small
    stride-1 convolution of ``x`` itself with that sub-kernel: s*s times less work.
    """
    s, k = layer.upsample, layer.kernel_size
    n, _, h, w = x.shape
    before, after = layer.pad
    out_h, out_w = (h - 1) * s + 1 + before + after - k + 1, (w - 1) * s + 1 + before + after - k + 1
    out = np.empty((n, layer.weight.shape[0], out_h, out_w))
    for phase_y in range(s):
        first_y, offset_y, count_y = _phase(phase_y, s, before, out_h)
        for phase_x in range(s):
            first_x, offset_x, count_x = _phase(phase_x, s, before, out_w)
            taps = layer.phase_weights[first_y, first_x]  # (Ty, Tx, out, in)
            taps_y, taps_x = taps.shape[:2]
            # The window of x this phase reads: rows offset_y .. offset_y + count_y + taps_y - 2.
            pad = (-offset_x, offset_x + count_x + taps_x - 1 - w, -offset_y, offset_y + count_y + taps_y - 1 - h)
            out[:, :, phase_y::s, phase_x::s] = _correlate(x, taps, layer, pad)
    return out


def _phase(phase: int, stride: int, before: int, size: int) -> tuple[int, int, int]:
    """(first kernel tap, input offset, number of outputs) of one output phase along one axis."""
    first = (before - phase) % stride
    offset = (phase + first - before) // stride
    count = len(range(phase, size, stride))
    return first, offset, count


def run_layer_at(layer: FixedPointLayer, x: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """:func:`run_layer` at the output positions where ``positions`` (H, W) is true only: (N, out, K).

    Gathers only the kernel taps whose weights are not all zero (the masked taps of
    a context model), at those positions only, instead of a full im2col. The
    checkerboard decoder needs the context at half the positions, from half the
    taps: a quarter of the work, and a tenth of the memory traffic.
    """
    if layer.upsample != 1 or layer.stride != 1:
        raise ValueError("run_layer_at supports stride-1 convolutions only")
    before, after = layer.pad
    padded = _pad(x, (before, after, before, after))
    n, channels, _, padded_w = padded.shape
    taps_y, taps_x, weight = layer.taps
    rows, cols = np.nonzero(positions)
    flat = (taps_y * padded_w + taps_x)[:, None] + (rows * padded_w + cols)[None, :]  # (T, K)
    gathered = padded.reshape(n, channels, -1)[:, :, flat]  # (N, C, T, K)
    acc = matmul(weight, gathered.reshape(n, -1, flat.shape[1]))
    acc += layer.bias_column
    return _rescale(acc, layer)


def _rescale(acc: np.ndarray, layer: FixedPointLayer) -> np.ndarray:
    """floor((acc + 2**(s-1)) / 2**s) per output channel, in place: round half up, exact for integers."""
    half, scale = layer.rescaling
    acc += half
    acc *= scale
    np.floor(acc, out=acc)
    return np.clip(acc, 0 if layer.relu else -ACT_LIMIT, ACT_LIMIT, out=acc)
