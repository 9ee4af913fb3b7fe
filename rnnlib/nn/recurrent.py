"""RNN, LSTM and GRU over sequences: layers, directions and dropout, written once over any cell.

Drop-in re-implementations of ``torch.nn.RNN`` / ``LSTM`` / ``GRU`` from tensor primitives
(the per-cell math is in ``rnnlib.nn.cells``): same constructor arguments, identical
``state_dict`` keys and shapes, same ``forward(x, state=None) -> (output, state_n)``. The one
difference: rnnlib's ``batch_first`` defaults to True, so x is (N, T, D) unless you say otherwise.

Stacking and bidirectionality (Schuster & Paliwal 1997)::

    layer 0 reads x; layer l reads the output of layer l - 1 (after dropout when training);
    a bidirectional layer runs one cell forward in time and one backward, and its output at
    step t is [h_t(forward), h_t(backward)] (size 2H);
    state_n[k] is the last state of layer l, direction d, with k = l * num_directions + d.
"""

import warnings

import torch
from torch import nn
from torch.nn import functional as F

from rnnlib.nn.cells import (
    GRU_KIND,
    LSTM_KIND,
    RNN_KIND,
    check_bool,
    check_input_tensor,
    check_state_tuple,
    reset_uniform,
)
from rnnlib.validate import check_choice, check_positive_int, check_probability, check_shape

__all__ = ["RNN", "LSTM", "GRU"]


class _RecurrentBase(nn.Module):
    """Multi-layer, optionally bidirectional recurrence over any cell kind."""

    kind = None

    def __init__(
        self,
        input_size,
        hidden_size,
        num_layers=1,
        bias=True,
        batch_first=True,
        dropout=0.0,
        bidirectional=False,
        device=None,
        dtype=None,
    ):
        super().__init__()
        self.input_size = check_positive_int("input_size", input_size)
        self.hidden_size = check_positive_int("hidden_size", hidden_size)
        self.num_layers = check_positive_int("num_layers", num_layers)
        self.bias = check_bool("bias", bias)
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
        G = self.kind.gate_count * self.hidden_size
        factory = {"device": device, "dtype": dtype}
        # Same names, shapes and registration order as torch.nn, so that state_dicts match and
        # the same seed gives the same initial weights.
        self._param_names = []
        for layer in range(self.num_layers):
            layer_input = self.input_size if layer == 0 else self.hidden_size * self.num_directions
            per_direction = []
            for direction in range(self.num_directions):
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                names = [f"weight_ih{suffix}", f"weight_hh{suffix}", f"bias_ih{suffix}", f"bias_hh{suffix}"]
                self.register_parameter(names[0], nn.Parameter(torch.empty(G, layer_input, **factory)))
                self.register_parameter(names[1], nn.Parameter(torch.empty(G, self.hidden_size, **factory)))
                if bias:
                    self.register_parameter(names[2], nn.Parameter(torch.empty(G, **factory)))
                    self.register_parameter(names[3], nn.Parameter(torch.empty(G, **factory)))
                else:
                    names[2] = names[3] = None
                per_direction.append(tuple(names))
            self._param_names.append(per_direction)
        self.reset_parameters()

    def reset_parameters(self):
        reset_uniform(self)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        defaults = {"num_layers": 1, "bias": True, "batch_first": True, "dropout": 0.0, "bidirectional": False}
        for name, default in defaults.items():
            if getattr(self, name) != default:
                s += f", {name}={getattr(self, name)}"
        return s

    def _params(self, layer, direction):
        """(weight_ih, weight_hh, bias_ih, bias_hh) of one layer and direction (biases may be None)."""
        return tuple(None if name is None else getattr(self, name) for name in self._param_names[layer][direction])

    def _kernel_kwargs(self):
        return {}

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
        weight = self.weight_ih_l0
        check_input_tensor("x", x, weight)
        layout = ("N", "T", self.input_size) if self.batch_first else ("T", "N", self.input_size)
        check_shape("x", x, layout, note=f"(batch_first={self.batch_first})")
        xs = x.transpose(0, 1) if self.batch_first else x  # time-major (T, N, D) inside
        T, N = xs.shape[0], xs.shape[1]
        if T == 0 or N == 0:
            raise ValueError(f"x must have at least one sequence and one time step, got shape {tuple(x.shape)}")
        layers_directions = self.num_layers * self.num_directions
        expected = (layers_directions, N, self.hidden_size)
        if state is None:
            zeros = xs.new_zeros(expected)
            states = tuple(zeros for _ in self.kind.state_names)
        else:
            states = check_state_tuple(
                self.kind, state, expected, note="(num_layers * num_directions, N, hidden_size)"
            )
            for s in states:
                check_input_tensor("state", s, weight)

        kernel, kwargs = self.kind.kernel, self._kernel_kwargs()
        finals = [[] for _ in self.kind.state_names]  # finals[j][k]: state j of layer/direction k
        layer_input = xs
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.num_directions):
                k = layer * self.num_directions + direction
                hs, final = kernel(
                    layer_input,
                    tuple(s[k] for s in states),
                    *self._params(layer, direction),
                    reverse=direction == 1,
                    **kwargs,
                )
                outputs.append(hs)
                for j, f in enumerate(final):
                    finals[j].append(f)
            # a bidirectional layer's output at t is [h_t(forward), h_t(backward)]
            layer_input = outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=2)
            if self.training and self.dropout > 0 and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, training=True)
        output = layer_input.transpose(0, 1) if self.batch_first else layer_input
        state_n = tuple(torch.stack(f) for f in finals)
        return output, state_n if len(state_n) == 2 else state_n[0]


