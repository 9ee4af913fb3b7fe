"""Unrolling a cell over time, and backpropagation through time (BPTT), written once for every cell.

``cell`` is one of the modules :mod:`rnnlib.scratch.rnn`, :mod:`~rnnlib.scratch.lstm`,
:mod:`~rnnlib.scratch.gru` (or its name, ``"lstm"``); ``options`` (``nonlinearity="relu"``) go to
its ``step_forward``. Each cell's own ``forward`` and ``backward`` call these two functions::

    hs, state_T, cache = forward(cell, x, state0, params)    # x (N, T, D), hs (N, T, H)
    dx, dstate0, grads = backward(cell, dhs, cache, dstate_T=None)

``forward`` calls ``cell.step_forward`` for t = 1, ..., T, each step reading the state the previous
one returned. ``backward`` walks back from t = T to 1: ``cell.step_backward`` turns the gradient
arriving at step t (from the loss, ``dhs[:, t]``, and from step t+1, ``dstate``) into the gradient
of step t's input x_t, of the state it read, and of the weights. The weights are the same at
every step, so their gradient is the sum of the steps' gradients.
"""

from typing import NamedTuple

import numpy as np

from rnnlib.layout import PARAM_KEYS
from rnnlib.scratch import _checks


class SequenceCache(NamedTuple):
    cell: str  # "rnn", "lstm" or "gru"
    steps: list  # the cache of every step, t = 1..T


def forward(cell, x, state0, params, **options):
    """Run ``cell`` over x (N, T, D) from state0 (None: zeros). Returns ``(hs, state_T, cache)``."""
    cell = _checks.cell_module(cell)
    state = _checks.sequence_args(cell.CELL, x, state0, params, **options)
    hs, caches = [], []
    for t in range(x.shape[1]):
        # h_t, state_t = cell(x_t, state_{t-1})
        h, state, cache = cell.step_forward(x[:, t], state, params, **options)
        hs.append(h)
        caches.append(cache)
    return np.stack(hs, axis=1), state, SequenceCache(cell.CELL, caches)


def backward(cell, dhs, cache, dstate_T=None):
    """BPTT. dhs (N, T, H): gradient w.r.t. every h_t; dstate_T: w.r.t. the final state, or None.

    Returns ``(dx, dstate0, grads)``: dx (N, T, D), dstate0 shaped like the state, grads with
    the keys of params.
    """
    cell = _checks.cell_module(cell)
    _checks.sequence_backward_args(cell.CELL, dhs, cache, dstate_T, SequenceCache)
    grads = {key: 0 for key in PARAM_KEYS}
    dxs = [None] * len(cache.steps)
    dstate = dstate_T
    for t in reversed(range(len(cache.steps))):
        # the gradient w.r.t. state_t flows back to step t-1; dhs[:, t] is what the loss adds to h_t
        dxs[t], dstate, step_grads = cell.step_backward(dhs[:, t], dstate, cache.steps[t])
        # the weights are shared by every step: dL/dW = sum over t of step t's dL/dW
        for key in grads:
            grads[key] += step_grads[key]
    return np.stack(dxs, axis=1), dstate, grads
