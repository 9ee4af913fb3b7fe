"""Device selection and seeding: the one place the course decides where tensors live."""

import os
import random

import numpy as np
import torch


def get_device(prefer=None):
    """Return the best available ``torch.device``: CUDA, then Apple MPS, then CPU.

    Args:
        prefer: optional device name ("cuda", "mps" or "cpu") to force; also read from the
            environment variable ``RNNLIB_DEVICE`` so a learner can pin the device for a
            whole notebook without editing it.
    """
    choice = prefer or os.environ.get("RNNLIB_DEVICE")
    if choice is not None:
        if choice not in ("cuda", "mps", "cpu") and not str(choice).startswith("cuda:"):
            raise ValueError(f"prefer must be one of 'cuda', 'cuda:N', 'mps', 'cpu', got {choice!r}")
        return torch.device(choice)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed):
    """Seed Python's ``random``, NumPy's global generator and torch (CPU and CUDA).

    Returns a fresh ``numpy.random.Generator`` seeded with ``seed``, which is what
    new code should draw from.
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    return np.random.default_rng(seed)
