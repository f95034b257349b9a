"""Growing a trained network into a larger architecture without changing what it computes.

The blocks the richer architectures add (:mod:`licodec.nn.blocks`) start as the
identity, so a larger model that takes every weight of a trained smaller one computes
exactly the same function: training then starts at the smaller model's rate-distortion,
and every step goes into the new capacity. A longer rate ladder grows the same way: the
trained rungs keep their gains, and new rungs start where the trained ones' gains point.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from licodec.models.base import LearnedCodec
from licodec.models.mixture import MixtureCheckerboard
from licodec.nn.gdn import GDN

PLAIN_LAYERS = (nn.Conv2d, nn.ConvTranspose2d, GDN)
"""The layers a plain transform is made of; a grown transform has them in the same order, with blocks between."""


def grow_into(source: LearnedCodec, target: LearnedCodec) -> list[str]:
    """Copy every weight of ``source`` into ``target``; returns the names of ``target``'s parameters left as built.

    Modules present in both by name (hyperprior, context, entropy parameters, density)
    are copied as they are (a Gaussian model's entropy parameters grow into a mixture's,
    :meth:`~licodec.models.mixture.MixtureCheckerboard.grow_from_gaussian`); the transforms g_a and g_s layer by layer, in order, skipping
    the blocks ``target`` adds; the gain units rung by rung (:func:`ladder_gains`), so the
    target may have a different rate ladder. Raises ``ValueError`` if they do not fit.
    """
    transforms = ("g_a.", "g_s.", "gains.")
    shared = {k: v for k, v in source.state_dict().items() if not k.startswith(transforms)}
    own = {k: v for k, v in target.state_dict().items() if not k.startswith(transforms)}
    if isinstance(target, MixtureCheckerboard) and not isinstance(source, MixtureCheckerboard):
        shared = target.grow_from_gaussian(shared)
    if shared.keys() != own.keys() or any(shared[k].shape != own[k].shape for k in shared):
        raise ValueError("the entropy models of the source and the target differ")
    if source.config.latent_channels != target.config.latent_channels:
        raise ValueError("the latents of the source and the target differ")
    pairs = []
    for name in ("g_a", "g_s"):
        trained, grown_net = getattr(source, name), getattr(target, name)
        if type(source) is type(target) and _same_shapes(trained, grown_net):  # perhaps on another ladder
            pairs.append((trained, grown_net))
            continue
        plain = [m for m in trained if isinstance(m, PLAIN_LAYERS)]
        grown = [m for m in grown_net if isinstance(m, PLAIN_LAYERS)]
        if len(plain) != len(grown):
            raise ValueError(f"{name} has {len(plain)} plain layers in the source and {len(grown)} in the target")
        pairs.extend(zip(plain, grown))
    target.load_state_dict(shared, strict=False)  # checked above: every key of shared is the target's
    for layer, into in pairs:
        if _same_shapes(layer, into):
            into.load_state_dict(layer.state_dict())
        else:
            widen(layer, into)
    with torch.no_grad():
        for table, slope in (("log_gain", 0.5), ("log_inverse_gain", -0.5)):
            rows = ladder_gains(getattr(source.gains, table), source.config.lambdas, target.config.lambdas, slope)
            getattr(target.gains, table).copy_(rows)
    copied = {id(p) for _, into in pairs for p in into.parameters()}
    return [name for name, p in target.named_parameters() if name.startswith(("g_a.", "g_s.")) and id(p) not in copied]


def _same_shapes(a: nn.Module, b: nn.Module) -> bool:
    first, second = a.state_dict(), b.state_dict()
    return first.keys() == second.keys() and all(first[k].shape == second[k].shape for k in first)


@torch.no_grad()
def widen(layer: nn.Module, into: nn.Module) -> None:
    """Copy a trained layer into a wider one of the same kind so the old channels compute what they did.

    A convolution's trained kernels fill the leading block; what reads the added input
    channels is zero (so they change nothing yet), and the added output channels keep
    their initialisation (so they carry signal, and their readers get gradients). A GDN's
    added channels are normalised by themselves only. Raises ``ValueError`` if ``into``
    is narrower or of another kind.
    """
    if type(layer) is not type(into):
        raise ValueError(f"cannot widen a {type(layer).__name__} into a {type(into).__name__}")
    if isinstance(layer, GDN):
        old, new = layer.beta.shape[0], into.beta.shape[0]
        if new < old:
            raise ValueError("cannot narrow a GDN")
        gamma = torch.diag(torch.diagonal(into._gamma(into.gamma)))
        gamma[:old, :old] = layer._gamma(layer.gamma)
        into.gamma.copy_(into._gamma.init(gamma))
        into.beta[:old] = layer.beta
        return
    transposed = isinstance(layer, nn.ConvTranspose2d)
    old_in, old_out = (layer.weight.shape[1], layer.weight.shape[0])[:: -1 if transposed else 1]
    new_in, new_out = (into.weight.shape[1], into.weight.shape[0])[:: -1 if transposed else 1]
    if new_in < old_in or new_out < old_out or layer.weight.shape[2:] != into.weight.shape[2:]:
        raise ValueError(f"cannot widen {tuple(layer.weight.shape)} into {tuple(into.weight.shape)}")
    weight = into.weight if not transposed else into.weight.transpose(0, 1)  # (out, in, k, k) view
    trained = layer.weight if not transposed else layer.weight.transpose(0, 1)
    weight[:, old_in:] = 0
    weight[:old_out, :old_in] = trained
    if layer.bias is not None:
        into.bias[:old_out] = layer.bias


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
