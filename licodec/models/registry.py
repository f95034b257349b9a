"""The model registry: architectures by stable name, and the trained models shipped with licodec.

Names are stored in every .lic file, so renaming one is a format change.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import nn

from licodec.entropy.coding_tables import CodingTables
from licodec.errors import UnknownModelError
from licodec.models.base import LearnedCodec
from licodec.models.catalog import weights_path
from licodec.models.config import CodecConfig
from licodec.models.context import AsymmetricCheckerboard, AutoregressiveContext, CheckerboardContext
from licodec.models.factorized import FactorizedPrior
from licodec.models.hyperprior import MeanScaleHyperprior, ScaleHyperprior
from licodec.models.mixture import MixtureCheckerboard
from licodec.nn.fixed_point import load_into_float
from licodec.storage import foreign_file, load_arrays, pack_12bit, save_arrays, unpack_12bit, weights_hash

ARCHITECTURES: dict[str, type[LearnedCodec]] = {
    "bmshj2018-factorized": FactorizedPrior,
    "bmshj2018-hyperprior": ScaleHyperprior,
    "mbt2018-mean": MeanScaleHyperprior,
    "mbt2018": AutoregressiveContext,
    "he2021-checkerboard": CheckerboardContext,
    "fu2023-asymmetric": AsymmetricCheckerboard,
    "fu2023-gllmm": MixtureCheckerboard,
}


def create_model(architecture: str, config: CodecConfig) -> LearnedCodec:
    """An untrained model (random weights, no coding tables): for training and tests."""
    try:
        cls = ARCHITECTURES[architecture]
    except KeyError:
        raise UnknownModelError(f"unknown architecture {architecture!r}; known: {', '.join(ARCHITECTURES)}") from None
    return cls(config)


def architecture_name(model: LearnedCodec) -> str:
    return next(name for name, cls in ARCHITECTURES.items() if type(model) is cls)


def build_coding_tables(model: LearnedCodec) -> CodingTables:
    """Freeze ``model`` for coding: integer tables and networks, computed once in float64 on the CPU."""
    model.eval()
    with torch.no_grad():
        model.tables = model.build_tables()
    return model.tables


def save_weights(model: LearnedCodec, path: Path, name: str, half_precision: bool = True, extra: dict | None = None) -> str:
    """Write float weights (fp16 by default) plus the integer coding tables to one safetensors file.

    The networks on the probability path are stored once, as the integers the coder runs
    (:func:`load_weights` rebuilds their float layers from them). Returns the weights
    hash (hex) that .lic files written with it will carry.
    """
    if model.tables is None:
        build_coding_tables(model)
    compiled = tuple(f"{name}." for name in model.tables.networks)
    arrays: dict[str, np.ndarray] = {}
    for key, value in model.state_dict().items():
        if key.startswith(compiled):
            continue
        value = value.detach().cpu()
        if half_precision and key.startswith(ENCODER_ONLY) and value.dim() == 4:
            arrays.update(_encoder_weight_arrays(key, value))
            continue
        arrays[f"float.{key}"] = (value.half() if half_precision else value.float()).numpy()
    arrays.update(model.tables.to_arrays())
    metadata = {
        "name": name,
        "architecture": architecture_name(model),
        "config": model.config.to_json(),
        "extra": json.dumps(extra or {}, sort_keys=True),
    }
    return save_arrays(path, arrays, metadata)


def load_weights(path: Path) -> tuple[LearnedCodec, dict]:
    """Load a model saved by :func:`save_weights`, with its stored coding tables (never rebuilt).

    A file that is missing or was not written by :func:`save_weights` is a :class:`LicodecError`.
    """
    arrays, metadata = load_arrays(path, "weights")
    with foreign_file(path, "weights"):
        model = create_model(metadata["architecture"], CodecConfig.from_json(metadata["config"]))
        state = {k[len("float.") :]: torch.from_numpy(v.astype(np.float32)) for k, v in arrays.items() if k.startswith("float.")}
        state.update(_encoder_weights(arrays, {k: v.shape for k, v in model.state_dict().items()}))
        model.tables = CodingTables.from_arrays({k: v for k, v in arrays.items() if not k.startswith(("float.", "int12"))})
        _load_float_state(model, state)
    model.eval()
    return model, metadata


ENCODER_ONLY = ("g_a.", "h_a.")
"""Networks only the encoder runs: their convolution kernels are stored as 12-bit integers per output channel, a
quarter less disk. The decoder never runs them; the stored form as a whole costs +0.031% PSNR BD-rate against float32
(``benchmarks/half_precision.py``, docs/results.md)."""

ENCODER_WEIGHT_STEPS = 2047


def _encoder_weight_arrays(key: str, weight: torch.Tensor) -> dict[str, np.ndarray]:
    """``int12.KEY`` (packed) and ``int12_step.KEY`` (float32 per output channel): weight = integer * step."""
    flat = weight.double().reshape(weight.shape[0], -1).numpy()
    step = np.abs(flat).max(axis=1) / ENCODER_WEIGHT_STEPS
    step[step == 0] = 1.0
    step = step.astype(np.float32)
    integers = np.round(flat / step.astype(np.float64)[:, None])
    return {f"int12.{key}": pack_12bit(integers), f"int12_step.{key}": step}


def _encoder_weights(arrays: dict[str, np.ndarray], shapes: dict[str, torch.Size]) -> dict[str, torch.Tensor]:
    """The float kernels :func:`_encoder_weight_arrays` stored, shaped as ``shapes`` (the model's state) says."""
    weights = {}
    for name, packed in arrays.items():
        if name.startswith("int12."):
            key = name[len("int12.") :]
            shape = shapes[key]
            integers = unpack_12bit(packed, int(np.prod(shape))).reshape(shape[0], -1)
            step = np.asarray(arrays[f"int12_step.{key}"], dtype=np.float64)[:, None]
            weights[key] = torch.from_numpy((integers * step).astype(np.float32)).reshape(shape)
    return weights


def _load_float_state(model: LearnedCodec, state: dict[str, torch.Tensor]) -> None:
    """Load the stored float weights; the layers of integer networks whose floats are not stored come from the integers
    (licodec 0.5 and before stored both)."""
    rebuilt = [name for name in model.tables.networks if not any(k.startswith(f"{name}.") for k in state)]
    for name in rebuilt:
        module = getattr(model, name)
        load_into_float(model.tables.network(name), module if isinstance(module, nn.Sequential) else nn.Sequential(module))
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith(tuple(f"{name}." for name in rebuilt))]
    if missing or unexpected:
        raise KeyError(f"missing weights {missing[:3]}, unexpected {unexpected[:3]}")


def load_model(name: str | None = None) -> LearnedCodec:
    """A trained model ready to code: a shipped one by registry name (default: the default model),
    or any weights file :func:`save_weights` wrote (``licodec train``'s export, or retired shipped
    weights kept to read old files), by a path ending in ``.safetensors``."""
    path = weights_path(name)
    return _ready_model(path, path.stat().st_mtime_ns)


@lru_cache(maxsize=8)
def _ready_model(path: Path, modified_ns: int) -> LearnedCodec:
    """Load once per file version (``modified_ns`` keys the cache, so a rewritten file is reloaded)."""
    model, metadata = load_weights(path)
    model.to(memory_format=torch.channels_last)  # matches the inference layout of LearnedCodec._transform
    model.identify(metadata.get("name") or path.stem, weights_hash(path))
    return model
