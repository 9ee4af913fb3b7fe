"""RNN, LSTM, GRU and their cells: torch.nn's modules, written from tensor primitives.

Drop-in re-implementations of ``torch.nn.RNN`` / ``LSTM`` / ``GRU`` and ``RNNCell`` /
``LSTMCell`` / ``GRUCell``: same constructor arguments, identical ``state_dict`` keys and shapes,
same ``forward(x, state=None)``. The one difference: rnnlib's ``batch_first`` defaults to True,
so x is (N, T, D) unless you say otherwise.

Two implementations compute the same thing (tested equal, outputs and gradients):

* ``impl="fast"`` (the default): the kernels of :mod:`rnnlib.nn.fast`, with a hand-written backward;
* ``impl="readable"``: the step functions of :mod:`rnnlib.nn.cells`, one equation per line,
  differentiated by autograd.

Stacking and bidirectionality (Schuster & Paliwal 1997)::

    layer 0 reads x; layer l reads the output of layer l - 1 (after dropout when training);
    a bidirectional layer runs one cell forward in time and one backward, and its output at
    step t is [h_t(forward), h_t(backward)] (size 2H);
    state_n[k] is the last state of layer l, direction d, with k = l * num_directions + d.
"""

import functools
import math
import warnings

import torch
from torch import nn
from torch.nn import functional as F

from rnnlib.layout import GATES
from rnnlib.nn import cells, fast
from rnnlib.validate import (
    check_bool,
    check_choice,
    check_positive_int,
    check_probability,
    check_recurrent_state,
    check_shape,
    check_tensor,
)

__all__ = ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell", "MODULES", "IMPLEMENTATIONS"]

# impl -> cell -> kernel(x (T, N, D), state, weight_ih, weight_hh, bias_ih, bias_hh, reverse, **options)
IMPLEMENTATIONS = {
    "fast": {"rnn": fast.rnn_sequence, "lstm": fast.lstm_sequence, "gru": fast.gru_sequence},
    "readable": {
        "rnn": functools.partial(cells.unroll, cells.rnn_step),
        "lstm": functools.partial(cells.unroll, cells.lstm_step),
        "gru": functools.partial(cells.unroll, cells.gru_step),
    },
}


def reset_uniform(module):
    """PyTorch's default init for recurrent modules: every parameter ~ U(-1/sqrt(H), 1/sqrt(H)),
    drawn in registration order (so the same seed gives torch.nn's weights)."""
    bound = 1.0 / math.sqrt(module.hidden_size)
    for weight in module.parameters():
        nn.init.uniform_(weight, -bound, bound)


def _allowed_dtypes(x, weight):
    """The parameters' dtype, and under torch.autocast also the autocast dtype (as torch.nn allows)."""
    if isinstance(x, torch.Tensor) and torch.is_autocast_enabled(x.device.type):
        return (weight.dtype, torch.get_autocast_dtype(x.device.type))
    return (weight.dtype,)


def _in_dtype(dtype, kernel, x, state, weights, **options):
    """Run ``kernel`` with autocast off and x, state and weights cast once to ``dtype`` (as
    ``torch.amp.custom_fwd(cast_inputs=dtype)`` would): gradients flow back through the casts into
    the parameters' own dtype."""

    def cast(tensor):
        return None if tensor is None else tensor.to(dtype)

    state = tuple(map(cast, state)) if isinstance(state, tuple) else cast(state)
    with torch.autocast(x.device.type, enabled=False):
        return kernel(cast(x), state, *map(cast, weights), **options)


