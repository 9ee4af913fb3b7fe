r"""Checkers for the LSTM and GRU exercises of chapter 4: ``check_lstm_step_forward(my_fn)``.

The learner writes a function with the signature of :func:`rnnlib.scratch.lstm.step_forward`::

    h_next, (h_next, c_next), cache = my_fn(x, (h_prev, c_prev), params)

and the checker runs it on fixed inputs (biases and the previous state are non-zero, so that no
term can vanish unnoticed) against rnnlib's reference. When the result is wrong it compares it
with the outputs of the common mistakes, computed here, and names the one that matches:

* the gates split in another order than PyTorch's **i, f, g, o** (e.g. i, f, o, g or f, i, g, o);
* the forget-gate term missing, :math:`c_t = i \odot g`;
* sigmoid instead of tanh for the candidate g (or tanh for the gates);
* a bias missing (``b_ih``, ``b_hh`` or both);
* :math:`h_t = o \odot c_t` without the tanh.

``check_gru_step_forward`` does the same for :func:`rnnlib.scratch.gru.step_forward` (gate order
r, z, n; PyTorch's :math:`n = \tanh(W_{in} x + b_{in} + r \odot (W_{hn} h + b_{hn}))`).
"""

import itertools

import numpy as np

from rnnlib.exercises._checking import Case, Mistake, check_function, linspace_array, random_array
from rnnlib.scratch import gru as ref_gru
from rnnlib.scratch import lstm as ref_lstm

__all__ = ["check_lstm_step_forward", "check_gru_step_forward"]


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def _cases(G, lstm):
    """A fixed case (np.linspace values, reproducible by hand) and a seeded random one, float64.

    Biases and the previous state are non-zero, so that a missing term always shows.
    """

    def make(values, N, D, H):
        params = {"W_ih": values((G * H, D), 0.6), "W_hh": values((G * H, H), 0.5),
                  "b_ih": values((G * H,), 0.4), "b_hh": values((G * H,), 0.3)}
        x = values((N, D), 1.0)
        h = values((N, H), 0.5)
        state = (h, values((N, H), 1.0)) if lstm else h
        return (x, state, params), {}

    def fixed():
        counter = iter(range(100))
        # a different linspace range for each array, so that no two arrays are equal
        return make(lambda shape, scale: scale * linspace_array(shape, -1.0 + 0.1 * next(counter), 1.0), 3, 4, 5)

    def random():
        rng = np.random.default_rng(0)
        return make(lambda shape, scale: random_array(rng, shape, scale), 2, 3, 4)

    return [Case("fixed (N, D, H) = (3, 4, 5)", fixed), Case("random (N, D, H) = (2, 3, 4)", random)]


# ----------------------------------------------------------------------------------------------
# LSTM


def _lstm_variant(x, state, params, order="ifgo", forget=True, g_act="tanh", gate_act="sigmoid",
                  bias_ih=True, bias_hh=True, tanh_c=True):
    """An LSTM step with one of the usual mistakes; the defaults are the correct cell."""
    h_prev, c_prev = state
    a = x @ params["W_ih"].T + h_prev @ params["W_hh"].T
    if bias_ih:
        a = a + params["b_ih"]
    if bias_hh:
        a = a + params["b_hh"]
    blocks = dict(zip(order, np.split(a, 4, axis=1)))
    act = {"sigmoid": _sigmoid, "tanh": np.tanh}
    i, f, o = (act[gate_act](blocks[k]) for k in "ifo")
    g = act[g_act](blocks["g"])
    c = f * c_prev + i * g if forget else i * g
    h = o * np.tanh(c) if tanh_c else o * c
    return h, c


def _lstm_mistakes():
    """(hint, keyword arguments of _lstm_variant) for every mistake the checker recognises."""
    mistakes = []
    for perm in itertools.permutations("ifgo"):
        order = "".join(perm)
        if order != "ifgo":
            mistakes.append((
                f"wrong gate order: your gates are split as {', '.join(order)}. PyTorch (and rnnlib) stack "
                "the 4H rows of W_ih, W_hh, b_ih, b_hh as i, f, g, o: a_i = a[:, :H], a_f = a[:, H:2H], "
                "a_g = a[:, 2H:3H], a_o = a[:, 3H:]",
                dict(order=order),
            ))
    mistakes += [
        ("missing forget-gate term: you compute c_t = i * g; the cell state must keep its past, "
         "c_t = f * c_{t-1} + i * g", dict(forget=False)),
        ("the candidate g must use tanh (values in [-1, 1], so the cell can add or subtract), "
         "not sigmoid: g = tanh(a_g)", dict(g_act="sigmoid")),
        ("tanh and sigmoid are swapped: the gates i, f, o use sigmoid (values in [0, 1]) and the "
         "candidate g uses tanh", dict(g_act="sigmoid", gate_act="tanh")),
        ("the gates i, f, o must use sigmoid, not tanh", dict(gate_act="tanh")),
        ("missing biases: a = x W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh uses BOTH b_ih and b_hh",
         dict(bias_ih=False, bias_hh=False)),
        ("missing bias b_ih: a = x W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh", dict(bias_ih=False)),
        ("missing bias b_hh: a = x W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh", dict(bias_hh=False)),
        ("missing tanh on the cell state: h_t = o * tanh(c_t), not o * c_t", dict(tanh_c=False)),
        ("missing forget-gate term (c_t = f * c_{t-1} + i * g) and gate order (PyTorch's is i, f, g, o)",
         dict(forget=False, order="ifog")),
    ]
    return mistakes


