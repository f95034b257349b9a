"""Data-parallel training on CPU with torch.distributed (gloo), as launched by ``torchrun``.

Gradients are averaged by hand after each backward pass rather than through
DistributedDataParallel: the auxiliary loss has its own backward pass, which
DDP's once-per-forward bookkeeping does not allow.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


def init_from_environment() -> tuple[int, int]:
    """(rank, world size): joins the process group when torchrun started several processes."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("gloo")
    return (dist.get_rank(), dist.get_world_size()) if world > 1 else (0, 1)


def average_gradients(parameters: list[torch.nn.Parameter], world: int) -> None:
    grads = [p.grad for p in parameters if p.grad is not None]
    if world == 1 or not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world
    offset = 0
    for g in grads:
        g.copy_(flat[offset : offset + g.numel()].view_as(g))
        offset += g.numel()


def any_rank(flag: bool, world: int) -> bool:
    """True on every rank if it is true on any: keeps the replicas stopping together."""
    if world == 1:
        return flag
    value = torch.tensor([int(flag)])
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())
