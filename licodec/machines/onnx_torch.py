"""Run an ONNX graph as a differentiable PyTorch module: enough of the operator set for PP-OCR's networks.

onnx2torch would do this, but it needs torchvision (another PyTorch build); this interpreter
walks the graph's nodes in their (topological) order with torch operations, so gradients
flow from the machine's output back to its input image. Weights stay frozen (buffers).
Tests check it against onnxruntime on the same input.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from licodec.machines.extra import require


class OnnxModule(nn.Module):
    """The graph of an ONNX file; ``forward`` takes its inputs in order and returns its first output."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        onnx = require("onnx", "OCR in PyTorch")
        model = onnx.load(str(path))
        self.nodes = []
        constants = {}
        for node in model.graph.node:
            attributes = {a.name: _decoded(onnx.helper.get_attribute_value(a)) for a in node.attribute}
            if node.op_type == "Constant":
                constants[node.output[0]] = torch.from_numpy(np.array(onnx.numpy_helper.to_array(attributes["value"])))
                continue
            if node.op_type not in OPERATORS:
                raise NotImplementedError(f"ONNX operator {node.op_type} is not implemented here")
            self.nodes.append((node.op_type, list(node.input), list(node.output), attributes))
        for tensor in model.graph.initializer:
            constants[tensor.name] = torch.from_numpy(np.array(onnx.numpy_helper.to_array(tensor)))
        self.names = {}
        for index, (name, value) in enumerate(constants.items()):
            self.names[name] = f"c{index}"
            self.register_buffer(f"c{index}", value, persistent=False)
        self.inputs = [i.name for i in model.graph.input if i.name not in constants]
        self.output = model.graph.output[0].name
        self.metadata = {p.key: p.value for p in model.metadata_props}

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        values = {name: getattr(self, buffer) for name, buffer in self.names.items()}
        values.update(zip(self.inputs, inputs))
        for op, node_inputs, outputs, attributes in self.nodes:
            args = [values[name] if name else None for name in node_inputs]
            values[outputs[0]] = OPERATORS[op](args, attributes)
        return values[self.output]


def _decoded(value):
    return value.decode() if isinstance(value, bytes) else value


def _conv(args, a):
    x, w, b = (args + [None])[:3]
    top, left, bottom, right = a.get("pads", [0, 0, 0, 0])
    if (top, left) != (bottom, right):
        x, (top, left) = F.pad(x, (left, right, top, bottom)), (0, 0)
    return F.conv2d(x, w, b, a.get("strides", 1), (top, left), a.get("dilations", 1), a.get("group", 1))


def _conv_transpose(args, a):
    x, w, b = (args + [None])[:3]
    pads = a.get("pads", [0, 0, 0, 0])
    return F.conv_transpose2d(x, w, b, a.get("strides", 1), (pads[0], pads[1]), 0, a.get("group", 1), a.get("dilations", 1))


def _batch_norm(args, a):
    x, scale, bias, mean, var = args
    return F.batch_norm(x, mean, var, scale, bias, False, 0.0, a.get("epsilon", 1e-5))


def _resize(args, a):
    x, _roi, scales, sizes = (args + [None, None])[:4]
    if a.get("mode", "nearest") != "nearest" or a.get("coordinate_transformation_mode") != "asymmetric":
        raise NotImplementedError(f"Resize {a}")
    if sizes is not None and sizes.numel():
        return F.interpolate(x, size=[int(s) for s in sizes[2:]], mode="nearest")
    return F.interpolate(x, scale_factor=[float(s) for s in scales[2:]], mode="nearest")


def _slice(args, a):
    x, starts, ends, axes, steps = (args + [None, None])[:5]
    axes = range(len(starts)) if axes is None else axes.tolist()
    steps = [1] * len(starts) if steps is None else steps.tolist()
    index = [slice(None)] * x.dim()
    for axis, start, end, step in zip(axes, starts.tolist(), ends.tolist(), steps):
        size = x.shape[axis]
        index[axis] = slice(max(-size, min(start, size)), max(-size - 1, min(end, size)), step)
    return x[tuple(index)]


def _reshape(args, a):
    x, shape = args
    shape = [x.shape[i] if s == 0 else int(s) for i, s in enumerate(shape.tolist())]
    return x.reshape(shape)


def _squeeze(args, a):
    x = args[0]
    axes = a.get("axes") if len(args) < 2 or args[1] is None else args[1].tolist()
    for axis in sorted((ax % x.dim() for ax in axes), reverse=True):
        x = x.squeeze(axis)
    return x


_CASTS = {1: torch.float32, 6: torch.int32, 7: torch.int64, 9: torch.bool, 11: torch.float64}

OPERATORS: dict[str, Callable] = {
    "Add": lambda x, a: x[0] + x[1],
    "Sub": lambda x, a: x[0] - x[1],
    "Mul": lambda x, a: x[0] * x[1],
    "Div": lambda x, a: x[0] / x[1],
    "Pow": lambda x, a: torch.pow(x[0], x[1]),
    "Sqrt": lambda x, a: torch.sqrt(x[0]),
    "Relu": lambda x, a: F.relu(x[0]),
    "Sigmoid": lambda x, a: torch.sigmoid(x[0]),
    "HardSigmoid": lambda x, a: torch.clamp(a.get("alpha", 0.2) * x[0] + a.get("beta", 0.5), 0, 1),
    "Clip": lambda x, a: torch.clamp(x[0], *(None if v is None else float(v) for v in (x + [None, None])[1:3])),
    "Softmax": lambda x, a: torch.softmax(x[0], a.get("axis", -1)),
    "MatMul": lambda x, a: torch.matmul(x[0], x[1]),
    "Transpose": lambda x, a: x[0].permute(a["perm"]),
    "Concat": lambda x, a: torch.cat(x, a["axis"]),
    "ReduceMean": lambda x, a: x[0].mean(dim=a["axes"], keepdim=bool(a.get("keepdims", 1))),
    "GlobalAveragePool": lambda x, a: x[0].mean(dim=(2, 3), keepdim=True),
    "AveragePool": lambda x, a: F.avg_pool2d(x[0], a["kernel_shape"], a.get("strides"), a.get("pads", [0, 0])[:2], bool(a.get("ceil_mode", 0)), bool(a.get("count_include_pad", 0))),
    "Shape": lambda x, a: torch.tensor(x[0].shape, dtype=torch.int64, device=x[0].device),
    "Cast": lambda x, a: x[0].to(_CASTS[a["to"]]),
    "Conv": _conv,
    "ConvTranspose": _conv_transpose,
    "BatchNormalization": _batch_norm,
    "Resize": _resize,
    "Slice": _slice,
    "Reshape": _reshape,
    "Squeeze": _squeeze,
}  # fmt: skip
