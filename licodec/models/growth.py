"""Growing a trained network into a larger architecture without changing what it computes.

The blocks the richer architectures add (:mod:`licodec.nn.blocks`) start as the
identity, so a larger model that takes every weight of a trained smaller one computes
exactly the same function: training then starts at the smaller model's rate-distortion,
and every step goes into the new capacity.
"""

from __future__ import annotations

from torch import nn

from licodec.models.base import LearnedCodec
from licodec.nn.gdn import GDN

PLAIN_LAYERS = (nn.Conv2d, nn.ConvTranspose2d, GDN)
"""The layers a plain transform is made of; a grown transform has them in the same order, with blocks between."""


def grow_into(source: LearnedCodec, target: LearnedCodec) -> list[str]:
    """Copy every weight of ``source`` into ``target``; returns the names of ``target``'s parameters left as built.

    Modules present in both by name (hyperprior, context, entropy parameters, density,
    gains) are copied as they are; the transforms g_a and g_s layer by layer, in order,
    skipping the blocks ``target`` adds. Raises ``ValueError`` if they do not fit.
    """
    transforms = ("g_a.", "g_s.")
    shared = {k: v for k, v in source.state_dict().items() if not k.startswith(transforms)}
    own = {k: v for k, v in target.state_dict().items() if not k.startswith(transforms)}
    if shared.keys() != own.keys() or any(shared[k].shape != own[k].shape for k in shared):
        raise ValueError("the entropy models of the source and the target differ")
    pairs = []
    for name in ("g_a", "g_s"):
        plain = [m for m in getattr(source, name) if isinstance(m, PLAIN_LAYERS)]
        grown = [m for m in getattr(target, name) if isinstance(m, PLAIN_LAYERS)]
        if len(plain) != len(grown):
            raise ValueError(f"{name} has {len(plain)} plain layers in the source and {len(grown)} in the target")
        pairs.extend(zip(plain, grown))
    target.load_state_dict(shared, strict=False)  # checked above: every key of shared is the target's
    for layer, into in pairs:
        into.load_state_dict(layer.state_dict())
    copied = {id(p) for _, into in pairs for p in into.parameters()}
    return [name for name, p in target.named_parameters() if name.startswith(transforms) and id(p) not in copied]