class _Recurrent(nn.Module):
    """What the cells and the sequence modules share: options, parameters, the chosen kernel."""

    cell = None  # "rnn", "lstm" or "gru"

    def _setup(self, input_size, hidden_size, bias, impl, nonlinearity):
        self.input_size = check_positive_int("input_size", input_size)
        self.hidden_size = check_positive_int("hidden_size", hidden_size)
        self.bias = check_bool("bias", bias)
        self.impl = check_choice("impl", impl, tuple(IMPLEMENTATIONS))
        self.nonlinearity = check_choice("nonlinearity", nonlinearity, ("tanh", "relu"))
        if self.cell != "rnn" and nonlinearity != "tanh":
            raise ValueError(f"nonlinearity applies to RNN and RNNCell only, got nonlinearity={nonlinearity!r} "
                             f"for {type(self).__name__}")
        self.gate_size = GATES[self.cell] * self.hidden_size

    def _add_weights(self, suffix, input_size, factory):
        """Register weight_ih{suffix} (G*H, input_size), weight_hh{suffix} (G*H, H) and the biases."""
        G, H = self.gate_size, self.hidden_size
        self.register_parameter(f"weight_ih{suffix}", nn.Parameter(torch.empty(G, input_size, **factory)))
        self.register_parameter(f"weight_hh{suffix}", nn.Parameter(torch.empty(G, H, **factory)))
        for name in (f"bias_ih{suffix}", f"bias_hh{suffix}"):
            self.register_parameter(name, nn.Parameter(torch.empty(G, **factory)) if self.bias else None)

    def _weights(self, suffix=""):
        """(weight_ih, weight_hh, bias_ih, bias_hh) with the given suffix (biases None without bias)."""
        return tuple(getattr(self, name + suffix) for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))

    # Whether torch.autocast on the CPU runs this module in its lower precision, as it runs torch.nn's
    # twin: yes for RNN, LSTM and RNNCell; torch.nn's GRU, LSTMCell and GRUCell compute in the dtype of
    # x and the state (float32 if either is float32).
    cpu_autocast = True

    def _kernel(self, x, state, weights, reverse=False):
        options = {"nonlinearity": self.nonlinearity} if self.cell == "rnn" else {}
        kernel = IMPLEMENTATIONS[self.impl][self.cell]
        device_type = x.device.type
        if not torch.is_autocast_enabled(device_type):
            return kernel(x, state, *weights, reverse=reverse, **options)
        lower = device_type != "cpu" or self.cpu_autocast
        states = state if isinstance(state, tuple) else (state,)
        dtype = torch.get_autocast_dtype(device_type) if lower else functools.reduce(
            torch.promote_types, [s.dtype for s in states], x.dtype)
        return _in_dtype(dtype, kernel, x, state, weights, reverse=reverse, **options)

    def reset_parameters(self):
        reset_uniform(self)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if self.nonlinearity != "tanh":
            s += f", nonlinearity={self.nonlinearity!r}"
        if self.impl != "fast":
            s += f", impl={self.impl!r}"
        return s


# ----------------------------------------------------------------------------------------------
# Cells: one step, same API as torch.nn.RNNCell / LSTMCell / GRUCell


class _Cell(_Recurrent):
    def __init__(self, input_size, hidden_size, bias=True, impl="fast", device=None, dtype=None, nonlinearity="tanh"):
        super().__init__()
        self._setup(input_size, hidden_size, bias, impl, nonlinearity)
        self._add_weights("", self.input_size, {"device": device, "dtype": dtype})
        self.reset_parameters()

    def forward(self, x, state=None):
        """One step. x (N, D); state h (N, H) (or (h, c) for LSTMCell), zeros when None.

        Returns the next state: h' (N, H), or (h', c') for LSTMCell.
        """
        dtypes = _allowed_dtypes(x, self.weight_ih)
        check_tensor("x", x, self.weight_ih, dtypes)
        N = check_shape("x", x, ("N", self.input_size))[0]
        if state is None:
            zeros = x.new_zeros(N, self.hidden_size)
            state = (zeros, zeros) if self.cell == "lstm" else zeros
        state = check_recurrent_state(state, self.cell, (N, self.hidden_size), self.weight_ih, f"(N = {N} from x)", dtypes)
        _, state_next = self._kernel(x.unsqueeze(0), state, self._weights())
        return state_next


