r"""Gated recurrent unit (GRU) in NumPy, with a hand-written backward pass.

The cell, in PyTorch's layout and formula (``torch.nn.GRU``, gate order r, z, n):

.. math::

    [x_r, x_z, x_n] &= x_t W_{ih}^\top + b_{ih}, \qquad
    [h_r, h_z, h_n] = h_{t-1} W_{hh}^\top + b_{hh} \\
    r = \sigma(x_r + h_r), \quad z &= \sigma(x_z + h_z), \quad n = \tanh(x_n + r \odot h_n) \\
    h_t &= (1 - z) \odot n + z \odot h_{t-1}

The reset gate multiplies the *projected* h_n (bias included); Cho et al. (2014) reset h before
the product, (r ⊙ h_{t-1}) W_hn^T, a different function with the same parameters.
Shapes: x_t (N, D), h_t (N, H), W_ih (3H, D), W_hh (3H, H), b_ih and b_hh (3H,). The state is h.
The four functions are those of :mod:`rnnlib.scratch.rnn`.
"""

import numpy as np

from rnnlib.scratch import _checks, _unroll
from rnnlib.scratch.layers import sigmoid

CELL = "gru"


def _recurrence_forward(xw, h_prev, W_hh, b_hh):
    """One step, given the input projection xw = x_t W_ih^T + b_ih (N, 3H)."""
    x_r, x_z, x_n = np.split(xw, 3, axis=1)
    # [h_r, h_z, h_n] = h_{t-1} W_hh^T + b_hh   (one product for all gates)
    h_r, h_z, h_n = np.split(h_prev @ W_hh.T + b_hh, 3, axis=1)
    # r = σ(x_r + h_r),  z = σ(x_z + h_z)
    r, z = sigmoid(x_r + h_r), sigmoid(x_z + h_z)
    # n = tanh(x_n + r ⊙ h_n)
    n = np.tanh(x_n + r * h_n)
    # h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}
    h = (1 - z) * n + z * h_prev
    return h, h, (h_prev, h_n, r, z, n, W_hh)


def _recurrence_backward(dh, dh_state, cache):
    h_prev, h_n, r, z, n, W_hh = cache
    # h_t is both the output and the next state: their gradients add up
    if dh_state is not None:
        dh = dh + dh_state
    # h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}  =>  dn = dh ⊙ (1 - z),  dz = dh ⊙ (h_{t-1} - n)
    dn, dz = dh * (1 - z), dh * (h_prev - n)
    # n = tanh(a_n), a_n = x_n + r ⊙ h_n  =>  da_n = dn ⊙ (1 - n²),  dr = da_n ⊙ h_n,  dh_n = da_n ⊙ r
    da_n = dn * (1 - n * n)
    dr, dh_n = da_n * h_n, da_n * r
    # r = σ(a_r), z = σ(a_z), σ' = σ (1 - σ)
    da_r, da_z = dr * r * (1 - r), dz * z * (1 - z)
    # xw = [x_r, x_z, x_n] and hw = [h_r, h_z, h_n] enter r and z alike, n differently
    dxw = np.concatenate([da_r, da_z, da_n], axis=1)
    dhw = np.concatenate([da_r, da_z, dh_n], axis=1)
    # h_{t-1} reaches h_t directly (z ⊙ h_{t-1}) and through hw = h_{t-1} W_hh^T + b_hh
    dh_prev = dh * z + dhw @ W_hh
    return dxw, dhw, dh_prev


def step_forward(x, state, params):
    """One time step. x (N, D), state h (N, H) or None (zeros).

    Returns ``(h_next, state_next, cache)``; state_next is h_next itself.
    """
    state = _checks.step_args(CELL, x, state, params)
    return _unroll.step_forward(CELL, _recurrence_forward, x, state, params)


def step_backward(dh_next, dstate_next, cache):
    """Backward of one step. dh_next (N, H); dstate_next (N, H) or None.

    Returns ``(dx, dstate, grads)``.
    """
    _checks.check_cache(CELL, cache, "step_forward", _unroll.StepCache)
    _checks.check_upstream(CELL, "dh_next", dh_next, "dstate_next", dstate_next, cache.h_prev.shape)
    return _unroll.step_backward(_recurrence_backward, dh_next, dstate_next, cache)


def forward(x, state0, params):
    """Run the GRU over a sequence. x (N, T, D), state0 h_0 (N, H) or None (zeros).

    Returns ``(hs, h_T, cache)``, hs (N, T, H).
    """
    state0 = _checks.sequence_args(CELL, x, state0, params)
    return _unroll.forward(CELL, _recurrence_forward, x, state0, params)


def backward(dhs, cache, dstate_T=None):
    """Backpropagation through time. dhs (N, T, H); dstate_T (N, H) or None.

    Returns ``(dx, dh_0, grads)``, dx (N, T, D), grads with the keys of params.
    """
    _checks.check_cache(CELL, cache, "forward", _unroll.SequenceCache)
    _checks.check_upstream(CELL, "dhs", dhs, "dstate_T", dstate_T, cache.h_prevs.shape)
    return _unroll.backward(_recurrence_backward, dhs, cache, dstate_T)
