r"""The recurrent cells in PyTorch, one equation per line: the reference that the book prints.

Each function computes one time step with ordinary tensor operations, and autograd derives the
backward pass. Parameters have ``torch.nn``'s layout (gate blocks stacked in rows: LSTM i, f, g, o;
GRU r, z, n); ``x`` is (N, D), ``h`` and ``c`` are (N, H), biases may be None (``bias=False``)::

    h_next = rnn_step(x, h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity="tanh")
    h_next, c_next = lstm_step(x, (h, c), weight_ih, weight_hh, bias_ih, bias_hh)
    h_next = gru_step(x, h, weight_ih, weight_hh, bias_ih, bias_hh)

:func:`unroll` runs a step function over a time-major sequence. ``rnnlib.nn.RNN``, ``LSTM``, ``GRU``
and their cells run these functions when built with ``impl="readable"``; by default they run the
kernels of :mod:`rnnlib.nn.fast`, which compute the same values with a hand-written backward
pass and are tested equal to these.
"""

import torch
from torch.nn import functional as F

from rnnlib.layout import hidden

__all__ = ["rnn_step", "lstm_step", "gru_step", "unroll"]


def rnn_step(x, h, weight_ih, weight_hh, bias_ih=None, bias_hh=None, nonlinearity="tanh"):
    """Elman RNN step: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu)."""
    # a = x W_ih^T + b_ih + h W_hh^T + b_hh
    a = F.linear(x, weight_ih, bias_ih) + F.linear(h, weight_hh, bias_hh)
    # h' = tanh(a)  or  h' = max(a, 0)
    return torch.tanh(a) if nonlinearity == "tanh" else torch.relu(a)


def lstm_step(x, state, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """LSTM step (gate order i, f, g, o): state (h, c) -> (h', c')."""
    h, c = state
    # [a_i, a_f, a_g, a_o] = x W_ih^T + b_ih + h W_hh^T + b_hh   (all four gates at once)
    a_i, a_f, a_g, a_o = (F.linear(x, weight_ih, bias_ih) + F.linear(h, weight_hh, bias_hh)).chunk(4, dim=-1)
    # i = σ(a_i), f = σ(a_f), g = tanh(a_g), o = σ(a_o)
    i, f, g, o = torch.sigmoid(a_i), torch.sigmoid(a_f), torch.tanh(a_g), torch.sigmoid(a_o)
    # c' = f ⊙ c + i ⊙ g
    c = f * c + i * g
    # h' = o ⊙ tanh(c')
    h = o * torch.tanh(c)
    return h, c


def gru_step(x, h, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """GRU step (gate order r, z, n), PyTorch's formula: the reset gate scales h_n, bias included."""
    # [x_r, x_z, x_n] = x W_ih^T + b_ih
    x_r, x_z, x_n = F.linear(x, weight_ih, bias_ih).chunk(3, dim=-1)
    # [h_r, h_z, h_n] = h W_hh^T + b_hh
    h_r, h_z, h_n = F.linear(h, weight_hh, bias_hh).chunk(3, dim=-1)
    # r = σ(x_r + h_r),  z = σ(x_z + h_z)
    r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
    # n = tanh(x_n + r ⊙ h_n)
    n = torch.tanh(x_n + r * h_n)
    # h' = (1 - z) ⊙ n + z ⊙ h
    return (1 - z) * n + z * h


def unroll(step, x, state, *weights, reverse=False, **options):
    """Run ``step`` over x (T, N, D) from ``state`` (h, or (h, c)); autograd does BPTT.

    Returns ``(hs, state_n)``: hs (T, N, H), hs[t] the hidden state after reading x[t]
    (with ``reverse=True`` the sequence is read from t = T-1 down to 0), and the last state.
    """
    hs = [None] * len(x)
    for t in reversed(range(len(x))) if reverse else range(len(x)):
        # state_t = step(x_t, state_{t-1})
        state = step(x[t], state, *weights, **options)
        hs[t] = hidden(state)
    return torch.stack(hs), state
