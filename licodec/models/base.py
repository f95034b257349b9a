"""What every learned codec shares: the rate ladder, the transforms, and coding one tile through its tables."""

from __future__ import annotations

import torch
from torch import nn

from licodec.bitstream import FORMAT_VERSION
from licodec.coding.procedures import LatentProcedure
from licodec.entropy.coder import SymbolDecoder, SymbolEncoder
from licodec.entropy.coding_tables import CodingTables
from licodec.models.config import CodecConfig
from licodec.models.transforms import GainUnits, analysis_transform, synthesis_transform
from licodec.nn.fixed_point import compile_network
from licodec.nn.integer_network import FixedPointNetwork

UNNAMED = "unnamed"
"""The name a model built in memory writes into files (a loaded one writes its registry name)."""
NO_WEIGHTS_HASH = "0" * 16
"""The weights hash a model built in memory writes: it came from no weights file."""


class LearnedCodec(nn.Module):
    """Analysis transform, latent codec, synthesis transform (CompressAI's vocabulary).

    ``forward`` trains: it returns ``x_hat`` and the likelihoods whose negative log2
    is the rate. ``compress``/``decompress`` code one padded tile through integer
    tables with the architecture's :attr:`procedure` (:mod:`licodec.coding.procedures`);
    they need :attr:`tables`, which :func:`build_coding_tables` creates.
    """

    procedure: type[LatentProcedure] = LatentProcedure

    def __init__(self, config: CodecConfig) -> None:
        super().__init__()
        self.config = config
        self.g_a = self.analysis(config)
        self.g_s = self.synthesis(config)
        self.gains = GainUnits(config.num_rates, config.latent_channels)
        self.tables: CodingTables | None = None
        self.mixed_precision = False  # training only: see _transform
        self.name = UNNAMED  # what files written with it record; see identify()
        self.weights_hash = NO_WEIGHTS_HASH

    @staticmethod
    def analysis(config: CodecConfig) -> nn.Sequential:
        """g_a of this architecture; subclasses with other transforms override it (and :meth:`synthesis`)."""
        return analysis_transform(config.channels, config.latent_channels)

    @staticmethod
    def synthesis(config: CodecConfig) -> nn.Sequential:
        return synthesis_transform(config.latent_channels, config.decoder_widths)

    def latent_layout(self) -> dict[str, dict]:
        """How :func:`licodec.models.growth.widen` treats each module when the latent gains channels, by module name
        (``in_groups``, ``out_groups``, ``zero_added_outputs``); empty where the architecture cannot grow its latent."""
        return {}

    @property
    def pad_multiple(self) -> int:
        """A tile's sides are padded to this multiple: the total downsampling of the deepest latent."""
        return self.procedure.pad_multiple

    def identify(self, name: str, weights_hash: str) -> None:
        """Record the registry name and weights hash (16 hex digits) the model was loaded as, which its files carry."""
        self.name = name
        self.weights_hash = weights_hash

    # -- rate control -------------------------------------------------------------

    def rate_position(self, quality: float) -> float:
        """Map quality 1..100 (higher = more bits) onto the rate ladder, monotonically."""
        return self.config.rate_position(quality)

    def _positions(self, x: torch.Tensor, rate_position) -> torch.Tensor:
        """Rate positions as (N,), or a rate map (N, 1, h, w) at latent resolution, passed through."""
        if rate_position is None:
            rate_position = self.config.num_rates - 1
        position = torch.as_tensor(rate_position, dtype=torch.float32)
        return position.expand(x.shape[0]) if position.dim() == 0 else position

    def encode_latent(self, x: torch.Tensor, rate_position) -> torch.Tensor:
        return self._transform(self.g_a, x) * self.gains.gain(self._positions(x, rate_position))

    def bias_sizes(self) -> dict[str, int]:
        """The g_s biases decoder updates may touch (:mod:`licodec.adapt.decoder_bias`), with their lengths, in the
        format's order."""
        return {name: p.numel() for name, p in self.g_s.named_parameters() if name.endswith(".bias") and p.dim() == 1}

    def synthesis_input(self, y_hat: torch.Tensor, rate_position) -> torch.Tensor:
        """What g_s reads: the decoded latent times the inverse gains of its rate position (or rate map)."""
        return y_hat * self.gains.inverse_gain(self._positions(y_hat, rate_position))

    def decode_latent(self, y_hat: torch.Tensor, rate_position, bias_updates: dict | None = None) -> torch.Tensor:
        """g_s of the inverse-gained latent; ``bias_updates`` maps g_s bias names to additive deltas."""
        y_hat = self.synthesis_input(y_hat, rate_position)
        if not bias_updates:
            return self._transform(self.g_s, y_hat)
        parameters = {name: p + torch.as_tensor(bias_updates[name]) if name in bias_updates else p for name, p in self.g_s.named_parameters()}
        return torch.func.functional_call(self.g_s, parameters, (y_hat,))

    def _transform(self, net: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
        """Run g_a or g_s: channels-last in eval mode; in training, under :attr:`mixed_precision`,
        all but the last layer run in bfloat16.

        bfloat16 is a training speed-up (about 2x with ``torch.compile`` on AVX-512 CPUs). The last
        layer stays float32 so that y and x_hat keep their full precision: bfloat16
        resolves only 0.25 at |y| = 32, as coarse as the quantiser itself.
        """
        if not self.training:  # inference: channels-last decodes about a quarter faster (oneDNN)
            return net(x.contiguous(memory_format=torch.channels_last))
        if not self.mixed_precision:
            return net(x)
        with torch.autocast(x.device.type, dtype=torch.bfloat16):
            hidden = net[:-1](x)
        return net[-1](hidden.float())

    # -- coding -------------------------------------------------------------------

    def _require_tables(self) -> CodingTables:
        if self.tables is None:
            raise RuntimeError("this model has no coding tables; run licodec.models.build_coding_tables(model) first")
        return self.tables

    def coding(self) -> LatentProcedure:
        """The procedure that codes this model's latents through its integer tables."""
        return self.procedure(self._require_tables(), self.config.latent_channels, self.config.channel_mask)

    def build_tables(self) -> CodingTables:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, x: torch.Tensor, rate_position=None) -> dict:
        """Training pass: ``{"x_hat", "likelihoods": {name: tensor}, "y"}``; -log2 of the likelihoods is the rate,
        y the latent before quantisation (what an L1 penalty reads)."""
        y = self.encode_latent(x, rate_position)
        return {**self.forward_latent(y, rate_position), "y": y}

    def forward_latent(self, y: torch.Tensor, rate_position=None) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def lagrange_multiplier(self, rate_position) -> torch.Tensor:
        """The lambda the model was trained with at ``rate_position`` (geometric between rungs).

        A scalar position gives a 0-d tensor; a rate map (N, 1, h, w) gives a lambda map.
        """
        log_lambdas = torch.log(torch.tensor(self.config.lambdas, dtype=torch.float64))
        position = torch.as_tensor(rate_position, dtype=torch.float64).clamp(0, len(log_lambdas) - 1)
        low = position.floor().long()
        high = (low + 1).clamp(max=len(log_lambdas) - 1)
        frac = position - low.double()
        return torch.exp((1 - frac) * log_lambdas[low] + frac * log_lambdas[high]).float()

    def side_latent(self, y: torch.Tensor) -> torch.Tensor | None:
        """The side information coded before y (z of the hyperpriors), or None."""
        return None

    def compress(self, x: torch.Tensor, rate_position, y: torch.Tensor | None = None, local_models: bool = True) -> list[bytes]:
        """Code one tile (1, 3, H, W) in [0, 1], H and W multiples of :attr:`pad_multiple`.

        ``rate_position`` is a number, or a rate map (1, 1, H/16, W/16) for spatially
        varying quality. ``y`` replaces the analysis transform's latent, e.g. after
        per-image optimisation. ``local_models=False`` codes with the model's tables only.
        """
        encoder = SymbolEncoder()
        with torch.no_grad():
            y = self.encode_latent(x, rate_position) if y is None else y
            z = self.side_latent(y)
            self.coding().encode(encoder, y.detach().double().numpy(), None if z is None else z.detach().double().numpy(), local_models)
        return encoder.finish()

    def decompress(
        self,
        streams: list[bytes],
        rate_position,
        height: int,
        width: int,
        bias_updates: dict | None = None,
        format_version: int = FORMAT_VERSION,
    ) -> torch.Tensor:
        """Inverse of :meth:`compress` for a padded tile of ``height`` x ``width`` pixels."""
        with torch.no_grad():
            y_hat = self.decode_symbols(streams, height, width, format_version)
            return self.decode_latent(y_hat, rate_position, bias_updates).clamp(0, 1)

    def decode_symbols(self, streams: list[bytes], height: int, width: int, format_version: int = FORMAT_VERSION) -> torch.Tensor:
        """The decoded latent y_hat (1, M, H/16, W/16) of a tile, before the synthesis transform."""
        return torch.from_numpy(self.coding().decode(SymbolDecoder(streams), height // 16, width // 16, format_version))


def compile_networks(**networks: nn.Sequential) -> dict[str, FixedPointNetwork]:
    """Integer versions of the networks on the probability path, by the names the coding tables keep them under."""
    return {name: compile_network(network) for name, network in networks.items()}
