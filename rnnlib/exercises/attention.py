r"""Checker for masked (scaled) dot-product attention (chapter 6): ``check_attention(my_fn)``.

The learner writes ``attention(query, keys, values, mask) -> (context, weights)`` in NumPy:

.. math::

    e_s = \frac{q \cdot k_s}{\sqrt{H}}, \qquad
    \alpha = \mathrm{softmax}_s(e) \ \text{with } e_s = -\infty \text{ where mask}_s \text{ is False}, \qquad
    c = \textstyle\sum_s \alpha_s v_s

Shapes: query (N, H), keys (N, S, H), values (N, S, Hv), mask (N, S) boolean (True = a real
token, False = padding); context (N, Hv), weights (N, S). The reference is
:func:`rnnlib.scratch.attention.dot_product_attention_forward`. Four cases: one fixed
(``np.linspace`` inputs) and three random, every one with padded positions, so that a function
that ignores the mask cannot pass. The hints it recognises are in ``ATTENTION_MISTAKES``.
"""

import numpy as np

from rnnlib.exercises._checking import Case, Mistake, check_function, linspace_array, random_array
from rnnlib.scratch.attention import dot_product_attention_forward

__all__ = ["check_attention", "ATTENTION_MISTAKES"]


def _reference(query, keys, values, mask):
    context, weights, _ = dot_product_attention_forward(query, keys, values, mask=mask, scaled=True)
    return context, weights


def _softmax(scores, axis=-1):
    exp = np.exp(scores - scores.max(axis=axis, keepdims=True))
    return exp / exp.sum(axis=axis, keepdims=True)


def _scores(query, keys, scale=True):
    scores = np.einsum("nsh,nh->ns", keys, query)
    return scores / np.sqrt(query.shape[1]) if scale else scores


def _attend(weights, values):
    return np.einsum("ns,nsh->nh", weights, values), weights


def _planted_no_mask(query, keys, values, mask):
    return _attend(_softmax(_scores(query, keys)), values)


def _planted_zero_fill(query, keys, values, mask):
    # the score of a padded position set to 0 still gets weight exp(0) / Z
    return _attend(_softmax(np.where(mask, _scores(query, keys), 0.0)), values)


def _planted_mask_after_softmax(query, keys, values, mask):
    # zeroing weights after the softmax leaves rows that no longer sum to one
    return _attend(_softmax(_scores(query, keys)) * mask, values)


def _planted_wrong_axis(query, keys, values, mask):
    scores = np.where(mask, _scores(query, keys), -np.inf)
    return _attend(_softmax_over_batch(scores), values)


def _softmax_over_batch(scores):
    # softmax over axis 0 (the batch); a column of -inf gives nan, as the learner's code would
    with np.errstate(invalid="ignore"):
        return _softmax(scores, axis=0)


def _planted_no_scale(query, keys, values, mask):
    return _attend(_softmax(np.where(mask, _scores(query, keys, scale=False), -np.inf)), values)


def _planted_scale_by_h(query, keys, values, mask):
    scores = np.einsum("nsh,nh->ns", keys, query) / query.shape[1]
    return _attend(_softmax(np.where(mask, scores, -np.inf)), values)


ATTENTION_MISTAKES = [
    Mistake(
        "the mask is ignored: padded positions get attention weight. Set their scores to -inf "
        "(np.where(mask, scores, -np.inf)) before the softmax, so their weight is exactly 0",
        _planted_no_mask,
    ),
    Mistake(
        "padded scores are set to 0 instead of -inf before the softmax: exp(0) = 1 still gives "
        "them weight. Use -np.inf, so exp(-inf) = 0",
        _planted_zero_fill,
    ),
    Mistake(
        "the weights are zeroed after the softmax, so they no longer sum to 1 over the real tokens. "
        "Mask the scores (to -inf) before the softmax instead",
        _planted_mask_after_softmax,
    ),
    Mistake(
        "the softmax runs over the wrong axis (the batch, axis 0): normalise over the source "
        "positions, axis=-1 of the (N, S) scores",
        _planted_wrong_axis,
    ),
    Mistake(
        "the scores are not scaled: divide q . k by sqrt(H) (H = query size), as in scaled "
        "dot-product attention, so the softmax does not saturate as H grows",
        _planted_no_scale,
    ),
    Mistake("the scores are divided by H: the scale is 1 / sqrt(H)", _planted_scale_by_h),
]


def _lengths_mask(lengths, S):
    return np.arange(S)[None, :] < np.asarray(lengths)[:, None]


def _fixed():
    query = linspace_array((2, 4), -1.0, 1.5)
    keys = linspace_array((2, 5, 4), -2.0, 2.0)
    values = linspace_array((2, 5, 3), 0.5, -1.5)
    return (query, keys, values, _lengths_mask([3, 5], 5)), {}


def _random(seed, N, S, H, Hv, lengths):
    def make():
        rng = np.random.default_rng(seed)
        query = random_array(rng, (N, H), 2.0)  # large enough that the 1/sqrt(H) scale matters
        keys = random_array(rng, (N, S, H))
        values = random_array(rng, (N, S, Hv))
        return (query, keys, values, _lengths_mask(lengths, S)), {}

    return make


def check_attention(fn, verbose=True):
    """Check the learner's masked scaled dot-product attention; print a verdict, raise with a hint.

    Args:
        fn: ``fn(query (N, H), keys (N, S, H), values (N, S, Hv), mask (N, S) bool) ->
            (context (N, Hv), weights (N, S))``, NumPy arrays, mask True at real tokens.

    Returns:
        True when ``fn`` matches the reference on every case; otherwise raises ``AssertionError``.
    """
    cases = [
        Case("fixed linspace inputs, lengths (3, 5)", _fixed),
        Case("random N=3, S=6, H=8, lengths (2, 6, 4)", _random(0, 3, 6, 8, 5, [2, 6, 4])),
        Case("random N=4, S=7, H=16, lengths (7, 3, 5, 2)", _random(1, 4, 7, 16, 6, [7, 3, 5, 2])),
        Case("random N=2, S=9, H=5, lengths (9, 4)", _random(2, 2, 9, 5, 3, [9, 4])),
    ]
    return check_function(
        "masked dot-product attention",
        fn,
        reference=_reference,
        cases=cases,
        output_names=("context", "weights"),
        mistakes=ATTENTION_MISTAKES,
        verbose=verbose,
        fallback_hint="compute e = keys @ q / sqrt(H), set e to -inf where mask is False, "
        "softmax over the source positions (axis -1), then context = sum_s alpha_s v_s",
    )