class RNN(_RecurrentBase):
    """Elman RNN, ``torch.nn.RNN``'s twin: h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh).

    Args as ``torch.nn.RNN``: input_size, hidden_size, num_layers=1, nonlinearity="tanh"
    ("tanh" or "relu"), bias=True, batch_first=True (torch: False), dropout=0.0,
    bidirectional=False. Parameters weight_ih_l{k}[_reverse] (H, D), weight_hh_l{k} (H, H),
    bias_ih_l{k}, bias_hh_l{k} (H,).
    """

    kind = RNN_KIND

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=True,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        self.nonlinearity = check_choice("nonlinearity", nonlinearity, ("tanh", "relu"))
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)

    def extra_repr(self):
        s = super().extra_repr()
        return s if self.nonlinearity == "tanh" else s + f", nonlinearity={self.nonlinearity!r}"

    def _kernel_kwargs(self):
        return {"nonlinearity": self.nonlinearity}


class LSTM(_RecurrentBase):
    """LSTM, ``torch.nn.LSTM``'s twin (gate order i, f, g, o; state a tuple (h, c)).

    For each step: [i, f, g, o] = [sigmoid, sigmoid, tanh, sigmoid](x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh),
    c_t = f * c_{t-1} + i * g, h_t = o * tanh(c_t). Parameters as torch: weight_ih_l{k} (4H, D),
    weight_hh_l{k} (4H, H), bias_ih_l{k}, bias_hh_l{k} (4H,), plus ``_reverse`` ones.
    """

    kind = LSTM_KIND


class GRU(_RecurrentBase):
    """GRU, ``torch.nn.GRU``'s twin (gate order r, z, n).

    r, z = sigmoid(x_t W_i{r,z}^T + b_i{r,z} + h_{t-1} W_h{r,z}^T + b_h{r,z}),
    n = tanh(x_t W_in^T + b_in + r * (h_{t-1} W_hn^T + b_hn)), h_t = (1 - z) * n + z * h_{t-1}.
    Parameters as torch: weight_ih_l{k} (3H, D), weight_hh_l{k} (3H, H), biases (3H,).
    """

    kind = GRU_KIND
