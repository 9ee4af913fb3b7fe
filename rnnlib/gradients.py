r"""How gradients shrink or grow through time: Jacobian norms against the lag, measured by autograd.

Backpropagation through time multiplies Jacobians. For an RNN
:math:`h_t = \phi(W_{hh} h_{t-1} + W_{ih} x_t + b)`,

.. math::

    \frac{\partial h_T}{\partial h_t} = \prod_{s=t+1}^{T} \mathrm{diag}(\phi'(a_s))\, W_{hh},
    \qquad
    \Big\lVert \frac{\partial h_T}{\partial h_t} \Big\rVert_2
    \le \big(\gamma\, \sigma_{\max}(W_{hh})\big)^{T-t}

with :math:`\gamma` a bound on :math:`|\phi'|` (1 for tanh) (Pascanu et al. 2013). For a linear
RNN whose :math:`W_{hh} = \rho Q` with :math:`Q` orthogonal, the product is :math:`\rho^{k} Q^{k}`
at lag :math:`k = T - t`, so :math:`\ln \lVert \partial h_T / \partial h_t \rVert = k \ln\rho`
exactly: the slope of the log-norm against the lag is :math:`\ln \rho`.

* :func:`jacobian_norms_by_lag` measures :math:`\lVert \partial h_T / \partial h_t \rVert` for any
  recurrent module with torch.nn's ``forward(x, state) -> (output, state)`` interface.
* :func:`fit_log_slope` fits the slope of the log-norm against the lag.
* :func:`scaled_orthogonal` and :class:`LinearRNN` build the linear RNN of the analysis.
"""

import math

import numpy as np
import torch
from torch import nn

from rnnlib.layout import hidden
from rnnlib.validate import check_choice, check_float, check_positive_int, check_shape

__all__ = ["scaled_orthogonal", "LinearRNN", "jacobian_norms_by_lag", "fit_log_slope"]


def scaled_orthogonal(size, rho, generator=None, dtype=torch.float64):
    r"""A random orthogonal matrix scaled by ``rho``: every singular value and every eigenvalue
    modulus equals :math:`\rho`.

    :math:`Q` comes from the QR decomposition of a Gaussian matrix, with the signs of
    :math:`\mathrm{diag}(R)` folded into :math:`Q` so that it is uniformly (Haar) distributed.

    Returns a (size, size) tensor :math:`\rho Q`.
    """
    check_positive_int("size", size)
    if not (isinstance(rho, (int, float)) and math.isfinite(rho) and rho > 0):
        raise ValueError(f"rho must be a positive finite number, got {rho!r}")
    gaussian = torch.randn(size, size, generator=generator, dtype=torch.float64)
    q, r = torch.linalg.qr(gaussian)
    q = q * torch.sign(torch.diagonal(r))
    return (rho * q).to(dtype)


class LinearRNN(nn.Module):
    r"""An RNN without nonlinearity, :math:`h_t = h_{t-1} W_{hh}^\top + x_t W_{ih}^\top + b`.

    The model of the vanishing/exploding analysis: its Jacobian
    :math:`\partial h_t / \partial h_{t-1} = W_{hh}` does not depend on the inputs.
    Parameter names and the interface follow a one-layer, batch-first ``torch.nn.RNN``:
    ``forward(x (N, T, D), state (1, N, H) or None) -> (hs (N, T, H), h_T (1, N, H))``.

    Args:
        input_size: D.
        hidden_size: H.
        weight_hh: optional (H, H) initial recurrent matrix (e.g. :func:`scaled_orthogonal`);
            by default torch.nn.RNN's uniform initialisation.
    """

    def __init__(self, input_size, hidden_size, weight_hh=None, dtype=torch.float32):
        super().__init__()
        self.input_size = check_positive_int("input_size", input_size)
        self.hidden_size = check_positive_int("hidden_size", hidden_size)
        bound = 1.0 / math.sqrt(hidden_size)
        self.weight_ih_l0 = nn.Parameter(torch.empty(hidden_size, input_size, dtype=dtype).uniform_(-bound, bound))
        self.weight_hh_l0 = nn.Parameter(torch.empty(hidden_size, hidden_size, dtype=dtype).uniform_(-bound, bound))
        self.bias_ih_l0 = nn.Parameter(torch.zeros(hidden_size, dtype=dtype))
        if weight_hh is not None:
            check_shape("weight_hh", weight_hh, (hidden_size, hidden_size))
            with torch.no_grad():
                self.weight_hh_l0.copy_(weight_hh)

    def forward(self, x, state=None):
        check_float("x", x)
        check_shape("x", x, ("N", "T", self.input_size), note="(batch_first)")
        N = x.shape[0]
        if state is None:
            state = x.new_zeros(1, N, self.hidden_size)
        check_shape("state", state, (1, N, self.hidden_size))
        # input part for all steps at once: x_t W_ih^T + b
        xw = x @ self.weight_ih_l0.T + self.bias_ih_l0
        h = state[0]
        hs = []
        for t in range(x.shape[1]):
            # h_t = h_{t-1} W_hh^T + (x_t W_ih^T + b)
            h = h @ self.weight_hh_l0.T + xw[:, t]
            hs.append(h)
        return torch.stack(hs, dim=1), h.unsqueeze(0)


