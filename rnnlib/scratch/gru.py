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

from typing import NamedTuple

import numpy as np

from rnnlib.scratch import _checks, unroll
from rnnlib.scratch.layers import sigmoid

CELL = "gru"


class StepCache(NamedTuple):
    x: np.ndarray  # (N, D)
    h_prev: np.ndarray  # (N, H)
    h_n: np.ndarray  # (N, H) the candidate's projection of h_{t-1}, W_hn h_{t-1} + b_hn
    r: np.ndarray  # (N, H) gates, after their nonlinearity
    z: np.ndarray
    n: np.ndarray
    params: dict


def step_forward(x, state, params):
    """One time step. x (N, D), state h (N, H) or None (zeros).

    Returns ``(h_next, state_next, cache)``; state_next is h_next itself.
    """
    h_prev = _checks.step_args(CELL, x, state, params)
    # [x_r, x_z, x_n] = x_t W_ih^T + b_ih   (all three gates at once)
    x_r, x_z, x_n = np.split(x @ params["W_ih"].T + params["b_ih"], 3, axis=1)
    # [h_r, h_z, h_n] = h_{t-1} W_hh^T + b_hh
    h_r, h_z, h_n = np.split(h_prev @ params["W_hh"].T + params["b_hh"], 3, axis=1)
    # r = σ(x_r + h_r),  z = σ(x_z + h_z)
    r, z = sigmoid(x_r + h_r), sigmoid(x_z + h_z)
    # n = tanh(x_n + r ⊙ h_n)
    n = np.tanh(x_n + r * h_n)
    # h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}
    h = (1 - z) * n + z * h_prev
    return h, h, StepCache(x, h_prev, h_n, r, z, n, params)


def step_backward(dh_next, dstate_next, cache):
    """Backward of one step. dh_next (N, H); dstate_next (N, H) or None.

    Returns ``(dx, dstate, grads)``.
    """
    _checks.step_backward_args(CELL, dh_next, dstate_next, cache, StepCache)
    x, h_prev, h_n, r, z, n, params = cache
    # h_t is both the output and the state passed on: its two gradients add up
    dh = dh_next if dstate_next is None else dh_next + dstate_next
    # h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}  =>  dn = dh ⊙ (1 - z),  dz = dh ⊙ (h_{t-1} - n)
    dn, dz = dh * (1 - z), dh * (h_prev - n)
    # n = tanh(a_n), a_n = x_n + r ⊙ h_n  =>  da_n = dn ⊙ (1 - n²),  dr = da_n ⊙ h_n,  dh_n = da_n ⊙ r
    da_n = dn * (1 - n**2)
    dr, dh_n = da_n * h_n, da_n * r
    # r = σ(x_r + h_r), z = σ(x_z + h_z),  σ' = σ (1 - σ)
    da_r, da_z = dr * r * (1 - r), dz * z * (1 - z)
    # [x_r, x_z, x_n] = x_t W_ih^T + b_ih  =>  dx_t = d[x_r, x_z, x_n] W_ih
    dxw = np.concatenate([da_r, da_z, da_n], axis=1)
    dx = dxw @ params["W_ih"]
    # [h_r, h_z, h_n] = h_{t-1} W_hh^T + b_hh, and h_t = ... + z ⊙ h_{t-1}  =>  dh_{t-1} = d[h_r, h_z, h_n] W_hh + dh ⊙ z
    dhw = np.concatenate([da_r, da_z, dh_n], axis=1)
    dh_prev = dhw @ params["W_hh"] + dh * z
    # dW_ih = dxw^T x_t,  dW_hh = dhw^T h_{t-1},  db_ih = Σ_n dxw,  db_hh = Σ_n dhw
    grads = {"W_ih": dxw.T @ x, "W_hh": dhw.T @ h_prev, "b_ih": dxw.sum(axis=0), "b_hh": dhw.sum(axis=0)}
    return dx, dh_prev, grads


def forward(x, state0, params):
    """Run the GRU over a sequence (:func:`rnnlib.scratch.unroll.forward`).

    x (N, T, D), state0 h_0 (N, H) or None (zeros). Returns ``(hs, h_T, cache)``, hs (N, T, H).
    """
    return unroll.forward(CELL, x, state0, params)


def backward(dhs, cache, dstate_T=None):
    """Backpropagation through time (:func:`rnnlib.scratch.unroll.backward`).

    dhs (N, T, H); dstate_T (N, H) or None. Returns ``(dx, dh_0, grads)``, dx (N, T, D),
    grads with the keys of params.
    """
    return unroll.backward(CELL, dhs, cache, dstate_T)