class RNNCell(_Cell):
    """Elman cell: h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh), act = tanh or relu.

    Same parameters and call as ``torch.nn.RNNCell``: x (N, D), h (N, H) -> h' (N, H);
    ``impl="readable"`` runs :func:`rnnlib.nn.cells.rnn_step`.
    """

    cell = "rnn"

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", impl="fast", device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, impl, device, dtype, nonlinearity=nonlinearity)


class LSTMCell(_Cell):
    """LSTM cell (gate order i, f, g, o); same parameters and call as ``torch.nn.LSTMCell``.

    x (N, D), state (h, c) each (N, H) -> (h', c'), with c' = f*c + i*g, h' = o*tanh(c');
    ``impl="readable"`` runs :func:`rnnlib.nn.cells.lstm_step`.
    """

    cell = "lstm"
    cpu_autocast = False  # like torch.nn's LSTMCell


class GRUCell(_Cell):
    """GRU cell (gate order r, z, n); same parameters and call as ``torch.nn.GRUCell``.

    x (N, D), h (N, H) -> h' = (1 - z)*n + z*h, with n = tanh(W_in x + b_in + r*(W_hn h + b_hn));
    ``impl="readable"`` runs :func:`rnnlib.nn.cells.gru_step`.
    """

    cell = "gru"
    cpu_autocast = False  # like torch.nn's GRUCell


# ----------------------------------------------------------------------------------------------
# Sequences: layers and directions, written once over any cell


