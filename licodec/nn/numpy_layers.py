"""Inference of the synthesis transform's layers in numpy: the transposed convolution and inverse GDN.

So that a decoder needs no PyTorch (:mod:`licodec.coding.decoder`). Activations are
channels-last (H, W, C) float32 and every layer is a matrix product that BLAS runs: the
products sum in another order than PyTorch's convolutions, so outputs agree with
:class:`licodec.nn.layers.SubpixelTransposedConv2d` and :class:`licodec.nn.gdn.GDN` to float
rounding (a decoded pixel may differ by 1 in a vanishing fraction; ``tests/test_decoder.py``
measures it). The probability path never runs here: it is exact integers
(:mod:`licodec.nn.integer_network`).

Pixels do not depend on the number of threads: a multi-threaded BLAS splits one product
differently for 1 and 2 threads (a Kodak decode differed in one value of 1.2 million), so
inside :func:`same_on_any_thread_count` every product runs single-threaded on a piece of fixed
size, and the pieces are spread over worker threads (numpy releases the GIL in them).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import cache

import numpy as np
from threadpoolctl import threadpool_limits

STRIPE_PIXELS = 1024
"""Input pixels per matrix product: a stripe's im2col copy (9 C floats a pixel) stays in cache, and the stripes of
even the smallest layer keep every core busy. The synthesis of a Kodak image took 0.207 s with 1,024, 0.221 s with
512 or 2,048, 0.228 s with 4,096 and 0.282 s with 8,192 (AMD EPYC with AVX2, 2 cores). Fixed, not tuned per
machine: the size sets the order of the sums, so the pixels."""

FEW_OUTPUTS = 32
"""A layer with at most this many sub-pixel outputs (the last, 4 x 3) multiplies per kernel tap on views instead of
copying an im2col: its products are too thin to hide the copy. Measured on a Kodak-sized decode (AMD EPYC, AVX2, 2
threads): the last layer 0.036 s instead of 0.073 s; the wide layers were 20-50% slower per tap."""

NON_NEGATIVE_PEDESTAL = 2.0**-36
"""GDN's reparametrisation (:class:`licodec.nn.gdn.GDN`): a stored value v stands for max(v, bound)^2 - pedestal."""


