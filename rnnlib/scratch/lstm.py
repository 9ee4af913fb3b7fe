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

import numpy as np

from rnnlib.scratch import _checks, _unroll
from rnnlib.scratch.layers import sigmoid

CELL = "lstm"


def _recurrence_forward(xw, state_prev, W_hh, b_hh):
    """One step, given the input projection xw = x_t W_ih^T + b_ih (N, 4H)."""
    h_prev, c_prev = state_prev
    # [a_i, a_f, a_g, a_o] = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh   (one product for all gates)
    a = xw + h_prev @ W_hh.T + b_hh
    a_i, a_f, a_g, a_o = np.split(a, 4, axis=1)
    # i = σ(a_i), f = σ(a_f), g = tanh(a_g), o = σ(a_o)
    i, f, g, o = sigmoid(a_i), sigmoid(a_f), np.tanh(a_g), sigmoid(a_o)
    # c_t = f ⊙ c_{t-1} + i ⊙ g
    c = f * c_prev + i * g
    # h_t = o ⊙ tanh(c_t)
    tanh_c = np.tanh(c)
    h = o * tanh_c
    return h, (h, c), (c_prev, i, f, g, o, tanh_c, W_hh)


def _recurrence_backward(dh, dstate, cache):
    c_prev, i, f, g, o, tanh_c, W_hh = cache
    dc = np.zeros_like(c_prev)
    # h_t is both the output and part of the next state: their gradients add up
    if dstate is not None:
        dh = dh + dstate[0]
        dc = dc + dstate[1]
    # h_t = o ⊙ tanh(c_t)  =>  do = dh ⊙ tanh(c_t),  dc_t += dh ⊙ o ⊙ (1 - tanh²(c_t))
    do = dh * tanh_c
    dc = dc + dh * o * (1 - tanh_c * tanh_c)
    # c_t = f ⊙ c_{t-1} + i ⊙ g  =>  df = dc ⊙ c_{t-1}, di = dc ⊙ g, dg = dc ⊙ i, dc_{t-1} = dc ⊙ f
    df, di, dg = dc * c_prev, dc * g, dc * i
    dc_prev = dc * f
    # σ' = σ (1 - σ),  tanh' = 1 - tanh²
    da = np.concatenate([di * i * (1 - i), df * f * (1 - f), dg * (1 - g * g), do * o * (1 - o)], axis=1)
    # a = xw + h_{t-1} W_hh^T + b_hh  =>  dh_{t-1} = da W_hh
    dh_prev = da @ W_hh
    return da, da, (dh_prev, dc_prev)


def step_forward(x, state, params):
    """One time step. x (N, D), state (h, c) each (N, H), or None (zeros).

    Returns ``(h_next, (h_next, c_next), cache)``.
    """
    state = _checks.step_args(CELL, x, state, params)
    return _unroll.step_forward(CELL, _recurrence_forward, x, state, params)


def step_backward(dh_next, dstate_next, cache):
    """Backward of one step. dh_next (N, H): gradient w.r.t. the output h_next;
    dstate_next: (dh, dc) w.r.t. the state passed on, or None. Returns ``(dx, (dh, dc), grads)``.
    """
    _checks.check_cache(CELL, cache, "step_forward", _unroll.StepCache)
    _checks.check_upstream(CELL, "dh_next", dh_next, "dstate_next", dstate_next, cache.h_prev.shape)
    return _unroll.step_backward(_recurrence_backward, dh_next, dstate_next, cache)


def forward(x, state0, params):
    """Run the LSTM over a sequence. x (N, T, D), state0 (h_0, c_0) or None (zeros).

    Returns ``(hs, (h_T, c_T), cache)``, hs (N, T, H).
    """
    state0 = _checks.sequence_args(CELL, x, state0, params)
    return _unroll.forward(CELL, _recurrence_forward, x, state0, params)


def backward(dhs, cache, dstate_T=None):
    """Backpropagation through time. dhs (N, T, H); dstate_T (dh_T, dc_T) or None.

    Returns ``(dx, (dh_0, dc_0), grads)``, dx (N, T, D), grads with the keys of params.
    """
    _checks.check_cache(CELL, cache, "forward", _unroll.SequenceCache)
    _checks.check_upstream(CELL, "dhs", dhs, "dstate_T", dstate_T, cache.h_prevs.shape)
    return _unroll.backward(_recurrence_backward, dhs, cache, dstate_T)
