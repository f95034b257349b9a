"""How each architecture codes its latents once its probability path is integers: one procedure per family, numpy only.

A procedure holds a model's :class:`~licodec.entropy.coding_tables.CodingTables` (integer
tables and networks) and writes or reads y (and z) in the order the format fixes. The
PyTorch models (:mod:`licodec.models`) run it after their analysis transform; a decoder
runs it with no PyTorch at all (:mod:`licodec.coding.decoder`). One implementation, so the
encoder and both decoders cannot drift apart.

Latents cross this boundary as numpy arrays: y as the encoder's float latent, z as
h_a's output (both (1, C, h, w)); decoding returns y_hat off the fixed-point grid (float32).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from licodec.coding.channel_mask import MASK_VERSION, active_channels, read_channel_mask, write_channel_mask
from licodec.entropy.coder import SymbolDecoder, SymbolEncoder
from licodec.entropy.coding_tables import (
    CodingTables,
    FactorizedLatentTables,
    GaussianLatentTables,
    context_input,
    quantize_to_symbols,
    symbols_to_fixed,
    to_float,
)
from licodec.entropy.latent_coding import Chunks, Classes, LatentCoder, encode_latent, read_mode
from licodec.entropy.mixture_coding import MixtureLatentTables
from licodec.nn.integer_network import run_layer, run_layer_at

NEIGHBOUR_CLASSES = 4
"""The checkerboard splits y's adaptive contexts (:mod:`licodec.entropy.latent_coding`) in 4: anchors, and
non-anchors by how many of their 4 neighbouring anchors in the same channel are nonzero (0, 1, 2 or more).
Part of the format."""


def checkerboard_anchor_mask(height: int, width: int) -> np.ndarray:
    """Boolean (H, W) mask of the anchor positions: those with (row + col) odd.

    He et al. 2021 code the anchors first with the hyperprior alone, then the
    non-anchors conditioned on them. Which half is the anchor is part of the format.
    """
    return (np.arange(height)[:, None] + np.arange(width)[None, :]) % 2 == 1


def neighbour_classes(anchor_symbols: np.ndarray, anchor: np.ndarray) -> np.ndarray:
    """Class (1, 2 or 3) of each non-anchor position, (1, M, K), from the anchors' symbols (1, M, K').

    Flat regions code runs of zeros; a non-anchor next to zeros is most likely zero too.
    Richer classes (nonzero anchors over all channels, or anchors in two channel halves)
    did not pay (``benchmarks/context_classes.py``; docs/results.md): the table index
    already says how busy a region is.
    """
    nonzero = np.zeros((anchor_symbols.shape[1],) + anchor.shape, dtype=np.int64)
    nonzero[:, anchor] = np.asarray(anchor_symbols)[0] != 0
    padded = np.pad(nonzero, ((0, 0), (1, 1), (1, 1)))
    count = padded[:, :-2, 1:-1] + padded[:, 2:, 1:-1] + padded[:, 1:-1, :-2] + padded[:, 1:-1, 2:]
    return (1 + np.minimum(count[:, ~anchor], 2))[None]


class LatentProcedure:
    """Codes a tile's latents with ``tables``; subclasses are the architecture families."""

    pad_multiple = 64
    """A tile's sides are padded to this multiple: the total downsampling of the deepest latent."""

    can_mask_channels = False
    """Whether the architecture's y may carry a channel mask (:mod:`licodec.coding.channel_mask`)."""

    def __init__(self, tables: CodingTables, latent_channels: int, masks_channels: bool = False) -> None:
        """``masks_channels``: the encoder turns off the channels that round to zero (a model trained with the mask);
        decoding follows the file whatever it is."""
        if masks_channels and not self.can_mask_channels:
            raise ValueError(f"{type(self).__name__} codes every channel of y")
        self.tables = tables
        self.latent_channels = latent_channels
        self.masks_channels = masks_channels

    def encode(self, encoder: SymbolEncoder, y: np.ndarray, z: np.ndarray | None, local_models: bool) -> None:
        """Write y (and the side latent z, for the hyperpriors); ``local_models`` allows image-dependent entropy models."""
        raise NotImplementedError

    def decode(self, decoder: SymbolDecoder, height: int, width: int, format_version: int) -> np.ndarray:
        """y_hat (1, M, height, width), float32, read in the syntax of ``format_version``."""
        raise NotImplementedError


class FactorizedProcedure(LatentProcedure):
    """y alone, channel by channel around its medians (bmshj2018-factorized)."""

    pad_multiple = 16

    def _y_tables(self) -> FactorizedLatentTables:
        return self.tables.y

    def encode(self, encoder: SymbolEncoder, y: np.ndarray, z: np.ndarray | None, local_models: bool) -> None:
        self._y_tables().encode(y, encoder, local_models)

    def decode(self, decoder: SymbolDecoder, height: int, width: int, format_version: int) -> np.ndarray:
        return to_float(self._y_tables().decode((1, self.latent_channels, height, width), decoder, format_version))


