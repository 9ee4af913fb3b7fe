"""Unrolling a cell over time and backpropagation through time, written once for every cell.

Every recurrent cell of this package computes, at each step,

    a_t = (x_t W_ih^T + b_ih)  combined with  (h_{t-1} W_hh^T + b_hh)

and then its own gate arithmetic. The input part does not depend on the recurrence, so
``forward`` computes it for all T steps in ONE matrix product before the loop, and
``backward`` turns the gradients of all T steps back into dx, dW_ih, dW_hh with one matrix
product each after the loop. Only the cell's own arithmetic runs step by step.

A cell module supplies two functions (see ``rnn.py``, ``lstm.py``, ``gru.py``):

    h, state, cache = recurrence_forward(xw, state_prev, W_hh, b_hh, **options)
        xw (N, G*H) = x_t W_ih^T + b_ih, the input projection of this step.
    dxw, dhw, dstate_prev = recurrence_backward(dh, dstate, cache)
        dxw (N, G*H): gradient w.r.t. xw;  dhw (N, G*H): gradient w.r.t. h_{t-1} W_hh^T + b_hh;
        dstate_prev: gradient w.r.t. the previous state (including the path through W_hh).
"""

from typing import NamedTuple

import numpy as np


class StepCache(NamedTuple):
    cell: str  # "rnn", "lstm" or "gru"
    x: np.ndarray  # (N, D) input of the step
    h_prev: np.ndarray  # (N, H) hidden state the step started from
    W_ih: np.ndarray  # (G*H, D)
    inner: tuple  # the cell's recurrence cache


class SequenceCache(NamedTuple):
    cell: str
    x: np.ndarray  # (N, T, D)
    h_prevs: np.ndarray  # (N, T, H): h_{t-1} for every t
    W_ih: np.ndarray  # (G*H, D)
    inner: list  # T recurrence caches


def hidden(state):
    """The hidden state h of a state h or (h, c)."""
    return state[0] if isinstance(state, tuple) else state


def param_grads(x, h_prev, dxw, dhw):
    """Weight gradients from the projections' gradients, over all rows (and steps) at once.

    x (..., D), h_prev (..., H), dxw and dhw (..., G*H), where ... is (N,) or (N, T).
    """
    x2, h2 = x.reshape(-1, x.shape[-1]), h_prev.reshape(-1, h_prev.shape[-1])
    dxw2, dhw2 = dxw.reshape(-1, dxw.shape[-1]), dhw.reshape(-1, dhw.shape[-1])
    return {
        # xw = x W_ih^T + b_ih  =>  dW_ih = dxw^T x,  db_ih = sum over rows of dxw
        "W_ih": dxw2.T @ x2,
        # hw = h_prev W_hh^T + b_hh  =>  dW_hh = dhw^T h_prev,  db_hh = sum of dhw
        "W_hh": dhw2.T @ h2,
        "b_ih": dxw2.sum(axis=0),
        "b_hh": dhw2.sum(axis=0),
    }


def step_forward(cell, recurrence_forward, x, state, params, **options):
    # xw = x W_ih^T + b_ih
    xw = x @ params["W_ih"].T + params["b_ih"]
    h, state_next, inner = recurrence_forward(xw, state, params["W_hh"], params["b_hh"], **options)
    return h, state_next, StepCache(cell, x, hidden(state), params["W_ih"], inner)


def step_backward(recurrence_backward, dh_next, dstate_next, cache):
    dxw, dhw, dstate = recurrence_backward(dh_next, dstate_next, cache.inner)
    # xw = x W_ih^T + b_ih  =>  dx = dxw W_ih
    dx = dxw @ cache.W_ih
    return dx, dstate, param_grads(cache.x, cache.h_prev, dxw, dhw)


def forward(cell, recurrence_forward, x, state0, params, **options):
    N, T, _ = x.shape
    H = params["W_hh"].shape[1]
    # xw_t = x_t W_ih^T + b_ih for all t at once: one (N*T, D) x (D, G*H) product
    xw = x @ params["W_ih"].T + params["b_ih"]
    dtype = np.result_type(xw, hidden(state0), params["W_hh"])
    hs = np.empty((N, T, H), dtype)
    h_prevs = np.empty((N, T, H), dtype)
    inner = []
    state = state0
    for t in range(T):
        h_prevs[:, t] = hidden(state)
        hs[:, t], state, cache_t = recurrence_forward(xw[:, t], state, params["W_hh"], params["b_hh"], **options)
        inner.append(cache_t)
    return hs, state, SequenceCache(cell, x, h_prevs, params["W_ih"], inner)


def backward(recurrence_backward, dhs, cache, dstate_T):
    N, T, _ = dhs.shape
    GH = cache.W_ih.shape[0]
    dtype = np.result_type(dhs, cache.h_prevs)
    dxw = np.empty((N, T, GH), dtype)
    dhw = np.empty((N, T, GH), dtype)
    # Backpropagation through time: the gradient w.r.t. the state flows from step t to t-1,
    # and each step adds the gradient arriving from above (dhs[:, t]) to it.
    dstate = dstate_T
    for t in reversed(range(T)):
        dxw[:, t], dhw[:, t], dstate = recurrence_backward(dhs[:, t], dstate, cache.inner[t])
    # xw = x W_ih^T + b_ih  =>  dx = dxw W_ih, for all t in one product
    dx = dxw @ cache.W_ih
    return dx, dstate, param_grads(cache.x, cache.h_prevs, dxw, dhw)
