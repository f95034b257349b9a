"""Growing a trained network into a larger one without changing what it computes.

Training then starts at the trained model's rate-distortion, and every step goes into
the new capacity:

- blocks a richer architecture adds (:mod:`licodec.nn.blocks`) start as the identity;
- wider layers keep the trained channels in their leading block (:func:`widen`): what
  reads an added channel starts at zero, so added channels change nothing yet;
- added latent channels are zero and cost no bits (the architecture says how its
  channels are grouped: :meth:`~licodec.models.context.CheckerboardContext.latent_layout`);
- a mixture entropy model starts every component as the trained Gaussian
  (:meth:`~licodec.models.mixture.MixtureCheckerboard.grow_from_gaussian`);
- a longer rate ladder keeps the trained rungs' gains, and new rungs start where the
  trained ones point (:func:`ladder_gains`).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from licodec.models.base import LearnedCodec
from licodec.models.config import CodecConfig
from licodec.models.mixture import MixtureCheckerboard
from licodec.nn.gdn import GDN

PLAIN_LAYERS = (nn.Conv2d, nn.ConvTranspose2d, GDN)
"""The layers a plain transform is made of; a grown transform has them in the same order, with blocks between."""
TRANSFORMS = ("g_a.", "g_s.", "gains.")


def grow_into(source: LearnedCodec, target: LearnedCodec) -> list[str]:
    """Copy every weight of ``source`` into ``target``; returns the names of ``target``'s parameters left as built.

    Modules of both by name (hyperprior, context, entropy parameters, density) are
    copied, widened where ``target``'s are wider; the transforms g_a and g_s layer by
    layer, in order, skipping the blocks ``target`` adds; the gains rung by rung and
    channel by channel. Raises ``ValueError`` if they do not fit.
    """
    latent_grows = source.config.latent_channels != target.config.latent_channels
    layout = target.latent_layout() if latent_grows else {}
    if latent_grows and not (layout and type(source) is type(target)):
        raise ValueError(f"the latents of the source and the target differ, and {type(target).__name__} cannot grow its latent")
    shared = {k: v for k, v in source.state_dict().items() if not k.startswith(TRANSFORMS)}
    if isinstance(target, MixtureCheckerboard) and not isinstance(source, MixtureCheckerboard):
        shared = target.grow_from_gaussian(shared)
    own = {k: v for k, v in target.state_dict().items() if not k.startswith(TRANSFORMS)}
    if shared.keys() != own.keys() or any(shared[k].dim() != own[k].dim() for k in shared):
        raise ValueError("the entropy models of the source and the target differ")
    names = {id(m): n for n, m in target.named_modules()}
    pairs = _transform_pairs(source, target) + _entropy_model_pairs(shared, target)
    built = {k: v.clone() for k, v in target.state_dict().items()}
    try:
        for state, into in pairs:
            _copy_or_widen(state, into, **layout.get(names[id(into)], {}))
    except ValueError:
        target.load_state_dict(built)  # a refused growth leaves the target as it was built
        raise
    source_ladder = _source_ladder(source.config, target.config)
    with torch.no_grad():
        for table, slope in (("log_gain", 0.5), ("log_inverse_gain", -0.5)):
            rows = ladder_gains(getattr(source.gains, table), source_ladder, target.config.lambdas, slope)
            getattr(target.gains, table).zero_()[:, : rows.shape[1]] = rows  # added channels: gain 1
    copied = {id(p) for _, into in pairs for p in into.parameters()}
    return [name for name, p in target.named_parameters() if name.startswith(("g_a.", "g_s.")) and id(p) not in copied]


def _transform_pairs(source: LearnedCodec, target: LearnedCodec) -> list[tuple[dict, nn.Module]]:
    """(trained state, target module) for g_a and g_s: whole when they match, else plain layer by plain layer."""
    pairs = []
    for name in ("g_a", "g_s"):
        trained, grown = getattr(source, name), getattr(target, name)
        if type(source) is type(target) and _shapes(trained.state_dict()) == _shapes(grown.state_dict()):
            pairs.append((trained.state_dict(), grown))
            continue
        plain = [m for m in trained if isinstance(m, PLAIN_LAYERS)]
        into = [m for m in grown if isinstance(m, PLAIN_LAYERS)]
        if len(plain) != len(into):
            raise ValueError(f"{name} has {len(plain)} plain layers in the source and {len(into)} in the target")
        pairs.extend((layer.state_dict(), layer_into) for layer, layer_into in zip(plain, into))
    return pairs


def _entropy_model_pairs(shared: dict[str, torch.Tensor], target: LearnedCodec) -> list[tuple[dict, nn.Module]]:
    """(trained state, target module) for every module outside the transforms that holds weights directly."""
    pairs = []
    for name, module in target.named_modules():
        if name.startswith(TRANSFORMS) or not name or name + "." in TRANSFORMS:
            continue
        own = dict(module.named_parameters(recurse=False)) | dict(module.named_buffers(recurse=False))
        keys = [k for k in own if f"{name}.{k}" in shared]
        if keys:
            pairs.append(({k: shared[f"{name}.{k}"] for k in keys}, module))
    return pairs


def _shapes(state: dict[str, torch.Tensor]) -> dict[str, torch.Size]:
    return {k: v.shape for k, v in state.items()}


def _copy_or_widen(state: dict[str, torch.Tensor], into: nn.Module, **layout) -> None:
    own = _shapes(into.state_dict())
    if _shapes(state) == {k: own.get(k) for k in state}:
        into.load_state_dict(state, strict=False)
    else:
        widen(state, into, **layout)


@torch.no_grad()
def narrow_into(source: LearnedCodec, target: LearnedCodec) -> None:
    """Start a network no wider than ``source`` anywhere from its weights: each tensor takes the leading slice of the
    trained one. Not function-preserving (a layer loses the inputs it no longer has): a start for distillation
    (:mod:`licodec.train.distill`), which teaches the narrower layers what they lost."""
    trained = source.state_dict()
    for name, value in target.state_dict().items():
        source_value = trained.get(name)
        if source_value is None or source_value.dim() != value.dim() or any(t > s for t, s in zip(value.shape, source_value.shape)):
            raise ValueError(f"{name} is not a narrowing of the trained network's")
        value.copy_(source_value[tuple(slice(0, n) for n in value.shape)])


@torch.no_grad()
def widen(state: dict[str, torch.Tensor], into: nn.Module, in_groups: int = 1, out_groups: int = 1, zero_added_outputs: bool = False) -> None:
    """Copy a trained layer's ``state`` into a wider layer of the same kind so its channels compute what they did.

    Channels come in ``in_groups`` / ``out_groups`` equal groups (a concatenation, or
    scales then means), each growing at its end. The trained kernels fill each group's
    leading block; what reads an added input channel is zero, so it changes nothing yet;
    added outputs keep their initialisation, so they carry signal and their readers get
    gradients, or are zero (``zero_added_outputs``: an added latent channel, or an entropy
    parameter that must predict it as always 0). A GDN's added channels are normalised by
    themselves only. Raises ``ValueError`` if ``into`` is narrower.
    """
    if isinstance(into, GDN):
        old, new = state["beta"].shape[0], into.beta.shape[0]
        if new < old:
            raise ValueError("cannot narrow a GDN")
        gamma = torch.diag(torch.diagonal(into._gamma(into.gamma)))
        gamma[:old, :old] = into._gamma(state["gamma"])
        into.gamma.copy_(into._gamma.init(gamma))
        into.beta[:old] = state["beta"]
        return
    if not isinstance(into, (nn.Conv2d, nn.ConvTranspose2d)):
        raise ValueError(f"cannot widen a {type(into).__name__}")
    transposed = isinstance(into, nn.ConvTranspose2d)
    weight = into.weight.transpose(0, 1) if transposed else into.weight  # (out, in, k, k) views
    trained = state["weight"].transpose(0, 1) if transposed else state["weight"]
    (out_new, in_new), (out_old, in_old) = weight.shape[:2], trained.shape[:2]
    if out_new < out_old or in_new < in_old or weight.shape[2:] != trained.shape[2:] or out_old % out_groups or in_old % in_groups:
        raise ValueError(f"cannot widen {tuple(state['weight'].shape)} into {tuple(into.weight.shape)}")
    outs = _group_slices(out_old, out_new, out_groups)
    ins = _group_slices(in_old, in_new, in_groups)
    for *_, added_in in ins:
        weight[:, added_in] = 0
    for old_out, new_out, added_out in outs:
        if zero_added_outputs:
            weight[added_out] = 0
            if into.bias is not None:
                into.bias[added_out] = 0
        for old_in, new_in, _ in ins:
            weight[new_out, new_in] = trained[old_out, old_in]
        if into.bias is not None:
            into.bias[new_out] = state["bias"][old_out]


def _group_slices(old: int, new: int, groups: int) -> list[tuple[slice, slice, slice]]:
    """Per group: its trained channels in the old layer, where they go in the new one, and the group's added channels."""
    size_old, size_new = old // groups, new // groups
    return [
        (slice(g * size_old, (g + 1) * size_old), slice(g * size_new, g * size_new + size_old), slice(g * size_new + size_old, (g + 1) * size_new))
        for g in range(groups)
    ]


