r"""Checker for the masked temporal softmax loss of a captioning model (chapter 7): ``check_caption_loss(my_fn)``.

The learner writes ``temporal_softmax_loss(logits, targets, mask) -> (loss, dlogits)`` with
logits (N, T, V), targets (N, T) integer and mask (N, T) boolean (True at real words, False at
padding), the semantics of :func:`rnnlib.scratch.layers.softmax_cross_entropy` and of
``torch.nn.functional.cross_entropy(..., ignore_index=pad)``:

.. math::

    L = \frac{1}{\sum_{n,t} m_{nt}} \sum_{n,t} m_{nt} \big(-\log \mathrm{softmax}(z_{nt})_{y_{nt}}\big),
    \qquad
    \frac{\partial L}{\partial z_{ntv}} = \frac{m_{nt}}{\sum m} \big(\mathrm{softmax}(z_{nt})_v - [v = y_{nt}]\big).

(CS231n's version divides by N, the number of captions, instead of the number of words: the
hints name that difference.) The hints it recognises are in ``CAPTION_LOSS_MISTAKES``.
"""

import numpy as np

from rnnlib.exercises._checking import Case, Mistake, check_function, linspace_array, random_array
from rnnlib.scratch.layers import softmax_cross_entropy

__all__ = ["check_caption_loss", "CAPTION_LOSS_MISTAKES"]


def _fixed():
    logits = linspace_array((2, 4, 5), -1.0, 1.5)
    targets = np.array([[1, 4, 2, 0], [3, 3, 0, 0]])
    mask = targets != 0
    return (logits, targets, mask), {}


def _random(seed, shape, scale):
    def make():
        rng = np.random.default_rng(seed)
        N, T, V = shape
        lengths = rng.integers(1, T + 1, size=N)
        mask = np.arange(T)[None, :] < lengths[:, None]
        targets = np.where(mask, rng.integers(1, V, size=(N, T)), 0)
        return (random_array(rng, shape, scale), targets, mask), {}

    return make


def _planted_no_mask(logits, targets, mask):
    return softmax_cross_entropy(logits, targets)


def _planted_per_caption(logits, targets, mask):
    loss, dlogits = softmax_cross_entropy(logits, targets, mask)
    scale = mask.sum() / logits.shape[0]
    return loss * scale, dlogits * scale


def _planted_all_positions(logits, targets, mask):
    loss, dlogits = softmax_cross_entropy(logits, targets, mask)
    scale = mask.sum() / mask.size
    return loss * scale, dlogits * scale


def _planted_unmasked_gradient(logits, targets, mask):
    loss, _ = softmax_cross_entropy(logits, targets, mask)
    _, dlogits = softmax_cross_entropy(logits, targets)
    return loss, dlogits * mask.size / mask.sum()


def _planted_no_onehot(logits, targets, mask):
    loss, dlogits = softmax_cross_entropy(logits, targets, mask)
    onehot = np.arange(logits.shape[-1]) == targets[..., None]
    return loss, dlogits + onehot * (mask[..., None] / mask.sum())


CAPTION_LOSS_MISTAKES = [
    Mistake(
        "the padding was counted: the loss averages over every position. Multiply each position's "
        "loss by the mask and divide by the number of real words, mask.sum().",
        _planted_no_mask,
    ),
    Mistake(
        "the loss was divided by N, the number of captions (CS231n's convention), not by the number "
        "of real words mask.sum(): with that, longer captions weigh more and the learning rate "
        "depends on caption length. Divide the loss and dlogits by mask.sum().",
        _planted_per_caption,
    ),
    Mistake(
        "the masked sum was divided by N * T, every position, padding included. Divide by the "
        "number of real words, mask.sum().",
        _planted_all_positions,
    ),
    Mistake(
        "the loss is masked but dlogits is not: padded positions get a gradient. Multiply dlogits "
        "by mask[..., None] (and divide by mask.sum()).",
        _planted_unmasked_gradient,
    ),
    Mistake(
        "dlogits is the softmax without subtracting the one-hot target: the gradient of "
        "-log softmax(z)_y is softmax(z) - onehot(y).",
        _planted_no_onehot,
    ),
]


def check_caption_loss(fn, verbose=True):
    """Check the learner's ``temporal_softmax_loss(logits, targets, mask) -> (loss, dlogits)``.

    Compares with :func:`rnnlib.scratch.layers.softmax_cross_entropy` on a fixed
    (``np.linspace``) case and three random ones (one with logits of size 500, where an
    exponential without subtracting the maximum overflows). Prints a verdict and returns True,
    or raises ``AssertionError`` naming what differs and, when it recognises the mistake, a hint.
    """
    cases = [
        Case("fixed logits (2, 4, 5), 3 padded positions", _fixed),
        Case("random logits (3, 6, 7)", _random(0, (3, 6, 7), 1.0)),
        Case("random logits (4, 5, 9)", _random(1, (4, 5, 9), 3.0)),
        Case("random logits (2, 8, 6) of size 500", _random(2, (2, 8, 6), 500.0)),
    ]
    return check_function(
        "temporal softmax loss",
        fn,
        reference=softmax_cross_entropy,
        cases=cases,
        output_names=("loss", "dlogits"),
        mistakes=CAPTION_LOSS_MISTAKES,
        tolerance=1e-7,
        verbose=verbose,
        fallback_hint="compute log-softmax with the row maximum subtracted, pick the target's "
        "log-probability, multiply by the mask and divide by mask.sum().",
    )
