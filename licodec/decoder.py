"""Decoding with a weights file and numpy alone: what ``licodec decompress`` runs, without importing PyTorch.

A :class:`Decoder` reads the parts of a weights file the decoder needs (the integer coding
state, the inverse gains and the synthesis transform's floats), decodes a tile's latent with
its architecture's :mod:`~licodec.coding.procedures` (exact integers, the same code the
encoder runs) and synthesises pixels with :mod:`licodec.nn.numpy_layers`. It offers the
tile-decoding methods :class:`licodec.models.LearnedCodec` offers, so the API decodes with
either; files decode to the same latent, and to pixels within float rounding.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from licodec.bitstream import FORMAT_VERSION
from licodec.coding.procedures import PROCEDURES, LatentProcedure
from licodec.entropy.coder import SymbolDecoder
from licodec.entropy.coding_tables import CodingTables
from licodec.errors import LicodecError
from licodec.models.catalog import weights_path
from licodec.models.config import CodecConfig
from licodec.nn.numpy_layers import InverseGDN, TransposedConv, same_on_any_thread_count
from licodec.storage import foreign_file, load_arrays, weights_hash


class NeedsTorchError(LicodecError):
    """The file's architecture has layers only the PyTorch models run."""


class Synthesis:
    """g_s as :func:`licodec.models.transforms.synthesis_transform` builds it (transposed convolutions and inverse
    GDNs, alternating), from a weights file's ``float.g_s.*`` arrays, with the inverse gains of the rate ladder."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.layers: list[tuple[str, TransposedConv | InverseGDN]] = []
        read: set[str] = set()
        while True:
            p = f"float.g_s.{len(self.layers)}"
            if {f"{p}.beta", f"{p}.gamma"} <= arrays.keys():
                layer, names = InverseGDN(arrays[f"{p}.beta"], arrays[f"{p}.gamma"]), {f"{p}.beta", f"{p}.gamma"}
            elif {f"{p}.weight", f"{p}.bias"} <= arrays.keys() and arrays[f"{p}.weight"].ndim == 4:
                layer, names = TransposedConv(arrays[f"{p}.weight"], arrays[f"{p}.bias"]), {f"{p}.weight", f"{p}.bias"}
            else:
                break
            self.layers.append((str(len(self.layers)), layer))
            read |= names
        if not self.layers or any(key.startswith("float.g_s.") and key not in read for key in arrays):
            raise NeedsTorchError("its synthesis transform has layers the numpy decoder does not run")
        self.log_inverse_gain = np.asarray(arrays["float.gains.log_inverse_gain"], dtype=np.float32)  # (rungs, M)

    def bias_sizes(self) -> dict[str, int]:
        """The biases decoder updates may touch, as :meth:`licodec.models.LearnedCodec.bias_sizes` names them."""
        return {f"{name}.bias": layer.out_channels for name, layer in self.layers if isinstance(layer, TransposedConv)}

    def inverse_gain(self, rate_position) -> np.ndarray:
        """(M, 1, 1) for a position, or (M, h, w) for a rate map (1, 1, h, w): the gains interpolated geometrically
        between rungs, as :class:`licodec.models.transforms.GainUnits` does."""
        levels = self.log_inverse_gain.shape[0]
        position = np.clip(np.asarray(rate_position, dtype=np.float32), 0, levels - 1)
        position = position.reshape(1, 1) if position.ndim == 0 else position[0, 0]
        low = np.minimum(np.floor(position).astype(np.int64), levels - 1)
        high = np.minimum(low + 1, levels - 1)
        frac = position - low.astype(np.float32)
        mixed = (1 - frac)[None] * self.log_inverse_gain[low].transpose(2, 0, 1) + frac[None] * self.log_inverse_gain[high].transpose(2, 0, 1)
        return np.exp(mixed)

    def __call__(self, y_hat: np.ndarray, rate_position, bias_updates: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """x_hat (1, 3, H, W) in [0, 1] from y_hat (1, M, h, w)."""
        x = np.ascontiguousarray((y_hat[0] * self.inverse_gain(rate_position)).transpose(1, 2, 0))  # channels-last
        with same_on_any_thread_count():
            for name, layer in self.layers:
                if isinstance(layer, TransposedConv):
                    x = layer(x, None if bias_updates is None else bias_updates.get(f"{name}.bias"), skip_zero_channels=name == "0")
                else:
                    x = layer(x)
        return np.clip(x, 0, 1).transpose(2, 0, 1)[None]


def _decoder_array(name: str) -> bool:
    """The arrays of a weights file a decoder reads: not the encoder's transforms."""
    return not name.startswith(("int12", "float.g_a.", "float.h_a."))


class Decoder:
    """The decoding half of a weights file, in numpy (see the module's docstring)."""

    def __init__(self, path: Path) -> None:
        arrays, metadata = load_arrays(path, "weights", keep=_decoder_array)
        with foreign_file(path, "weights"):
            architecture = metadata["architecture"]
            self.config = CodecConfig.from_json(metadata["config"])
            procedure = PROCEDURES.get(architecture)
            if procedure is None:
                raise NeedsTorchError(f"the numpy decoder does not know architecture {architecture!r}")
            tables = CodingTables.from_arrays({k: v for k, v in arrays.items() if not k.startswith("float.")})
            self.procedure: LatentProcedure = procedure(tables, self.config.latent_channels)
            self.synthesis = Synthesis(arrays)
        self.name = metadata.get("name") or path.stem
        self.weights_hash = weights_hash(path)

    @property
    def pad_multiple(self) -> int:
        return self.procedure.pad_multiple

    def rate_position(self, quality: float) -> float:
        return self.config.rate_position(quality)

    def bias_sizes(self) -> dict[str, int]:
        return self.synthesis.bias_sizes()

    def decode_symbols(self, streams: list[bytes], height: int, width: int, format_version: int = FORMAT_VERSION) -> np.ndarray:
        """The decoded latent y_hat (1, M, H/16, W/16) of a padded tile, before the synthesis transform."""
        return self.procedure.decode(SymbolDecoder(streams), height // 16, width // 16, format_version)

    def decompress(
        self,
        streams: list[bytes],
        rate_position,
        height: int,
        width: int,
        bias_updates: dict[str, np.ndarray] | None = None,
        format_version: int = FORMAT_VERSION,
    ) -> np.ndarray:
        """x_hat (1, 3, height, width) in [0, 1] of a padded tile, as :meth:`licodec.models.LearnedCodec.decompress`."""
        return self.synthesis(self.decode_symbols(streams, height, width, format_version), rate_position, bias_updates)


def load_decoder(name: str | None = None) -> Decoder:
    """The numpy decoder of a model name or weights file (:func:`licodec.models.catalog.weights_path`), loaded once
    per file version. :class:`NeedsTorchError` if its architecture has layers only PyTorch runs."""
    path = weights_path(name)
    return _loaded(path, path.stat().st_mtime_ns)


@lru_cache(maxsize=8)
def _loaded(path: Path, modified_ns: int) -> Decoder:
    return Decoder(path)
