r"""Vanilla (Elman) RNN in NumPy, with a hand-written backward pass.

The cell, in PyTorch's layout (``torch.nn.RNN``):

.. math::

    a_t = x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh}, \qquad
    h_t = \phi(a_t), \quad \phi = \tanh \text{ or } \mathrm{relu}

Shapes: x_t (N, D), h_t (N, H), W_ih (H, D), W_hh (H, H), b_ih (H,), b_hh (H,).
The state is the array h. ``params`` is a dict with keys ``W_ih, W_hh, b_ih, b_hh``.

Four functions, the same in ``lstm`` and ``gru``::

    h_next, state_next, cache = step_forward(x, state, params)       # x (N, D)
    dx, dstate, grads = step_backward(dh_next, dstate_next, cache)     # dstate_next may be None
    hs, state_T, cache = forward(x, state0, params)                    # x (N, T, D), hs (N, T, H)
    dx, dstate0, grads = backward(dhs, cache, dstate_T=None)           # grads: keys of params

The step functions hold the cell's equations; ``forward`` and ``backward`` run them over time
with :mod:`rnnlib.scratch.unroll`, the loop shared by the three cells.
"""

from typing import NamedTuple

import numpy as np

from rnnlib.scratch import _checks, unroll

CELL = "rnn"


class StepCache(NamedTuple):
    x: np.ndarray  # (N, D)
    h_prev: np.ndarray  # (N, H)
    h: np.ndarray  # (N, H) h_t
    params: dict
    nonlinearity: str


def step_forward(x, state, params, nonlinearity="tanh"):
    """One time step. x (N, D), state h (N, H) or None (zeros).

    Returns ``(h_next, state_next, cache)``; for the RNN, state_next is h_next itself.
    """
    h_prev = _checks.step_args(CELL, x, state, params, nonlinearity)
    # a_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh
    a = x @ params["W_ih"].T + params["b_ih"] + h_prev @ params["W_hh"].T + params["b_hh"]
    # h_t = tanh(a_t)  or  h_t = max(a_t, 0)
    h = np.tanh(a) if nonlinearity == "tanh" else np.maximum(a, 0)
    return h, h, StepCache(x, h_prev, h, params, nonlinearity)


def step_backward(dh_next, dstate_next, cache):
    """Backward of one step.

    dh_next (N, H): gradient w.r.t. the step's output h_next; dstate_next (N, H) or None:
    gradient w.r.t. the state passed on to the next step. Returns ``(dx, dstate, grads)``:
    dx (N, D), dstate (N, H) for the input state, grads a dict with the keys of params.
    """
    _checks.step_backward_args(CELL, dh_next, dstate_next, cache, StepCache)
    x, h_prev, h, params, nonlinearity = cache
    # h_t is both the output and the state passed on: its two gradients add up
    dh = dh_next if dstate_next is None else dh_next + dstate_next
    # tanh'(a) = 1 - tanh²(a) = 1 - h²;   relu'(a) = 1 where a > 0, i.e. where h > 0
    da = dh * (1 - h**2) if nonlinearity == "tanh" else dh * (h > 0)
    # a_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh  =>  dx_t = da W_ih,  dh_{t-1} = da W_hh
    dx = da @ params["W_ih"]
    dh_prev = da @ params["W_hh"]
    # ... and dW_ih = da^T x_t,  dW_hh = da^T h_{t-1},  db_ih = db_hh = Σ_n da
    grads = {"W_ih": da.T @ x, "W_hh": da.T @ h_prev, "b_ih": da.sum(axis=0), "b_hh": da.sum(axis=0)}
    return dx, dh_prev, grads


def forward(x, state0, params, nonlinearity="tanh"):
    """Run the RNN over a sequence (:func:`rnnlib.scratch.unroll.forward`).

    x (N, T, D), state0 h_0 (N, H) or None (zeros). Returns ``(hs, state_T, cache)``:
    hs (N, T, H) every hidden state, state_T = h_T (N, H).
    """
    return unroll.forward(CELL, x, state0, params, nonlinearity=nonlinearity)


def backward(dhs, cache, dstate_T=None):
    """Backpropagation through time (:func:`rnnlib.scratch.unroll.backward`).

    dhs (N, T, H): gradient w.r.t. every output h_t; dstate_T (N, H) or None: gradient w.r.t.
    the final state. Returns ``(dx, dstate0, grads)``: dx (N, T, D), dstate0 (N, H), and grads,
    a dict with the keys of params.
    """
    return unroll.backward(CELL, dhs, cache, dstate_T)


