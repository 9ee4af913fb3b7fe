"""Data parallelism with PyTorch's DistributedDataParallel, detected from torchrun's environment.

``torchrun --nproc_per_node=K script.py`` starts K processes and sets ``RANK``, ``LOCAL_RANK``,
``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT`` in each. :func:`rnnlib.train.fit` calls
:func:`setup_from_env`; when it finds such an environment it joins the process group (``nccl``
on GPUs, ``gloo`` on CPUs), wraps the model in DDP (which averages gradients across ranks during
``backward``, so the loop averages nothing by hand) and shards the data with a
``DistributedSampler``. Outside torchrun nothing changes.
"""

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

__all__ = ["DistContext", "setup_from_env", "wrap_model", "barrier"]


@dataclass
class DistContext:
    """Where this process sits in the job: its rank, the world size and its device."""

    rank: int
    local_rank: int
    world_size: int
    device: torch.device
    backend: str


def setup_from_env():
    """Join the process group described by torchrun's environment variables.

    Returns a :class:`DistContext`, or ``None`` when not launched by torchrun with more than
    one process.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1 or "RANK" not in os.environ:
        return None
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        backend, device = "nccl", torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    else:
        backend, device = "gloo", torch.device("cpu")
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, rank=rank, world_size=world_size)
    return DistContext(rank, local_rank, world_size, device, backend)


def wrap_model(model, context):
    """Wrap ``model`` in DistributedDataParallel for ``context`` (parameters are broadcast from rank 0)."""
    device_ids = [context.device.index] if context.device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=device_ids)


def barrier(context):
    """Wait until every rank reaches this point."""
    if context is not None and dist.is_initialized():
        dist.barrier()
