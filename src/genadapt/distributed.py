"""DistributedDataParallel set-up from the environment ``torchrun`` provides.

``torchrun --nproc_per_node N stages/train.py ...`` runs the same train command on N processes;
each trains on its own slice of every global batch, gradients are averaged by DDP, and only
rank 0 logs to MLflow, writes checkpoints and writes the stage's outputs. Without torchrun
(WORLD_SIZE unset) everything is a single process and nothing here does anything.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def init_world(device: torch.device) -> World:
    """Join the process group when launched by torchrun (gloo on CPU, NCCL on CUDA)."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size == 1:
        return World()
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return World(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def local_device(device: torch.device, world: World) -> torch.device:
    """Each rank drives its own GPU; CPU ranks share the CPU."""
    return torch.device("cuda", world.local_rank) if device.type == "cuda" else device


def barrier(world: World) -> None:
    if world.distributed:
        dist.barrier()


def shutdown(world: World) -> None:
    if world.distributed and dist.is_initialized():
        dist.destroy_process_group()
