r"""Checker for the bidirectional exercise of chapter 5: ``check_bidirectional_forward(my_fn)``.

The learner writes one bidirectional layer over any cell of :mod:`rnnlib.scratch`::

    hs = my_fn(cell, x, params, params_reverse)     # x (N, T, D) -> hs (N, T, 2H)

with :math:`hs_t = [\overrightarrow{h}_t ; \overleftarrow{h}_t]`: the forward pass reads
:math:`x_1 .. x_T` with ``params``, the reverse pass reads :math:`x_T .. x_1` with
``params_reverse``, and :math:`\overleftarrow{h}_t` is the reverse state *after reading* :math:`x_t`
(as in ``torch.nn`` with ``bidirectional=True``). The reference is
:func:`rnnlib.scratch.wrappers.bidirectional_forward`. The hints name the usual mistakes: the reverse
outputs not flipped back into time order, the reverse pass reading the sequence forwards, the two
halves concatenated in the wrong order, one set of weights used for both directions.
"""

import numpy as np

from rnnlib.exercises._checking import Case, Mistake, check_function, linspace_array, random_array
from rnnlib.scratch import gru, lstm, rnn
from rnnlib.scratch.params import init_params
from rnnlib.scratch.wrappers import bidirectional_forward

__all__ = ["check_bidirectional_forward"]


def _reference(cell, x, params, params_reverse):
    hs, _, _ = bidirectional_forward(cell, x, None, params, params_reverse)
    return hs


def _forward(cell, x, params):
    hs, _, _ = cell.forward(x, None, params)
    return hs


def _not_flipped_back(cell, x, params, params_reverse):
    return np.concatenate([_forward(cell, x, params), _forward(cell, x[:, ::-1], params_reverse)], axis=-1)


def _reverse_reads_forwards(cell, x, params, params_reverse):
    return np.concatenate([_forward(cell, x, params), _forward(cell, x, params_reverse)], axis=-1)


def _halves_swapped(cell, x, params, params_reverse):
    backward = _forward(cell, x[:, ::-1], params_reverse)[:, ::-1]
    return np.concatenate([backward, _forward(cell, x, params)], axis=-1)


def _same_weights(cell, x, params, params_reverse):
    return _reference(cell, x, params, params)


def _cases():
    def make(cell, values, N, T, D, H, rng):
        x = values((N, T, D))
        return (cell, x, init_params(cell.CELL, D, H, rng), init_params(cell.CELL, D, H, rng)), {}

    def fixed():
        return make(lstm, lambda shape: linspace_array(shape, -1.0, 1.0), 2, 4, 3, 3, np.random.default_rng(0))

    def random_gru():
        rng = np.random.default_rng(1)
        return make(gru, lambda shape: random_array(rng, shape), 3, 5, 2, 4, rng)

    def random_rnn():
        rng = np.random.default_rng(2)
        return make(rnn, lambda shape: random_array(rng, shape), 2, 6, 3, 2, rng)

    return [
        Case("fixed LSTM (N, T, D, H) = (2, 4, 3, 3)", fixed),
        Case("random GRU (3, 5, 2, 4)", random_gru),
        Case("random RNN (2, 6, 3, 2)", random_rnn),
    ]


def check_bidirectional_forward(fn, verbose=True):
    """Check a learner's ``fn(cell, x, params, params_reverse) -> hs (N, T, 2H)``.

    ``cell`` is one of the modules ``rnnlib.scratch.rnn``, ``lstm``, ``gru`` (use its
    ``forward(x, None, params)``); the initial states are zeros. Three cases (an LSTM, a GRU and a
    vanilla RNN), float64. Prints the verdict; raises ``AssertionError`` with a hint when wrong.
    """
    mistakes = [
        Mistake("the reverse outputs are in reverse time order: after running the cell on x[:, ::-1], "
                "flip its outputs back with [:, ::-1] so that position t holds the state after reading x_t",
                _not_flipped_back),
        Mistake("the reverse pass must read the sequence from the end: run the cell on x[:, ::-1] "
                "(and flip its outputs back), not on x", _reverse_reads_forwards),
        Mistake("the halves are swapped: hs[..., :H] is the forward direction and hs[..., H:] the reverse one "
                "(torch.nn's layout)", _halves_swapped),
        Mistake("the reverse direction has its own weights: use params_reverse for it", _same_weights),
    ]
    return check_function(
        "bidirectional forward", fn, reference=_reference, cases=_cases(), output_names=("hs",),
        mistakes=mistakes, verbose=verbose,
    )
