r"""Synthetic long-dependency tasks, generated from a seeded NumPy ``Generator``.

* :func:`adding_problem` -- Hochreiter & Schmidhuber's adding problem in the form of Le et al.
  (2015): a sequence of random values in [0, 1] with two of them marked; the target is the sum
  of the two marked values. Predicting the constant 1 (the mean of the target) gives the mean
  squared error :math:`\mathrm{Var}(u_1 + u_2) = 2 \cdot \tfrac{1}{12} = \tfrac{1}{6}`, the
  baseline a model must beat to show that it carried information across the sequence.
* :func:`delayed_recall` -- a stream of random bits whose target at step t is the bit seen
  ``delay`` steps earlier: the dependency has a known, fixed length, which is what truncated
  backpropagation through time cannot learn when its window is shorter.
"""

import numpy as np

from rnnlib.validate import check_positive_int, check_rng

__all__ = ["adding_problem", "delayed_recall"]


def adding_problem(n, T, rng):
    r"""The adding problem: ``n`` sequences of length ``T``; target = sum of the two marked values.

    Channel 0 holds values :math:`u_t \sim U[0, 1]`; channel 1 is 1 at exactly two positions, one
    drawn uniformly from the first half ``[0, T//2)`` and one from the second half
    ``[T//2, T)`` (as in Le et al. 2015), and 0 elsewhere. The target is
    :math:`y = \sum_t u_t\, m_t`.

    Args:
        n: number of sequences (>= 1).
        T: sequence length (>= 2).
        rng: a ``numpy.random.Generator`` or an integer seed.

    Returns:
        ``(x, y)``: x (n, T, 2) float32, y (n, 1) float32.
    """
    check_positive_int("n", n)
    check_positive_int("T", T)
    if T < 2:
        raise ValueError(f"T must be >= 2 (two marked positions), got {T}")
    rng = check_rng(rng)
    values = rng.random((n, T))
    half = T // 2
    first = rng.integers(0, half, size=n)
    second = rng.integers(half, T, size=n)
    markers = np.zeros((n, T))
    rows = np.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = np.stack([values, markers], axis=-1).astype(np.float32)
    # sum of the two marked values, computed from the float32 inputs the model sees
    y = (x[..., 0] * x[..., 1]).sum(axis=1, keepdims=True, dtype=np.float64).astype(np.float32)
    return x, y


def delayed_recall(n, T, delay, rng):
    r"""Streams of random bits where the target at step t is the input bit at step t - delay.

    :math:`x_t \sim \mathrm{Bernoulli}(1/2)` and :math:`y_t = x_{t - \text{delay}}`. The first
    ``delay`` targets have nothing to recall and are set to -100, the ``ignore_index`` of
    ``torch.nn.functional.cross_entropy``. A model that has not learned the dependency is at
    chance: accuracy 1/2, cross-entropy :math:`\ln 2`.

    Args:
        n: number of streams (>= 1).
        T: length of each stream (> delay).
        delay: the length of the dependency (>= 1).
        rng: a ``numpy.random.Generator`` or an integer seed.

    Returns:
        ``(x, y)``: x (n, T) int64 bits, y (n, T) int64 in {0, 1, -100}.
    """
    check_positive_int("n", n)
    check_positive_int("T", T)
    check_positive_int("delay", delay)
    if T <= delay:
        raise ValueError(f"T must be greater than delay={delay}, got T={T}")
    rng = check_rng(rng)
    x = rng.integers(0, 2, size=(n, T)).astype(np.int64)
    y = np.full((n, T), -100, dtype=np.int64)
    y[:, delay:] = x[:, :-delay]
    return x, y