@contextlib.contextmanager
def same_on_any_thread_count() -> Iterator[None]:
    """BLAS single-threaded inside: the layers parallelise over pieces of fixed size themselves."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@cache
def _workers() -> ThreadPoolExecutor | None:
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return ThreadPoolExecutor(count, thread_name_prefix="licodec") if count > 1 else None


def in_parallel(work: Callable[[int], None], count: int) -> None:
    """``work(i)`` for i in range(count), on the worker threads (each i a piece of fixed size: see the module)."""
    workers = _workers()
    if workers is None or count == 1:
        for i in range(count):
            work(i)
    else:
        list(workers.map(work, range(count)))


_scratch = threading.local()


def scratch(shape: tuple[int, ...]) -> np.ndarray:
    """A float32 buffer of ``shape`` kept per thread: an im2col stripe is tens of megabytes, allocated once."""
    buffers = _scratch.__dict__.setdefault("buffers", {})
    if shape not in buffers:
        buffers[shape] = np.empty(shape, np.float32)
    return buffers[shape]


def subpixel_taps(weight: np.ndarray, stride: int = 2) -> np.ndarray:
    """A transposed convolution's kernel (in, out, k, k), padding k // 2, as the stride-1 kernel of its sub-pixel form:
    (2r + 1, 2r + 1, in, stride, stride, out), zero where a phase's output meets no kernel tap.

    Output pixel ``s m + p`` (per axis) sums input pixels ``m + d``, ``|d| <= r``, through kernel tap ``p + pad - s d``.
    """
    in_channels, out_channels, k, _ = weight.shape
    pad = k // 2
    reach = (pad + stride - 1) // stride
    taps = np.zeros((2 * reach + 1, 2 * reach + 1, in_channels, stride, stride, out_channels), weight.dtype)
    for py in range(stride):
        for dy in range(-reach, reach + 1):
            ky = py + pad - stride * dy
            for px in range(stride):
                for dx in range(-reach, reach + 1):
                    kx = px + pad - stride * dx
                    if 0 <= ky < k and 0 <= kx < k:
                        taps[dy + reach, dx + reach, :, py, px] = weight[:, :, ky, kx]
    return taps


class TransposedConv:
    """A stride-2 transposed convolution with a 5x5 (any odd) kernel, as :func:`licodec.nn.layers.deconv` builds it.

    Run in its sub-pixel form (:func:`subpixel_taps`): one stride-1 3x3 correlation with
    4 outputs per channel (one per phase), then a pixel shuffle.
    """

    def __init__(self, weight: np.ndarray, bias: np.ndarray, stride: int = 2) -> None:
        taps = subpixel_taps(np.asarray(weight, np.float32), stride)
        self.stride, self.reach, self.out_channels = stride, taps.shape[0] // 2, taps.shape[-1]
        self.matrix = np.ascontiguousarray(taps.reshape(-1, stride * stride * self.out_channels))
        self.bias = np.tile(np.asarray(bias, np.float32), stride * stride)  # phase-major, as the matrix's columns

    def __call__(self, x: np.ndarray, bias_delta: np.ndarray | None = None, skip_zero_channels: bool = False) -> np.ndarray:
        """(H, W, C) -> (sH, sW, out); ``bias_delta`` (out,) is added to the bias (decoder updates).
        ``skip_zero_channels``: leave out the input channels that are zero throughout (a masked channel of y)."""
        h, w, c = x.shape
        s, out_channels = self.stride, self.out_channels
        bias = self.bias if bias_delta is None else self.bias + np.tile(bias_delta.astype(np.float32), s * s)
        matrix = self.matrix
        if skip_zero_channels and 0 < (live := np.any(x != 0, axis=(0, 1))).sum() < c:
            x = x[..., live]
            matrix = matrix.reshape(-1, c, matrix.shape[1])[:, live].reshape(-1, matrix.shape[1])
        padded = np.pad(x, ((self.reach, self.reach + 1), (self.reach, self.reach), (0, 0)))  # a spare row for _by_tap
        by = self._by_tap if matrix.shape[1] <= FEW_OUTPUTS else self._by_stripe
        return by(padded, h, w, bias, matrix).reshape(h, s, w, s, out_channels).reshape(s * h, s * w, out_channels)

    def _by_stripe(self, padded: np.ndarray, h: int, w: int, bias: np.ndarray, matrix: np.ndarray) -> np.ndarray:
        """(h, s, w, s, out): im2col of a stripe of rows at a time, one matrix product each."""
        taps, c = 2 * self.reach + 1, padded.shape[2]
        s, out_channels = self.stride, self.out_channels
        out = np.empty((h, s, w, s, out_channels), np.float32)
        rows = max(1, STRIPE_PIXELS // w)

        def stripe(i: int) -> None:
            top = i * rows
            n = min(rows, h - top)
            columns = scratch((rows, w, taps * taps, c))[:n]
            for dy in range(taps):
                for dx in range(taps):
                    columns[:, :, dy * taps + dx] = padded[top + dy : top + dy + n, dx : dx + w]
            result = columns.reshape(n * w, -1) @ matrix
            result += bias
            out[top : top + n] = result.reshape(n, w, s, s, out_channels).transpose(0, 2, 1, 3, 4)

        in_parallel(stripe, -(-h // rows))
        return out

    def _by_tap(self, padded: np.ndarray, h: int, w: int, bias: np.ndarray, matrix: np.ndarray) -> np.ndarray:
        """(h, s, w, s, out): one matrix product per kernel tap on a view of the flattened padded input, no copy;
        outputs are computed on the padded width and the extra columns dropped."""
        taps, c = 2 * self.reach + 1, padded.shape[2]
        s, out_channels = self.stride, self.out_channels
        padded_w = padded.shape[1]
        flat = padded.reshape(-1, c)
        matrices = matrix.reshape(taps, taps, c, -1)
        acc = np.empty((h * padded_w, matrices.shape[-1]), np.float32)
        rows = max(1, STRIPE_PIXELS // padded_w)

        def stripe(i: int) -> None:
            first, last = i * rows * padded_w, min(h, (i + 1) * rows) * padded_w
            part = acc[first:last]
            part[:] = bias
            product = scratch((rows * padded_w, matrices.shape[-1]))[: last - first]
            for dy in range(taps):
                for dx in range(taps):
                    offset = dy * padded_w + dx
                    np.matmul(flat[first + offset : last + offset], matrices[dy, dx], out=product)
                    part += product

        in_parallel(stripe, -(-h // rows))
        return acc.reshape(h, padded_w, s, s, out_channels)[:, :w].transpose(0, 2, 1, 3, 4)


class InverseGDN:
    """``x * sqrt(beta + gamma x^2)`` per pixel, from GDN's stored (reparametrised) beta and gamma."""

    BLOCK_PIXELS = 4096
    """Pixels per block: the block's temporaries stay in cache."""

    def __init__(self, beta: np.ndarray, gamma: np.ndarray, beta_min: float = 1e-6) -> None:
        self.beta = _non_negative(beta, beta_min)
        self.gamma_t = np.ascontiguousarray(_non_negative(gamma, 0.0).T)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        h, w, c = x.shape
        pixels = x.reshape(-1, c)
        out = np.empty_like(pixels)

        def block(i: int) -> None:
            rows = pixels[i * self.BLOCK_PIXELS : (i + 1) * self.BLOCK_PIXELS]
            norm = np.square(rows) @ self.gamma_t
            norm += self.beta
            np.sqrt(norm, out=norm)
            np.multiply(norm, rows, out=out[i * self.BLOCK_PIXELS : (i + 1) * self.BLOCK_PIXELS])

        in_parallel(block, -(-pixels.shape[0] // self.BLOCK_PIXELS))
        return out.reshape(h, w, c)


def _non_negative(stored: np.ndarray, minimum: float) -> np.ndarray:
    bound = (minimum + NON_NEGATIVE_PEDESTAL) ** 0.5
    value = np.maximum(np.asarray(stored, np.float32), np.float32(bound))
    return (value * value - np.float32(NON_NEGATIVE_PEDESTAL)).astype(np.float32)