class _Sequence(_Recurrent):
    """Multi-layer, optionally bidirectional recurrence over any cell."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=True, dropout=0.0,
                 bidirectional=False, impl="fast", device=None, dtype=None, nonlinearity="tanh"):
        super().__init__()
        self._setup(input_size, hidden_size, bias, impl, nonlinearity)
        self.num_layers = check_positive_int("num_layers", num_layers)
        self.batch_first = check_bool("batch_first", batch_first)
        self.dropout = check_probability("dropout", dropout)
        self.bidirectional = check_bool("bidirectional", bidirectional)
        if self.dropout > 0 and self.num_layers == 1:
            warnings.warn(
                f"dropout={self.dropout} has no effect with num_layers=1: dropout is applied "
                "between layers, not after the last one",
                stacklevel=2,
            )
        self.num_directions = 2 if bidirectional else 1
        # Same names, shapes and registration order as torch.nn, so that state_dicts match and
        # the same seed gives the same initial weights.
        for layer in range(self.num_layers):
            layer_input = self.input_size if layer == 0 else self.hidden_size * self.num_directions
            for direction in range(self.num_directions):
                self._add_weights(self._suffix(layer, direction), layer_input, {"device": device, "dtype": dtype})
        self.reset_parameters()

    @staticmethod
    def _suffix(layer, direction):
        return f"_l{layer}" + ("_reverse" if direction == 1 else "")

    def extra_repr(self):
        s = super().extra_repr()
        defaults = {"num_layers": 1, "batch_first": True, "dropout": 0.0, "bidirectional": False}
        for name, default in defaults.items():
            if getattr(self, name) != default:
                s += f", {name}={getattr(self, name)}"
        return s

    def _check(self, x, state):
        """Validate x and state; return x time-major (T, N, D) and the state (zeros when None)."""
        weight = self.weight_ih_l0
        dtypes = _allowed_dtypes(x, weight)
        check_tensor("x", x, weight, dtypes)
        layout = ("N", "T", self.input_size) if self.batch_first else ("T", "N", self.input_size)
        check_shape("x", x, layout, note=f"(batch_first={self.batch_first})")
        xs = x.transpose(0, 1) if self.batch_first else x
        T, N = xs.shape[0], xs.shape[1]
        if T == 0 or N == 0:
            raise ValueError(f"x must have at least one sequence and one time step, got shape {tuple(x.shape)}")
        shape = (self.num_layers * self.num_directions, N, self.hidden_size)
        if state is None:
            zeros = xs.new_zeros(shape)
            state = (zeros, zeros) if self.cell == "lstm" else zeros
        state = check_recurrent_state(state, self.cell, shape, weight,
                                      "(num_layers * num_directions, N, hidden_size)", dtypes)
        return xs, state

    def forward(self, x, state=None):
        """Run the whole sequence.

        Args:
            x: (N, T, D) if ``batch_first`` (the default) else (T, N, D).
            state: initial state, zeros when None: h of shape (num_layers * num_directions, N, H)
                for RNN and GRU, a tuple (h, c) of two such tensors for LSTM.

        Returns:
            output: (N, T, num_directions * H) (or (T, N, ...)), the last layer's h_t at every t;
            state_n: the final state of every layer and direction, same form as ``state``.
        """
        layer_input, state = self._check(x, state)
        finals = []  # the last state of every layer and direction, in state_n's order
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.num_directions):
                k = layer * self.num_directions + direction
                state_k = tuple(s[k] for s in state) if self.cell == "lstm" else state[k]
                weights = self._weights(self._suffix(layer, direction))
                hs, final = self._kernel(layer_input, state_k, weights, reverse=direction == 1)
                outputs.append(hs)
                finals.append(final)
            # a bidirectional layer's output at t is [h_t(forward), h_t(backward)]
            layer_input = torch.cat(outputs, dim=2) if self.bidirectional else outputs[0]
            if self.training and self.dropout > 0 and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, training=True)
        output = layer_input.transpose(0, 1) if self.batch_first else layer_input
        if self.cell == "lstm":
            return output, tuple(torch.stack(part) for part in zip(*finals))
        return output, torch.stack(finals)


class RNN(_Sequence):
    """Elman RNN, ``torch.nn.RNN``'s twin: h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh).

    Args as ``torch.nn.RNN``: input_size, hidden_size, num_layers=1, nonlinearity="tanh"
    ("tanh" or "relu"), bias=True, batch_first=True (torch: False), dropout=0.0,
    bidirectional=False; and impl="fast" or "readable". Parameters weight_ih_l{k}[_reverse]
    (H, D), weight_hh_l{k} (H, H), bias_ih_l{k}, bias_hh_l{k} (H,).
    """

    cell = "rnn"

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=True,
                 dropout=0.0, bidirectional=False, impl="fast", device=None, dtype=None):
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, impl,
                         device, dtype, nonlinearity=nonlinearity)


class LSTM(_Sequence):
    """LSTM, ``torch.nn.LSTM``'s twin (gate order i, f, g, o; state a tuple (h, c)).

    For each step: [i, f, g, o] = [sigmoid, sigmoid, tanh, sigmoid](x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh),
    c_t = f * c_{t-1} + i * g, h_t = o * tanh(c_t). Parameters as torch: weight_ih_l{k} (4H, D),
    weight_hh_l{k} (4H, H), bias_ih_l{k}, bias_hh_l{k} (4H,), plus ``_reverse`` ones.
    ``impl="readable"`` runs :func:`rnnlib.nn.cells.lstm_step` at every step.
    """

    cell = "lstm"


class GRU(_Sequence):
    """GRU, ``torch.nn.GRU``'s twin (gate order r, z, n).

    r, z = sigmoid(x_t W_i{r,z}^T + b_i{r,z} + h_{t-1} W_h{r,z}^T + b_h{r,z}),
    n = tanh(x_t W_in^T + b_in + r * (h_{t-1} W_hn^T + b_hn)), h_t = (1 - z) * n + z * h_{t-1}.
    Parameters as torch: weight_ih_l{k} (3H, D), weight_hh_l{k} (3H, H), biases (3H,).
    ``impl="readable"`` runs :func:`rnnlib.nn.cells.gru_step` at every step.
    """

    cell = "gru"
    cpu_autocast = False  # like torch.nn's GRU


# cell name -> (sequence module, cell module): the one map from "rnn", "lstm", "gru" to classes
MODULES = {"rnn": (RNN, RNNCell), "lstm": (LSTM, LSTMCell), "gru": (GRU, GRUCell)}
