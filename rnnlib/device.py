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


SEED_FAMILY_VARIABLE = "RNNLIB_SEED"
MAX_SEED = 2**64 - 1  # torch.manual_seed's largest seed


def _check_seed(name, seed):
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"{name} must be an int in [0, 2**64 - 1], got {type(seed).__name__} {seed!r}")
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"{name} must be an int in [0, 2**64 - 1], got {seed}")
    return int(seed)


def seed_family():
    """The seed family chosen by the environment variable ``RNNLIB_SEED`` (0 when it is unset)."""
    text = os.environ.get(SEED_FAMILY_VARIABLE, "").strip()
    if not text:
        return 0
    try:
        family = int(text)
    except ValueError:
        raise ValueError(f"{SEED_FAMILY_VARIABLE} must be a non-negative integer, got {text!r}") from None
    return _check_seed(SEED_FAMILY_VARIABLE, family)


def effective_seed(seed):
    """The seed that ``seed`` stands for under the current seed family.

    With ``RNNLIB_SEED`` unset or 0 this is ``seed`` itself, so the book's committed outputs are
    those of the seeds written in it. With ``RNNLIB_SEED=k`` (k > 0) every seed is mixed with k
    by NumPy's ``SeedSequence``: different seeds in one notebook stay different, and the whole
    book runs under another draw of data, initial weights and batch order without editing it.
    """
    seed = _check_seed("seed", seed)
    family = seed_family()
    if family == 0:
        return seed
    # 63 bits, so that samplers may add an epoch number to it without leaving torch's range
    return int(np.random.SeedSequence([family, seed]).generate_state(1, dtype=np.uint64)[0] >> 1)


def seed_everything(seed):
    """Seed Python's ``random``, NumPy's global generator and torch (CPU and CUDA).

    The seed used is :func:`rnnlib.device.effective_seed` ``(seed)``: ``seed`` itself, unless
    the environment variable ``RNNLIB_SEED`` selects another seed family.

    Returns a fresh ``numpy.random.Generator`` seeded with that seed, which is what new code
    should draw from.
    """
    seed = effective_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    return np.random.default_rng(seed)