def _source_ladder(source: CodecConfig, target: CodecConfig) -> tuple[float, ...]:
    """The source's ladder in the target's units. Multipliers of different distortions are not comparable;
    each ladder is fitted to the same rates rung by rung, so a ladder of equal length maps rung to rung."""
    if source.distortion == target.distortion:
        return source.lambdas
    if source.num_rates != target.num_rates:
        raise ValueError(f"a {source.distortion} ladder of {source.num_rates} rungs cannot start a {target.distortion} ladder of {target.num_rates}")
    return target.lambdas


def ladder_gains(rows: torch.Tensor, lambdas: tuple[float, ...], new_lambdas: tuple[float, ...], single_slope: float = 0.5) -> torch.Tensor:
    """Log-gain rows (one per rung of ``lambdas``) for the rungs of ``new_lambdas``.

    A rung of both ladders keeps its row; any other is interpolated linearly in log lambda
    between the trained rungs around it, or extrapolated along the two nearest, so a longer
    ladder starts where the trained gains point. With one trained rung the rows move by
    ``single_slope`` per unit of log lambda (1/2 for gains: quantisation step ~ lambda^-1/2).
    """
    logs = [math.log(v) for v in lambdas]
    out = []
    for new in new_lambdas:
        t = math.log(new)
        if new in lambdas:
            out.append(rows[lambdas.index(new)])
        elif len(logs) == 1:
            out.append(rows[0] + single_slope * (t - logs[0]))
        else:
            i = min(max(sum(1 for v in logs if v <= t) - 1, 0), len(logs) - 2)  # the segment holding t, or the nearest
            out.append(rows[i] + (t - logs[i]) / (logs[i + 1] - logs[i]) * (rows[i + 1] - rows[i]))
    return torch.stack(out)
