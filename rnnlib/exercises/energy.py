"""Checker for chapter 8: forward FLOPs per token of a recurrent layer, written by the learner.

.. math::

    F = \\sum_{l=1}^{L} n_{\\mathrm{dir}} \\cdot 2 G H (D_l + H), \\qquad
    D_1 = D, \\quad D_{l>1} = n_{\\mathrm{dir}} H,

with G = 1, 3, 4 gate blocks for ``"rnn"``, ``"gru"``, ``"lstm"`` (see :func:`rnnlib.energy.recurrent_flops_per_token`).
"""

from rnnlib.energy import recurrent_flops_per_token
from rnnlib.layout import GATES
from rnnlib.exercises._checking import Case, Mistake, check_function

__all__ = ["check_recurrent_flops"]


def _multiply_adds(cell, input_size, hidden_size, num_layers=1, bidirectional=False):
    return recurrent_flops_per_token(cell, input_size, hidden_size, num_layers, bidirectional) // 2


def _input_only(cell, input_size, hidden_size, num_layers=1, bidirectional=False):
    directions = 2 if bidirectional else 1
    total, layer_input = 0, input_size
    for _ in range(num_layers):
        total += directions * 2 * GATES[cell] * hidden_size * layer_input
        layer_input = directions * hidden_size
    return total


def _one_gate(cell, input_size, hidden_size, num_layers=1, bidirectional=False):
    return recurrent_flops_per_token("rnn", input_size, hidden_size, num_layers, bidirectional)


def _upper_layers_read_h(cell, input_size, hidden_size, num_layers=1, bidirectional=False):
    directions = 2 if bidirectional else 1
    total, layer_input = 0, input_size
    for _ in range(num_layers):
        total += directions * 2 * GATES[cell] * hidden_size * (layer_input + hidden_size)
        layer_input = hidden_size
    return total


def _one_direction(cell, input_size, hidden_size, num_layers=1, bidirectional=False):
    return recurrent_flops_per_token(cell, input_size, hidden_size, num_layers, False)


def _case(label, *args):
    return Case(label, lambda: (args, {}))


def check_recurrent_flops(fn, verbose=True):
    """Check ``fn(cell, input_size, hidden_size, num_layers=1, bidirectional=False) -> FLOPs per token``.

    ``cell`` is ``"rnn"``, ``"gru"`` or ``"lstm"``; the count is of the forward pass, two FLOPs
    per multiply-add, matrix products only. Hints recognise counting multiply-adds, forgetting the
    hidden-to-hidden product, ignoring the gate count, feeding upper layers of a bidirectional
    stack only H inputs, and counting one direction.
    """
    return check_function(
        "recurrent FLOPs per token",
        fn,
        reference=recurrent_flops_per_token,
        cases=[
            _case("RNN, D=2, H=3", "rnn", 2, 3),
            _case("LSTM, D=64, H=128", "lstm", 64, 128),
            _case("GRU, D=10, H=16, 2 layers", "gru", 10, 16, 2),
            _case("LSTM, D=8, H=32, bidirectional", "lstm", 8, 32, 1, True),
            _case("GRU, D=10, H=16, 2 layers, bidirectional", "gru", 10, 16, 2, True),
        ],
        output_names=("flops",),
        mistakes=[
            Mistake("you counted multiply-adds: each is 2 FLOPs (one multiplication, one addition)", _multiply_adds),
            Mistake("you left out the hidden-to-hidden product W_hh h_{t-1}: each gate block also costs 2 H * H", _input_only),
            Mistake("you counted one gate block: W_ih and W_hh have G*H rows, G = 1 (RNN), 3 (GRU), 4 (LSTM)", _one_gate),
            Mistake("the layers above the first of a bidirectional stack read both directions, 2H inputs, not H",
                    _upper_layers_read_h),
            Mistake("a bidirectional layer runs two recurrences, one per direction: count both", _one_direction),
        ],
        verbose=verbose,
    )
