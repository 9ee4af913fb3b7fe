"""Checker for the scaling appendix: what DistributedDataParallel's all-reduce computes.

Each of K ranks computes gradients on its own shard of the batch; DDP sums them across ranks
with an all-reduce and divides by K, so every replica applies the same update

.. math:: g = \\frac{1}{K} \\sum_{k=1}^{K} g_k,

which equals the gradient of the mean loss over the whole (K times larger) batch when the
shards have equal size.
"""

import numpy as np

from rnnlib.exercises._checking import Case, Mistake, check_function, linspace_array, random_array

__all__ = ["check_average_gradients"]


def _reference(grads_per_rank):
    """``[{name: (shape)} per rank]`` -> ``{name: mean over ranks}``."""
    return {name: np.mean([grads[name] for grads in grads_per_rank], axis=0) for name in grads_per_rank[0]}


def _summed(grads_per_rank):
    return {name: np.sum([grads[name] for grads in grads_per_rank], axis=0) for name in grads_per_rank[0]}


def _rank_zero_only(grads_per_rank):
    return {name: np.array(g) for name, g in grads_per_rank[0].items()}


def _mean_over_entries(grads_per_rank):
    return {name: np.full_like(g, np.mean([grads[name] for grads in grads_per_rank])) for name, g in grads_per_rank[0].items()}


def _fixed():
    ranks = [
        {"W_hh": linspace_array((3, 3), -1.0 + k, 1.0 + 2 * k), "b_hh": linspace_array((3,), k, 2 * k + 1)}
        for k in range(2)
    ]
    return (ranks,), {}


def _random(seed, world_size):
    def make():
        rng = np.random.default_rng(seed)
        ranks = [{"W_ih": random_array(rng, (4, 2)), "W_hh": random_array(rng, (4, 4)), "b_ih": random_array(rng, (4,))}
                 for _ in range(world_size)]
        return (ranks,), {}
    return make


def check_average_gradients(fn, verbose=True):
    """Check ``fn(grads_per_rank) -> averaged grads``: a list of K dicts of arrays in, one dict out.

    Hints recognise summing instead of averaging, keeping rank 0's gradient, and averaging the
    entries of each array instead of the ranks.
    """
    return check_function(
        "average_gradients (DDP's all-reduce mean)", fn, reference=_reference,
        cases=[Case("fixed inputs, 2 ranks", _fixed), Case("random inputs, 3 ranks", _random(0, 3)),
               Case("random inputs, 4 ranks", _random(1, 4))],
        output_names=("grads",),
        mistakes=[
            Mistake("you summed the gradients: all-reduce sums, then each rank divides by the world size K", _summed),
            Mistake("you returned rank 0's gradient: every rank's gradient must enter the average", _rank_zero_only),
            Mistake("you averaged over the entries of each array: average over the ranks (axis of the list), "
                    "entry by entry", _mean_over_entries),
        ],
        verbose=verbose,
    )
