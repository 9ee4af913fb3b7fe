"""Evaluation metrics shared by the chapters.

Functions here take plain numbers, NumPy arrays or torch tensors and return Python floats.
Append new metrics below (with a docstring giving the formula, and a unit test).
"""

import math

import numpy as np

__all__ = ["perplexity", "bits_per_token", "accuracy"]


def perplexity(mean_nll):
    """Perplexity from the mean negative log-likelihood in nats: :math:`\\exp(\\bar{\\ell})`."""
    return math.exp(float(mean_nll))


def bits_per_token(mean_nll):
    """Bits per token (bits per character for a character model): :math:`\\bar{\\ell} / \\ln 2`."""
    return float(mean_nll) / math.log(2.0)


def accuracy(predictions, targets, mask=None):
    """Fraction of positions where ``predictions == targets`` (only where ``mask`` is True).

    Shapes: ``predictions`` and ``targets`` any equal shape; ``mask`` the same shape or None.
    """
    predictions = np.asarray(_to_numpy(predictions))
    targets = np.asarray(_to_numpy(targets))
    if predictions.shape != targets.shape:
        raise ValueError(
            f"predictions must have the same shape as targets {targets.shape}, got {predictions.shape}"
        )
    correct = predictions == targets
    if mask is not None:
        mask = np.asarray(_to_numpy(mask), dtype=bool)
        if mask.shape != targets.shape:
            raise ValueError(f"mask must have shape {targets.shape}, got {mask.shape}")
        if not mask.any():
            raise ValueError("mask must keep at least one position, got an all-False mask")
        return float(correct[mask].mean())
    if correct.size == 0:
        raise ValueError("predictions must not be empty")
    return float(correct.mean())


def _to_numpy(x):
    return x.detach().cpu().numpy() if hasattr(x, "detach") else x