def check_lstm_step_forward(fn, verbose=True):
    """Check a learner's LSTM ``step_forward(x, (h_prev, c_prev), params)`` against rnnlib's.

    ``fn`` must return ``(h_next, (h_next, c_next), cache)``; the cache is the learner's own and is
    not compared. Two cases, a fixed (np.linspace) one and a random one, float64. Prints the
    verdict and the worst relative error; raises ``AssertionError`` when wrong, with a hint naming
    the mistake when the output matches one of the common ones. Returns True when correct.
    """
    mistakes = [Mistake(hint, _planted(_lstm_variant, kwargs)) for hint, kwargs in _lstm_mistakes()]
    return check_function(
        "lstm step_forward", fn, reference=ref_lstm.step_forward, cases=_cases(4, lstm=True),
        output_names=("h_next", "state", None), mistakes=mistakes, verbose=verbose,
        fallback_hint="write the equations of the cell one per line (a = ..., i, f, g, o = ..., c = ..., h = ...) "
                      "and compare each with rnnlib.scratch.lstm._recurrence_forward",
    )


def _planted(variant, kwargs):
    """A planted mistake with the reference's signature and return structure."""

    def step_forward(x, state, params):
        out = variant(x, state, params, **kwargs)
        h = out[0] if isinstance(out, tuple) else out
        return h, out if isinstance(out, tuple) else h, None

    return step_forward


# ----------------------------------------------------------------------------------------------
# GRU


def _gru_variant(x, h_prev, params, order="rzn", reset_inside=True, interpolate="torch", bias_hh_n=True):
    """A GRU step with one of the usual mistakes; the defaults are PyTorch's cell."""
    ax = x @ params["W_ih"].T + params["b_ih"]
    blocks_x = dict(zip(order, np.split(ax, 3, axis=1)))
    W = dict(zip(order, np.split(params["W_hh"], 3, axis=0)))
    b = dict(zip(order, np.split(params["b_hh"], 3)))
    r = _sigmoid(blocks_x["r"] + h_prev @ W["r"].T + b["r"])
    z = _sigmoid(blocks_x["z"] + h_prev @ W["z"].T + b["z"])
    b_hn = b["n"] if bias_hh_n else 0.0
    if reset_inside:
        n = np.tanh(blocks_x["n"] + r * (h_prev @ W["n"].T + b_hn))
    else:  # Cho et al. (2014): the reset gate applied to h before the product
        n = np.tanh(blocks_x["n"] + (r * h_prev) @ W["n"].T + b_hn)
    return (1 - z) * n + z * h_prev if interpolate == "torch" else z * n + (1 - z) * h_prev


def _gru_mistakes():
    mistakes = []
    for perm in itertools.permutations("rzn"):
        order = "".join(perm)
        if order != "rzn":
            mistakes.append((
                f"wrong gate order: your gates are split as {', '.join(order)}; PyTorch's order is r, z, n "
                "(rows [:H], [H:2H], [2H:] of W_ih, W_hh, b_ih, b_hh)",
                dict(order=order),
            ))
    mistakes += [
        ("you apply the reset gate before the product, n = tanh(W_in x + b_in + (r * h) W_hn^T + b_hn) "
         "(Cho et al. 2014); PyTorch's convention is n = tanh(W_in x + b_in + r * (h W_hn^T + b_hn))",
         dict(reset_inside=False)),
        ("z and 1 - z are swapped: PyTorch's h_t = (1 - z) * n + z * h_{t-1}", dict(interpolate="swapped")),
        ("missing b_hn: it sits INSIDE the reset gate, n = tanh(W_in x + b_in + r * (h W_hn^T + b_hn))",
         dict(bias_hh_n=False)),
    ]
    return mistakes


def check_gru_step_forward(fn, verbose=True):
    """Check a learner's GRU ``step_forward(x, h_prev, params) -> (h_next, h_next, cache)``.

    Same cases and verdict as :func:`check_lstm_step_forward`; hints for gate order, the Cho et
    al. variant of the reset gate, swapped z / 1 - z and a missing b_hn.
    """
    mistakes = [Mistake(hint, _planted(_gru_variant, kwargs)) for hint, kwargs in _gru_mistakes()]
    return check_function(
        "gru step_forward", fn, reference=ref_gru.step_forward, cases=_cases(3, lstm=False),
        output_names=("h_next", "state", None), mistakes=mistakes, verbose=verbose,
    )
