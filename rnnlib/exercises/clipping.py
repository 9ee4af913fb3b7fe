r"""Checker for gradient-norm clipping (chapter 3): ``check_clip_grad_norm(my_fn)``.

The learner writes ``clip_grad_norm(grads, max_norm)`` with the semantics of
:func:`rnnlib.scratch.optim.clip_grad_norm` and ``torch.nn.utils.clip_grad_norm_``:
``grads`` is a dict of NumPy arrays, rescaled *in place*, and the function returns the total
norm before clipping,

.. math::

    \lVert g \rVert = \sqrt{\textstyle\sum_k \lVert g_k \rVert^2}, \qquad
    g_k \leftarrow g_k \cdot \min\!\Big(1, \frac{c}{\lVert g \rVert}\Big).

(The reference, like torch, divides by :math:`\lVert g \rVert + 10^{-6}`; the tolerance accepts
either form.) Four cases: two fixed (``np.linspace`` gradients, one above and one below the
threshold) and two random. The hints it recognises are in ``CLIP_MISTAKES``.
"""

import numpy as np

from rnnlib.exercises._checking import Case, Mistake, check_function, linspace_array, random_array
from rnnlib.scratch import optim

__all__ = ["check_clip_grad_norm", "CLIP_MISTAKES"]

# max_norm / (norm + 1e-6) against max_norm / norm differs by about 1e-6 / norm: every case that
# clips has a total norm above 5, so a relative error below 1e-6 accepts both and rejects every mistake
TOLERANCE = 1e-6


def _in_place(fn):
    """Run an in-place clip function and return what it left in ``grads``, with its return value."""

    def run(grads, max_norm):
        grads = {k: np.array(g, copy=True) for k, g in grads.items()}  # nothing leaks between calls
        total_norm = fn(grads, max_norm)
        if isinstance(total_norm, dict):
            raise AssertionError(
                "your function returned a dict: rescale the arrays of grads in place "
                "(g *= scale) and return the total norm before clipping, a float"
            )
        return grads, total_norm

    return run


def _fixed_large():
    grads = {"W_hh": linspace_array((3, 3), -2.0, 3.0), "b_hh": linspace_array((3,), 1.0, 2.0)}
    return (grads, 1.0), {}


def _fixed_small():
    grads = {"W_hh": linspace_array((2, 3), -0.3, 0.2), "b_hh": linspace_array((3,), 0.1, 0.4)}
    return (grads, 5.0), {}


def _random(seed, scales, max_norm):
    def make():
        rng = np.random.default_rng(seed)
        names = ["W_ih", "W_hh", "b_ih", "b_hh"][: len(scales)]
        shapes = [(4, 3), (4, 4), (4,), (4,)]
        grads = {name: random_array(rng, shape, scale) for name, shape, scale in zip(names, shapes, scales)}
        return (grads, max_norm), {}

    return make


def _total_norm(grads):
    return float(np.sqrt(sum(np.sum(g**2) for g in grads.values())))


def _planted_clip_value(grads, max_norm):
    total = _total_norm(grads)
    return {k: np.clip(g, -max_norm, max_norm) for k, g in grads.items()}, total


def _planted_always_scale(grads, max_norm):
    total = _total_norm(grads)
    return {k: g * (max_norm / total) for k, g in grads.items()}, total


def _planted_per_tensor(grads, max_norm):
    total = _total_norm(grads)
    return {k: g * min(1.0, max_norm / np.linalg.norm(g)) for k, g in grads.items()}, total


def _planted_sum_of_norms(grads, max_norm):
    total = float(sum(np.linalg.norm(g) for g in grads.values()))
    return {k: g * min(1.0, max_norm / total) for k, g in grads.items()}, total


def _planted_norm_after(grads, max_norm):
    total = _total_norm(grads)
    scale = min(1.0, max_norm / total)
    return {k: g * scale for k, g in grads.items()}, total * scale


CLIP_MISTAKES = [
    Mistake(
        "each entry was clipped to [-max_norm, max_norm] (clip_grad_value, as in min-char-rnn): that "
        "changes the gradient's direction. Scale ALL gradients by one factor, min(1, max_norm / total_norm).",
        _planted_clip_value,
    ),
    Mistake(
        "the gradients were scaled even though their norm was below max_norm, which blows small gradients "
        "up to max_norm. Only scale when total_norm > max_norm: the factor is min(1, max_norm / total_norm).",
        _planted_always_scale,
    ),
    Mistake(
        "each array was clipped by its own norm. Clipping uses ONE global norm over all arrays, "
        "sqrt(sum_k ||g_k||^2), and one factor for all of them, so the update keeps its direction.",
        _planted_per_tensor,
    ),
    Mistake(
        "the total norm was computed as the sum of the arrays' norms. The global norm is the norm of "
        "all entries together: sqrt(sum over arrays of sum(g**2)).",
        _planted_sum_of_norms,
    ),
    Mistake(
        "the returned value is the norm after clipping. Return the total norm BEFORE clipping "
        "(as torch.nn.utils.clip_grad_norm_ does): it is what you monitor to see gradients explode.",
        _planted_norm_after,
    ),
]


def check_clip_grad_norm(fn, verbose=True):
    """Check the learner's ``clip_grad_norm(grads, max_norm)``: in-place global-norm clipping.

    ``fn`` must rescale the arrays of the dict ``grads`` in place and return the total norm
    before clipping, as :func:`rnnlib.scratch.optim.clip_grad_norm` does. Prints a verdict and
    returns True, or raises ``AssertionError`` naming the output that differs and, when it
    recognises the mistake, a hint.
    """
    if not callable(fn):
        raise TypeError(f"fn must be a function clip_grad_norm(grads, max_norm), got {type(fn).__name__}")
    cases = [
        Case("fixed gradients, total norm 5.7 > max_norm 1", _fixed_large),
        Case("fixed gradients, total norm 0.65 < max_norm 5 (nothing to clip)", _fixed_small),
        Case("random gradients of 4 arrays, max_norm 5", _random(0, (20.0, 0.5, 3.0, 0.1), 5.0)),
        Case("random gradients of 2 arrays, max_norm 0.5", _random(1, (1.0, 8.0), 0.5)),
    ]
    return check_function(
        "clip_grad_norm", _in_place(fn), _in_place(optim.clip_grad_norm), cases,
        output_names=("grads", "total_norm"), mistakes=CLIP_MISTAKES, tolerance=TOLERANCE, verbose=verbose,
        fallback_hint="compute total_norm = sqrt(sum of g**2 over every array), then multiply every array "
                      "in place by min(1, max_norm / total_norm) and return total_norm.",
    )
