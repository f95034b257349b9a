"""Mean-scale hyperprior with a spatial context: checkerboard (parallel) and serial autoregressive."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from torch import nn

from licodec.entropy.coder import SymbolDecoder, SymbolEncoder
from licodec.entropy.coding_tables import CodingTables, context_input, quantize_to_symbols, symbols_to_fixed, to_float
from licodec.entropy.quantize import round_ste
from licodec.models.config import CodecConfig
from licodec.models.hyperprior import HyperpriorCodec
from licodec.models.transforms import asymmetric_analysis, asymmetric_synthesis, entropy_parameters, hyper_synthesis
from licodec.nn import CheckerboardMaskedConv2d, MaskedConv2d, checkerboard_anchor_mask
from licodec.nn.fixed_point import run_layer, run_layer_at

NEIGHBOUR_CLASSES = 4
"""The checkerboard splits y's adaptive contexts (:mod:`licodec.entropy.latent_coding`) in 4: anchors, and
non-anchors by how many of their 4 neighbouring anchors in the same channel are nonzero (0, 1, 2 or more).
Part of the format."""


def neighbour_classes(anchor_symbols: np.ndarray, anchor: torch.Tensor) -> np.ndarray:
    """Class (1, 2 or 3) of each non-anchor position, (1, M, K), from the anchors' symbols (1, M, K').

    Flat regions code runs of zeros; a non-anchor next to zeros is most likely zero too.
    Richer classes (nonzero anchors over all channels, or anchors in two channel halves)
    did not pay (``benchmarks/context_classes.py``; docs/results.md): the table index
    already says how busy a region is.
    """
    mask = anchor.numpy()
    nonzero = np.zeros((anchor_symbols.shape[1],) + mask.shape, dtype=np.int64)
    nonzero[:, mask] = np.asarray(anchor_symbols)[0] != 0
    padded = np.pad(nonzero, ((0, 0), (1, 1), (1, 1)))
    count = padded[:, :-2, 1:-1] + padded[:, 2:, 1:-1] + padded[:, 1:-1, :-2] + padded[:, 1:-1, 2:]
    return (1 + np.minimum(count[:, ~mask], 2))[None]


class CheckerboardContext(HyperpriorCodec):
    """He et al. 2021, "Checkerboard context model for efficient learned image compression".

    ::

        z_hat -> h_s -> params --------------------> ep_anchor -> (scales, means) of anchors
                           \\                                        |
                            \\   y_hat(anchors) -> context (5x5) --+
                             +-----------------------------------> ep_nonanchor -> (scales, means) of the rest

    Two parallel passes instead of one per latent position; separate parameter
    networks for the two halves. Everything on the probability path runs in exact
    integers at coding time (:mod:`licodec.nn.fixed_point`).
    """

    def __init__(self, config: CodecConfig) -> None:
        super().__init__(config)
        m = config.latent_channels
        self.h_s = hyper_synthesis(config.hyper_channels, 2 * m, hidden=config.hyper_channels * 3 // 2)
        self.context = CheckerboardMaskedConv2d(m, 2 * m, 5, padding=2)
        self.ep_anchor = entropy_parameters(2 * m, 2 * m, 2 * m)
        self.ep_nonanchor = entropy_parameters(4 * m, 2 * m, 2 * m)

    def latent_parameters(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(scales, means) of every element of y, and z's likelihoods, as the training pass models them."""
        z_hat, z_likelihoods = self.z_density(self.h_a(y))
        params = self.h_s(z_hat)
        anchor = checkerboard_anchor_mask(*y.shape[-2:]).to(y.device)
        scales_a, means_a = self.ep_anchor(params).chunk(2, 1)
        y_hat_anchor = (round_ste(y - means_a) + means_a) * anchor
        ctx = self.context(y_hat_anchor)
        scales_n, means_n = self.ep_nonanchor(torch.cat([params, ctx], 1)).chunk(2, 1)
        return torch.where(anchor, scales_a, scales_n), torch.where(anchor, means_a, means_n), z_likelihoods

    def forward_latent(self, y: torch.Tensor, rate_position=None) -> dict:
        scales, means, z_likelihoods = self.latent_parameters(y)
        y_hat, y_likelihoods = self.gaussian(y, scales, means)
        x_hat = self.decode_latent(y_hat, rate_position)
        return {"x_hat": x_hat, "likelihoods": {"y": y_likelihoods, "z": z_likelihoods}}

    def latent_layout(self) -> dict[str, dict]:
        """Added channels of y are zero (g_a's last layer), predicted as always 0 at the smallest scale (the entropy
        parameters' outputs, scales then means), and read with zero weights everywhere (the default)."""
        if type(self) is not CheckerboardContext:  # subclasses add modules on y's channels
            return {}
        last = {net: f"{net}.{len(getattr(self, net)) - 1}" for net in ("g_a", "ep_anchor", "ep_nonanchor")}
        return {
            last["g_a"]: {"zero_added_outputs": True},
            "ep_nonanchor.0": {"in_groups": 2},  # the hyperprior's features, then the context's
            last["ep_anchor"]: {"out_groups": 2, "zero_added_outputs": True},
            last["ep_nonanchor"]: {"out_groups": 2, "zero_added_outputs": True},
        }

    def build_tables(self) -> CodingTables:
        context = nn.Sequential(self.context)
        return self._hyper_tables(h_s=self.h_s, context=context, ep_anchor=self.ep_anchor, ep_nonanchor=self.ep_nonanchor)

    def _encode(self, y: torch.Tensor, encoder: SymbolEncoder, local_models: bool) -> None:
        y_tables = self._y_tables()
        params = self._require_tables().network("h_s")(self._encode_z(y, encoder, local_models))
        anchor = checkerboard_anchor_mask(*y.shape[-2:])
        y_hat = torch.zeros_like(y, dtype=torch.float64)
        chunks = []
        for half in (anchor, ~anchor):
            scales, means = self._half_parameters(params, y_hat, half, half is anchor)
            symbols, y_hat_half = quantize_to_symbols(y[..., half], means)
            chunks.append((symbols.numpy(), y_tables.scale_indexes(scales)))
            y_hat[..., half] = y_hat_half
        classes = (NEIGHBOUR_CLASSES, [None, neighbour_classes(chunks[0][0], anchor)])
        self._encode_y_chunks(encoder, chunks, local_models, classes)

    def _decode(self, decoder: SymbolDecoder, height: int, width: int, format_version: int) -> torch.Tensor:
        y_tables = self._y_tables()
        params = self._require_tables().network("h_s")(self._decode_z(decoder, height, width, format_version))
        anchor = checkerboard_anchor_mask(height, width)
        y_hat = torch.zeros_like(params[:, : self.config.latent_channels])
        y_coder = self._y_coder(decoder, format_version, NEIGHBOUR_CLASSES)
        classes = None  # the anchors are class 0
        for half in (anchor, ~anchor):
            scales, means = self._half_parameters(params, y_hat, half, half is anchor)
            symbols = y_coder.decode(decoder, y_tables.scale_indexes(scales), classes)
            y_hat[..., half] = symbols_to_fixed(symbols, means)
            if half is anchor:
                classes = neighbour_classes(symbols, anchor)
        return to_float(y_hat)

    def _half_parameters(self, params: torch.Tensor, y_hat: torch.Tensor, half: torch.Tensor, is_anchor: bool):
        """Integer (scales, means), each (1, M, K), at the K positions of one half."""
        scales, means = self._half_output(params, y_hat, half, is_anchor).chunk(2, 1)
        return scales, means

    def _half_output(self, params: torch.Tensor, y_hat: torch.Tensor, half: torch.Tensor, is_anchor: bool) -> torch.Tensor:
        """The integer entropy-parameter network's output (1, C, K) at the K positions of one half.

        The anchors see the hyperprior only; the non-anchors also see the decoded
        anchors through the context convolution, evaluated at their positions only.
        """
        tables = self._require_tables()
        side = params[..., half].unsqueeze(-1)  # (1, 2M, K, 1): 1x1 networks run on the gathered positions
        if is_anchor:
            out = tables.network("ep_anchor")(side)
        else:
            ctx = run_layer_at(tables.network("context").layers[0], context_input(y_hat), half.numpy()).unsqueeze(-1)
            out = tables.network("ep_nonanchor")(torch.cat([side, ctx], 1))
        return out.squeeze(-1)