class HyperpriorProcedure(LatentProcedure):
    """z first, around its medians; then y's channel mask (:mod:`licodec.coding.channel_mask`); then the active
    channels of y under Gaussians whose scales (and means) h_s computes from z_hat."""

    zero_mean = False  # the scale hyperprior codes y around 0, h_s giving scales only
    can_mask_channels = True  # from format version 3, y leads with a channel mask

    def _y_tables(self) -> GaussianLatentTables:
        return self.tables.y

    def _encode_z(self, encoder: SymbolEncoder, z: np.ndarray, local_models: bool) -> np.ndarray:
        """Code z; returns h_s(z_hat), the integer side parameters at y's resolution."""
        return self.tables.network("h_s")(self.tables.z.encode(z, encoder, local_models))

    def _decode_z(self, decoder: SymbolDecoder, height: int, width: int, format_version: int) -> np.ndarray:
        return self.tables.network("h_s")(self._decode_z_hat(decoder, height, width, format_version))

    def _decode_z_hat(self, decoder: SymbolDecoder, height: int, width: int, format_version: int) -> np.ndarray:
        shape = (1, self.tables.z.table.num_tables, height // 4, width // 4)
        return self.tables.z.decode(shape, decoder, format_version)

    def _write_mask(self, encoder: SymbolEncoder, y: np.ndarray) -> np.ndarray:
        """Write y's channel mask; returns it, (M,) bool. A model trained without the mask codes every channel:
        zeroing its small channels would cost quality (the prediction of y, not 0, is its best guess)."""
        active = active_channels(y) if self.masks_channels else np.ones(y.shape[1], dtype=bool)
        write_channel_mask(encoder, active)
        return active

    def _read_mask(self, decoder: SymbolDecoder, format_version: int) -> np.ndarray:
        """y's channel mask, (M,) bool; every channel of files older than the mask."""
        if format_version < MASK_VERSION:
            return np.ones(self.latent_channels, dtype=bool)
        return read_channel_mask(decoder, self.latent_channels)

    def _parameter_rows(self, active: np.ndarray) -> np.ndarray | None:
        """The outputs of a network emitting (scales[, means]) of every channel that the active channels need;
        None for all of them."""
        if active.all():
            return None
        rows = np.flatnonzero(active)
        return rows if self.zero_mean else np.concatenate([rows, rows + self.latent_channels])

    def _encode_y_chunks(self, encoder: SymbolEncoder, chunks: Chunks, local_models: bool, classes: Classes = None) -> None:
        """Code (symbols, table indexes) chunks of y in the cheapest coding mode (:mod:`licodec.entropy.latent_coding`)."""
        encode_latent(encoder, chunks, self._y_tables().table, local_models=local_models, classes=classes)

    def _y_coder(self, decoder: SymbolDecoder, format_version: int, channels: int, num_classes: int = 1) -> LatentCoder:
        """Reads the tile's coding mode; the returned coder decodes the chunks of y's ``channels`` active channels."""
        return read_mode(decoder, self._y_tables().table, channels, format_version=format_version, num_classes=num_classes)

    def _scales_means(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Split (scales, means) of the channels ``params`` (1, 2A or A, h, w) holds."""
        if self.zero_mean:
            return params, np.zeros_like(params)
        return np.split(params, 2, axis=1)

    def _side_parameters(self, z_hat: np.ndarray, active: np.ndarray) -> np.ndarray:
        """h_s(z_hat) for the active channels only: (scales, means) of y, integers."""
        return self.tables.network("h_s").with_outputs(self._parameter_rows(active))(z_hat)

    def encode(self, encoder: SymbolEncoder, y: np.ndarray, z: np.ndarray | None, local_models: bool) -> None:
        z_hat = self.tables.z.encode(z, encoder, local_models)
        active = self._write_mask(encoder, y)
        if active.any():
            scales, means = self._scales_means(self._side_parameters(z_hat, active))
            symbols, _ = quantize_to_symbols(y[:, active], means)
            self._encode_y_chunks(encoder, [(symbols, self._y_tables().scale_indexes(scales))], local_models)

    def decode(self, decoder: SymbolDecoder, height: int, width: int, format_version: int) -> np.ndarray:
        z_hat = self._decode_z_hat(decoder, height, width, format_version)
        active = self._read_mask(decoder, format_version)
        y_hat = np.zeros((1, self.latent_channels, height, width))
        if active.any():
            scales, means = self._scales_means(self._side_parameters(z_hat, active))
            symbols = self._y_coder(decoder, format_version, int(active.sum())).decode(decoder, self._y_tables().scale_indexes(scales))
            y_hat[:, active] = symbols_to_fixed(symbols, means)
        return to_float(y_hat)


class ScaleHyperpriorProcedure(HyperpriorProcedure):
    """bmshj2018-hyperprior: zero-mean Gaussians."""

    zero_mean = True


class CheckerboardProcedure(HyperpriorProcedure):
    """He et al. 2021: the anchors with the hyperprior alone, then the non-anchors also seeing the decoded anchors.

    ::

        z_hat -> h_s -> params --------------------> ep_anchor -> (scales, means) of anchors
                           \\                                        |
                            \\   y_hat(anchors) -> context (5x5) --+
                             +-----------------------------------> ep_nonanchor -> (scales, means) of the rest
    """

    def encode(self, encoder: SymbolEncoder, y: np.ndarray, z: np.ndarray | None, local_models: bool) -> None:
        y_tables = self._y_tables()
        params = self._encode_z(encoder, z, local_models)
        active = self._write_mask(encoder, y)
        if not active.any():
            return
        anchor = checkerboard_anchor_mask(*y.shape[-2:])
        y = y[:, active]
        y_hat = np.zeros(y.shape)
        chunks = []
        for half in (anchor, ~anchor):
            scales, means = self._half_parameters(params, y_hat, half, half is anchor, active)
            symbols, y_hat[..., half] = quantize_to_symbols(y[..., half], means)
            chunks.append((symbols, y_tables.scale_indexes(scales)))
        classes = (NEIGHBOUR_CLASSES, [None, neighbour_classes(chunks[0][0], anchor)])
        self._encode_y_chunks(encoder, chunks, local_models, classes)

    def decode(self, decoder: SymbolDecoder, height: int, width: int, format_version: int) -> np.ndarray:
        y_tables = self._y_tables()
        params = self._decode_z(decoder, height, width, format_version)
        active = self._read_mask(decoder, format_version)
        y_full = np.zeros((1, self.latent_channels, height, width))
        if not active.any():
            return to_float(y_full)
        anchor = checkerboard_anchor_mask(height, width)
        y_hat = np.zeros((1, int(active.sum()), height, width))  # the active channels
        y_coder = self._y_coder(decoder, format_version, y_hat.shape[1], NEIGHBOUR_CLASSES)
        classes = None  # the anchors are class 0
        for half in (anchor, ~anchor):
            scales, means = self._half_parameters(params, y_hat, half, half is anchor, active)
            symbols = y_coder.decode(decoder, y_tables.scale_indexes(scales), classes)
            y_hat[..., half] = symbols_to_fixed(symbols, means)
            if half is anchor:
                classes = neighbour_classes(symbols, anchor)
        y_full[:, active] = y_hat
        return to_float(y_full)

    def _half_parameters(
        self, params: np.ndarray, y_hat: np.ndarray, half: np.ndarray, is_anchor: bool, active: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Integer (scales, means), each (1, A, K), of the A active channels at the K positions of one half;
        ``y_hat`` holds the active channels decoded so far."""
        inputs = None if active.all() else active
        return self._scales_means(self._half_output(params, y_hat, half, is_anchor, self._parameter_rows(active), inputs))

    def _half_output(
        self,
        params: np.ndarray,
        y_hat: np.ndarray,
        half: np.ndarray,
        is_anchor: bool,
        rows: np.ndarray | None = None,
        inputs: np.ndarray | None = None,
    ) -> np.ndarray:
        """The integer entropy-parameter network's outputs ``rows`` (all for None), (1, C, K), at the K positions of
        one half.

        The anchors see the hyperprior only; the non-anchors also see the decoded
        anchors through the context convolution, evaluated at their positions only,
        reading y_hat's channels ``inputs`` (a mask of all of them; y_hat holds just those).
        """
        side = params[..., half][..., None]  # (1, 2M, K, 1): 1x1 networks run on the gathered positions
        if is_anchor:
            out = self.tables.network("ep_anchor").with_outputs(rows)(side)
        else:
            context = self.tables.network("context").layers[0]
            context = context if inputs is None else context.select(inputs=inputs)
            ctx = run_layer_at(context, context_input(y_hat), half)[..., None]
            out = self.tables.network("ep_nonanchor").with_outputs(rows)(np.concatenate([side, ctx], 1))
        return out[..., 0]


class MixtureCheckerboardProcedure(CheckerboardProcedure):
    """The checkerboard order with y under K-component mixtures (fu2023-gllmm): no coding modes, exact mixing
    (:mod:`licodec.entropy.mixture_coding`). The entropy-parameter networks emit scales, means and weight logits,
    ``K M`` channels each, component-major. No channel mask: every channel is coded."""

    can_mask_channels = False

    def _mixture_tables(self) -> MixtureLatentTables:
        tables = self.tables.y
        if not isinstance(tables, MixtureLatentTables):
            raise RuntimeError("a mixture model needs mixture coding tables")
        return tables

    def encode(self, encoder: SymbolEncoder, y: np.ndarray, z: np.ndarray | None, local_models: bool) -> None:
        tables = self._mixture_tables()
        params = self._encode_z(encoder, z, local_models)
        anchor = checkerboard_anchor_mask(*y.shape[-2:])
        y_hat = np.zeros(y.shape)
        for half in (anchor, ~anchor):
            mixture = self._half_mixture(params, y_hat, half, half is anchor)
            y_hat[..., half] = tables.encode(encoder, y[..., half].reshape(-1), *mixture).reshape(y_hat[..., half].shape)

    def decode(self, decoder: SymbolDecoder, height: int, width: int, format_version: int) -> np.ndarray:
        tables = self._mixture_tables()
        params = self._decode_z(decoder, height, width, format_version)
        anchor = checkerboard_anchor_mask(height, width)
        y_hat = np.zeros((1, self.latent_channels, height, width))
        for half in (anchor, ~anchor):
            mixture = self._half_mixture(params, y_hat, half, half is anchor)
            y_hat[..., half] = tables.decode(decoder, *mixture).reshape(y_hat[..., half].shape)
        return to_float(y_hat)

    def _half_mixture(self, params: np.ndarray, y_hat: np.ndarray, half: np.ndarray, is_anchor: bool) -> tuple[np.ndarray, ...]:
        """Integer (logits, means, scales), each (K, M * P), at the P positions of one half, in y[..., half]'s order."""
        k, m = len(self._mixture_tables().families), self.latent_channels
        out = self._half_output(params, y_hat, half, is_anchor)  # (1, 3KM, P)
        scales, means, logits = out.reshape(3, k, m, -1)
        return tuple(t.reshape(k, -1) for t in (logits, means, scales))


class AutoregressiveProcedure(HyperpriorProcedure):
    """Minnen et al. 2018 ("mbt2018"): a causal 5x5 context, one latent position at a time.

    Kept for comparison only: its decoder runs h*w sequential steps, which is what
    the checkerboard context was invented to avoid. No channel mask: every channel is coded.
    """

    can_mask_channels = False

    def _serial(self, params: np.ndarray, visit) -> np.ndarray:
        """Walk the latent positions in raster order; ``visit(i, j, scales, means)`` returns y_hat there."""
        context_layer = dataclasses.replace(self.tables.network("context").layers[0], pad=(0, 0))
        m = self.latent_channels
        _, _, h, w = params.shape
        padded = np.zeros((1, m, h + 4, w + 4))
        for i in range(h):
            for j in range(w):
                ctx = run_layer(context_layer, context_input(padded[:, :, i : i + 5, j : j + 5]))
                out = self.tables.network("entropy_parameters")(np.concatenate([params[:, :, i : i + 1, j : j + 1], ctx], 1))
                padded[:, :, i + 2, j + 2] = visit(i, j, out[:, :m], out[:, m:])
        return padded[:, :, 2:-2, 2:-2]

    def encode(self, encoder: SymbolEncoder, y: np.ndarray, z: np.ndarray | None, local_models: bool) -> None:
        y_tables = self._y_tables()
        params = self._encode_z(encoder, z, local_models)

        def visit(i, j, scales, means):
            symbols, y_hat = quantize_to_symbols(y[:, :, i : i + 1, j : j + 1], means)
            encoder.encode(symbols, y_tables.scale_indexes(scales), y_tables.table)
            return y_hat[:, :, 0, 0]

        self._serial(params, visit)

    def decode(self, decoder: SymbolDecoder, height: int, width: int, format_version: int) -> np.ndarray:
        y_tables = self._y_tables()
        params = self._decode_z(decoder, height, width, format_version)

        def visit(i, j, scales, means):
            symbols = decoder.decode(y_tables.scale_indexes(scales), y_tables.table)
            return symbols_to_fixed(symbols, means)[:, :, 0, 0]

        return to_float(self._serial(params, visit))


PROCEDURES: dict[str, type[LatentProcedure]] = {
    "bmshj2018-factorized": FactorizedProcedure,
    "bmshj2018-hyperprior": ScaleHyperpriorProcedure,
    "mbt2018-mean": HyperpriorProcedure,
    "mbt2018": AutoregressiveProcedure,
    "he2021-checkerboard": CheckerboardProcedure,
    "fu2023-asymmetric": CheckerboardProcedure,
    "fu2023-gllmm": MixtureCheckerboardProcedure,
}
"""The procedure of each registered architecture (:data:`licodec.models.ARCHITECTURES` names the same ones)."""