def _state_tensors(state):
    return list(state) if isinstance(state, (tuple, list)) else [state]


def jacobian_norms_by_lag(module, x, state=None, ord=2):
    r"""Norms of the Jacobians :math:`\partial h_T / \partial s_t` for every step, by autograd.

    The module reads ``x`` one step at a time, so that every intermediate state :math:`s_t`
    is a node of the autograd graph; then one backward pass per hidden unit of :math:`h_T`
    gives the full Jacobian of :math:`h_T` (the top layer's hidden state at the last step)
    with respect to the whole state :math:`s_t` (``h``, or ``h`` and ``c`` for an LSTM,
    all layers) at every step t, for every sequence of the batch.

    Args:
        module: a recurrent module with ``forward(x (N, t, D), state) -> (output, state)`` and
            a torch.nn-style state: a tensor ``(L, N, H)`` or a tuple ``(h, c)``
            (``torch.nn.RNN/LSTM/GRU`` with ``batch_first=True``, ``rnnlib.nn``, :class:`LinearRNN`).
        x: (N, T, D) inputs.
        state: initial state, or None (the module's zeros).
        ord: matrix norm: 2 (spectral, the largest singular value) or "fro" (Frobenius).

    Returns:
        ``(lags, norms)``: NumPy arrays of length T. ``lags[k] = k = T - t`` and ``norms[k]``
        is :math:`\lVert \partial h_T / \partial s_{T-k} \rVert` averaged over the batch
        (``lags[0] = 0``: the state at the last step itself, norm 1).
    """
    check_choice("ord", ord, (2, "fro"))
    check_float("x", x)
    if x.dim() != 3:
        raise ValueError(f"x must have shape (N, T, D) (batch_first), got {tuple(x.shape)}")
    N, T, _ = x.shape
    if T < 1:
        raise ValueError(f"x must hold at least one time step, got shape {tuple(x.shape)}")
    states = []  # s_1 .. s_T
    with torch.enable_grad():
        for t in range(T):
            _, state = module(x[:, t : t + 1], state)
            states.append(state)
        h_T = hidden(state)[-1]  # (N, H): the top layer's h
        inputs = [s for st in states for s in _state_tensors(st)]
        per_step = len(_state_tensors(states[0]))
        rows = []  # rows[i][t]: (N, S) = d h_T[:, i] / d s_t, per sequence
        for i in range(h_T.shape[1]):
            # sequences do not interact, so the gradient of the batch sum gives each one's row
            grads = torch.autograd.grad(h_T[:, i].sum(), inputs, retain_graph=True, allow_unused=True)
            grads = [torch.zeros_like(s) if g is None else g for g, s in zip(grads, inputs)]
            row = []
            for t in range(T):
                parts = grads[t * per_step : (t + 1) * per_step]
                # (L, N, H) per state tensor -> (N, L*H), concatenated over h (and c)
                row.append(torch.cat([p.transpose(0, 1).reshape(N, -1) for p in parts], dim=1))
            rows.append(torch.stack(row, dim=1))  # (N, T, S)
    jacobians = torch.stack(rows, dim=2).detach()  # (N, T, H, S)
    norms = torch.linalg.matrix_norm(jacobians, ord=ord)  # (N, T), indexed by step t = 1..T
    mean_norms = norms.mean(dim=0).double().cpu().numpy()[::-1].copy()  # by lag k = T - t
    return np.arange(T), mean_norms


def fit_log_slope(lags, norms, min_norm=1e-300):
    r"""Least-squares slope of :math:`\ln(\text{norm})` against the lag.

    For a linear RNN with :math:`W_{hh} = \rho Q` it is :math:`\ln\rho`. Norms at or below
    ``min_norm`` (underflow) are left out.
    """
    lags = np.asarray(lags, dtype=np.float64)
    norms = np.asarray(norms, dtype=np.float64)
    if lags.shape != norms.shape or lags.ndim != 1:
        raise ValueError(f"lags and norms must be 1-D arrays of the same length, got {lags.shape} and {norms.shape}")
    keep = norms > min_norm
    if keep.sum() < 2:
        raise ValueError(f"norms must hold at least two values above {min_norm}, got {int(keep.sum())}")
    slope, _ = np.polyfit(lags[keep], np.log(norms[keep]), 1)
    return float(slope)