class AutoregressiveContext(HyperpriorCodec):
    """Minnen et al. 2018 ("mbt2018"): a causal 5x5 context, decoded one latent position at a time.

    Kept for comparison only: its decoder runs h*w sequential steps, which is what
    the checkerboard context was invented to avoid.
    """

    def __init__(self, config: CodecConfig) -> None:
        super().__init__(config)
        m = config.latent_channels
        self.h_s = hyper_synthesis(config.hyper_channels, 2 * m, hidden=config.hyper_channels * 3 // 2)
        self.context = MaskedConv2d(m, 2 * m, 5, padding=2, mask_type="A")
        self.entropy_parameters = entropy_parameters(4 * m, 2 * m, 2 * m)

    def forward_latent(self, y: torch.Tensor, rate_position=None) -> dict:
        z_hat, z_likelihoods = self.z_density(self.h_a(y))
        params = self.h_s(z_hat)
        # Training sees the true causal context in one parallel pass: with mixed
        # quantisation y_hat depends on the means, so use y rounded alone for the context.
        ctx = self.context(round_ste(y))
        scales, means = self.entropy_parameters(torch.cat([params, ctx], 1)).chunk(2, 1)
        y_hat, y_likelihoods = self.gaussian(y, scales, means)
        x_hat = self.decode_latent(y_hat, rate_position)
        return {"x_hat": x_hat, "likelihoods": {"y": y_likelihoods, "z": z_likelihoods}}

    def build_tables(self) -> CodingTables:
        return self._hyper_tables(h_s=self.h_s, context=nn.Sequential(self.context), entropy_parameters=self.entropy_parameters)

    def _serial(self, params: torch.Tensor, visit) -> torch.Tensor:
        """Walk the latent positions in raster order; ``visit(i, j, scales, means)`` returns y_hat there."""
        tables = self._require_tables()
        context_layer = dataclasses.replace(tables.network("context").layers[0], pad=(0, 0))
        m = self.config.latent_channels
        _, _, h, w = params.shape
        padded = torch.zeros(1, m, h + 4, w + 4, dtype=torch.float64)
        for i in range(h):
            for j in range(w):
                ctx = run_layer(context_layer, context_input(padded[:, :, i : i + 5, j : j + 5]))
                scales, means = tables.network("entropy_parameters")(torch.cat([params[:, :, i : i + 1, j : j + 1], ctx], 1)).chunk(2, 1)
                padded[:, :, i + 2, j + 2] = visit(i, j, scales, means)
        return padded[:, :, 2:-2, 2:-2]

    def _encode(self, y: torch.Tensor, encoder: SymbolEncoder, local_models: bool) -> None:
        y_tables = self._y_tables()
        params = self._require_tables().network("h_s")(self._encode_z(y, encoder, local_models))

        def visit(i, j, scales, means):
            symbols, y_hat = quantize_to_symbols(y[:, :, i : i + 1, j : j + 1], means)
            encoder.encode(symbols.numpy(), y_tables.scale_indexes(scales), y_tables.table)
            return y_hat[:, :, 0, 0]

        self._serial(params, visit)

    def _decode(self, decoder: SymbolDecoder, height: int, width: int, format_version: int) -> torch.Tensor:
        y_tables = self._y_tables()
        params = self._require_tables().network("h_s")(self._decode_z(decoder, height, width, format_version))

        def visit(i, j, scales, means):
            symbols = decoder.decode(y_tables.scale_indexes(scales), y_tables.table)
            return symbols_to_fixed(symbols, means)[:, :, 0, 0]

        return to_float(self._serial(params, visit))


class AsymmetricCheckerboard(CheckerboardContext):
    """The checkerboard codec with the asymmetric transforms of Fu et al. 2023 ("fu2023-asymmetric").

    Multi-scale residual blocks in three stages of the encoder and one of the decoder,
    an importance map scaling y before quantisation, and a post-quantisation filter
    before synthesis (:mod:`licodec.nn.blocks`). The entropy model, the coding tables and
    the file format are the checkerboard's, so files code and decode exactly as theirs do.
    """

    @staticmethod
    def analysis(config: CodecConfig) -> nn.Sequential:
        return asymmetric_analysis(config.channels, config.latent_channels)

    @staticmethod
    def synthesis(config: CodecConfig) -> nn.Sequential:
        return asymmetric_synthesis(config.latent_channels, config.decoder_widths)
