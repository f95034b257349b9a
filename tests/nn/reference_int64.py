"""A second, independent evaluation of fixed-point networks: numpy int64, tap by tap.

It shares no code with ``licodec.nn.integer_network`` beyond reading the stored
integers: integer arithmetic instead of float64, a loop over kernel taps instead
of im2col + BLAS, arithmetic shifts instead of float division.
"""

from __future__ import annotations

import numpy as np

from licodec.nn.integer_network import ACT_LIMIT, FixedPointNetwork


def run_network_int64(network: FixedPointNetwork, x: np.ndarray) -> np.ndarray:
    x = x.astype(np.int64)
    for layer in network.layers:
        if layer.upsample > 1:
            n, c, h, w = x.shape
            up = np.zeros((n, c, (h - 1) * layer.upsample + 1, (w - 1) * layer.upsample + 1), dtype=np.int64)
            up[:, :, :: layer.upsample, :: layer.upsample] = x
            x = up
        before, after = layer.pad
        x = np.pad(x, ((0, 0), (0, 0), (before, after), (before, after)))
        k, s = layer.kernel_size, layer.stride
        out_h = (x.shape[2] - k) // s + 1
        out_w = (x.shape[3] - k) // s + 1
        acc = np.zeros((x.shape[0], layer.weight.shape[0], out_h, out_w), dtype=np.int64)
        for dy in range(k):
            for dx in range(k):
                patch = x[:, :, dy : dy + s * (out_h - 1) + 1 : s, dx : dx + s * (out_w - 1) + 1 : s]
                acc += np.einsum("oc,nchw->nohw", layer.weight[:, :, dy, dx].astype(np.int64), patch)
        acc += layer.bias.reshape(1, -1, 1, 1)
        shift = layer.shift.astype(np.int64).reshape(1, -1, 1, 1)
        half = np.where(shift > 0, np.left_shift(1, np.maximum(shift - 1, 0)), 0)
        out = np.right_shift(acc + half, shift)
        if layer.relu:
            out = np.maximum(out, 0)
        x = np.clip(out, -ACT_LIMIT, ACT_LIMIT)
    return x
