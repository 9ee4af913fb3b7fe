r"""Long short-term memory (LSTM) in NumPy, with a hand-written backward pass.

The cell, in PyTorch's layout (``torch.nn.LSTM``, gate order i, f, g, o):

.. math::

    [a_i, a_f, a_g, a_o] &= x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh} \\
    i = \sigma(a_i), \quad f &= \sigma(a_f), \quad g = \tanh(a_g), \quad o = \sigma(a_o) \\
    c_t &= f \odot c_{t-1} + i \odot g \\
    h_t &= o \odot \tanh(c_t)

Shapes: x_t (N, D), h_t and c_t (N, H), W_ih (4H, D), W_hh (4H, H), b_ih and b_hh (4H,).
The state is the tuple (h, c). The four functions are those of :mod:`rnnlib.scratch.rnn`;
dstate_next, dstate_T and the returned dstate are tuples (dh, dc).
"""

from typing import NamedTuple

import numpy as np

from rnnlib.scratch import _checks, unroll
from rnnlib.scratch.layers import sigmoid

CELL = "lstm"


class StepCache(NamedTuple):
    x: np.ndarray  # (N, D)
    h_prev: np.ndarray  # (N, H)
    c_prev: np.ndarray  # (N, H)
    i: np.ndarray  # (N, H) gates, after their nonlinearity
    f: np.ndarray
    g: np.ndarray
    o: np.ndarray
    tanh_c: np.ndarray  # (N, H) tanh(c_t)
    params: dict


def step_forward(x, state, params):
    """One time step. x (N, D), state (h, c) each (N, H), or None (zeros).

    Returns ``(h_next, (h_next, c_next), cache)``.
    """
    h_prev, c_prev = _checks.step_args(CELL, x, state, params)
    # [a_i, a_f, a_g, a_o] = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh   (all four gates at once)
    a = x @ params["W_ih"].T + params["b_ih"] + h_prev @ params["W_hh"].T + params["b_hh"]
    a_i, a_f, a_g, a_o = np.split(a, 4, axis=1)
    # i = σ(a_i), f = σ(a_f), g = tanh(a_g), o = σ(a_o)
    i, f, g, o = sigmoid(a_i), sigmoid(a_f), np.tanh(a_g), sigmoid(a_o)
    # c_t = f ⊙ c_{t-1} + i ⊙ g
    c_next = f * c_prev + i * g
    # h_t = o ⊙ tanh(c_t)
    tanh_c = np.tanh(c_next)
    h_next = o * tanh_c
    return h_next, (h_next, c_next), StepCache(x, h_prev, c_prev, i, f, g, o, tanh_c, params)


def step_backward(dh_next, dstate_next, cache):
    """Backward of one step. dh_next (N, H): gradient w.r.t. the output h_next;
    dstate_next: (dh, dc) w.r.t. the state passed on, or None. Returns ``(dx, (dh, dc), grads)``.
    """
    _checks.step_backward_args(CELL, dh_next, dstate_next, cache, StepCache)
    x, h_prev, c_prev, i, f, g, o, tanh_c, params = cache
    # h_t is the output and part of the state passed on: its two gradients add up
    dh = dh_next if dstate_next is None else dh_next + dstate_next[0]
    dc = np.zeros_like(c_prev) if dstate_next is None else dstate_next[1]
    # h_t = o ⊙ tanh(c_t)  =>  do = dh ⊙ tanh(c_t),  dc_t += dh ⊙ o ⊙ (1 - tanh²(c_t))
    do = dh * tanh_c
    dc = dc + dh * o * (1 - tanh_c**2)
    # c_t = f ⊙ c_{t-1} + i ⊙ g  =>  di = dc ⊙ g,  df = dc ⊙ c_{t-1},  dg = dc ⊙ i,  dc_{t-1} = dc ⊙ f
    di, df, dg = dc * g, dc * c_prev, dc * i
    dc_prev = dc * f
    # i, f, o = σ(a), g = tanh(a):  σ' = σ (1 - σ),  tanh' = 1 - tanh²
    da = np.concatenate([di * i * (1 - i), df * f * (1 - f), dg * (1 - g**2), do * o * (1 - o)], axis=1)
    # a = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh  =>  dx_t = da W_ih,  dh_{t-1} = da W_hh
    dx = da @ params["W_ih"]
    dh_prev = da @ params["W_hh"]
    # ... and dW_ih = da^T x_t,  dW_hh = da^T h_{t-1},  db_ih = db_hh = Σ_n da
    grads = {"W_ih": da.T @ x, "W_hh": da.T @ h_prev, "b_ih": da.sum(axis=0), "b_hh": da.sum(axis=0)}
    return dx, (dh_prev, dc_prev), grads


def forward(x, state0, params):
    """Run the LSTM over a sequence (:func:`rnnlib.scratch.unroll.forward`).

    x (N, T, D), state0 (h_0, c_0) or None (zeros). Returns ``(hs, (h_T, c_T), cache)``, hs (N, T, H).
    """
    return unroll.forward(CELL, x, state0, params)


def backward(dhs, cache, dstate_T=None):
    """Backpropagation through time (:func:`rnnlib.scratch.unroll.backward`).

    dhs (N, T, H); dstate_T (dh_T, dc_T) or None. Returns ``(dx, (dh_0, dc_0), grads)``,
    dx (N, T, D), grads with the keys of params.
    """
    return unroll.backward(CELL, dhs, cache, dstate_T)


