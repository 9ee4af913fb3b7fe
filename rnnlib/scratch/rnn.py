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
"""

import numpy as np

from rnnlib.scratch import _checks, _unroll

CELL = "rnn"


def _recurrence_forward(xw, h_prev, W_hh, b_hh, nonlinearity="tanh"):
    """One step, given the input projection xw = x_t W_ih^T + b_ih (N, H)."""
    # a_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh
    a = xw + h_prev @ W_hh.T + b_hh
    # h_t = tanh(a_t)  or  h_t = max(a_t, 0)
    h = np.tanh(a) if nonlinearity == "tanh" else np.maximum(a, 0)
    return h, h, (h, W_hh, nonlinearity)


def _recurrence_backward(dh, dh_state, cache):
    h, W_hh, nonlinearity = cache
    # h_t is both the output and the next state: their gradients add up
    if dh_state is not None:
        dh = dh + dh_state
    # tanh'(a) = 1 - tanh(a)^2 = 1 - h^2;   relu'(a) = 1 where a > 0, i.e. where h > 0
    da = dh * (1 - h * h) if nonlinearity == "tanh" else dh * (h > 0)
    # a_t = xw + h_{t-1} W_hh^T + b_hh  =>  dh_{t-1} = da W_hh
    dh_prev = da @ W_hh
    return da, da, dh_prev


def step_forward(x, state, params, nonlinearity="tanh"):
    """One time step. x (N, D), state h (N, H) or None (zeros).

    Returns ``(h_next, state_next, cache)``; for the RNN, state_next is h_next itself.
    """
    _checks.check_nonlinearity(nonlinearity)
    state = _checks.step_args(CELL, x, state, params)
    return _unroll.step_forward(CELL, _recurrence_forward, x, state, params, nonlinearity=nonlinearity)


def step_backward(dh_next, dstate_next, cache):
    """Backward of one step.

    dh_next (N, H): gradient w.r.t. the step's output h_next; dstate_next (N, H) or None:
    gradient w.r.t. the state passed on to the next step. Returns ``(dx, dstate, grads)``:
    dx (N, D), dstate (N, H) for the input state, grads a dict with the keys of params.
    """
    _checks.check_cache(CELL, cache, "step_forward", _unroll.StepCache)
    _checks.check_upstream(CELL, "dh_next", dh_next, "dstate_next", dstate_next, cache.h_prev.shape)
    return _unroll.step_backward(_recurrence_backward, dh_next, dstate_next, cache)


def forward(x, state0, params, nonlinearity="tanh"):
    """Run the RNN over a sequence. x (N, T, D), state0 h_0 (N, H) or None (zeros).

    Returns ``(hs, state_T, cache)``: hs (N, T, H) every hidden state, state_T = h_T (N, H).
    """
    _checks.check_nonlinearity(nonlinearity)
    state0 = _checks.sequence_args(CELL, x, state0, params)
    return _unroll.forward(CELL, _recurrence_forward, x, state0, params, nonlinearity=nonlinearity)


def backward(dhs, cache, dstate_T=None):
    """Backpropagation through time.

    dhs (N, T, H): gradient w.r.t. every output h_t; dstate_T (N, H) or None: gradient w.r.t.
    the final state. Returns ``(dx, dstate0, grads)``: dx (N, T, D), dstate0 (N, H), and grads,
    a dict with the keys of params.
    """
    _checks.check_cache(CELL, cache, "forward", _unroll.SequenceCache)
    _checks.check_upstream(CELL, "dhs", dhs, "dstate_T", dstate_T, cache.h_prevs.shape)
    return _unroll.backward(_recurrence_backward, dhs, cache, dstate_T)
