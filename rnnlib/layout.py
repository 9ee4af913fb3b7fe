"""What RNN, LSTM and GRU share everywhere in rnnlib (NumPy and torch alike).

One place for the facts that rnnlib.scratch, rnnlib.nn, rnnlib.energy and rnnlib.viz all use:

- ``GATES``: the number of gate blocks G stacked in ``W_ih`` (G*H, D) and ``W_hh`` (G*H, H);
- ``GATE_NAMES``: the blocks in PyTorch's order (LSTM i, f, g, o; GRU r, z, n);
- ``PARAM_KEYS``: the keys of a scratch params dict;
- :func:`hidden`: the h of a state, which is h (RNN, GRU) or a tuple (h, c) (LSTM).

Never imports torch or NumPy.
"""

GATES = {"rnn": 1, "lstm": 4, "gru": 3}

GATE_NAMES = {"rnn": ("a",), "lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}

PARAM_KEYS = ("W_ih", "W_hh", "b_ih", "b_hh")


def hidden(state):
    """The hidden state h of a state: h itself, or the first part of an LSTM state (h, c)."""
    return state[0] if isinstance(state, (tuple, list)) else state
