r"""Checkers for the LSTM and GRU exercises of chapter 4: ``check_lstm_step_forward(my_fn)``,
``check_lstm_step_backward(my_fn)`` and ``check_gru_step_forward(my_fn)``.

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

``check_lstm_step_backward`` checks the backward of one step,
``dx, (dh_prev, dc_prev), grads = my_fn(dh_next, (dh, dc) or None, cache)``, against
:func:`rnnlib.scratch.lstm.step_backward` and against finite differences, and names the usual
mistakes of the LSTM backward (``BACKWARD_MISTAKES``): the gradient ``dc`` from the next step
forgotten, :math:`\tanh'(c_t)` missing on the path through :math:`h_t`, the derivatives of the
gates taken at their pre-activations, the gate blocks of ``da`` stacked in another order than
i, f, g, o, :math:`dc_{t-1} = dc_t \odot f` without the :math:`f`, and more.

``check_gru_step_forward`` does the same for :func:`rnnlib.scratch.gru.step_forward` (gate order
r, z, n; PyTorch's :math:`n = \tanh(W_{in} x + b_{in} + r \odot (W_{hn} h + b_{hn}))`).
"""

import itertools

import numpy as np

from rnnlib.exercises._checking import (
    Case,
    Mistake,
    check_backward_with_forward,
    check_function,
    linspace_array,
    random_array,
    through_forward,
)
from rnnlib.scratch import gru as ref_gru
from rnnlib.scratch import lstm as ref_lstm
from rnnlib.report import error_bound
from rnnlib.scratch.gradcheck import numerical_gradient, rel_error

__all__ = ["check_lstm_step_forward", "check_lstm_step_backward", "check_gru_step_forward", "BACKWARD_MISTAKES"]


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
                      "and compare each with rnnlib.scratch.lstm.step_forward",
    )


def _planted(variant, kwargs):
    """A planted mistake with the reference's signature and return structure."""

    def step_forward(x, state, params):
        out = variant(x, state, params, **kwargs)
        h = out[0] if isinstance(out, tuple) else out
        return h, out if isinstance(out, tuple) else h, None

    return step_forward


# ----------------------------------------------------------------------------------------------
# LSTM backward


def _lstm_backward_variant(x, state, params, dh_next, dstate_next, order="ifgo", use_dh_state=True, use_dc=True,
                           tanh_prime_c=True, preactivation=None, g_prime="1-g^2", forget_in_dc_prev=True,
                           tanh_in_do=True, transpose_grads=False, sum_bias=True, handles_none=True):
    """A correct LSTM step forward, then its backward with one of the usual mistakes (the
    defaults give the correct gradients)."""
    h_prev, c_prev = state
    a = x @ params["W_ih"].T + params["b_ih"] + h_prev @ params["W_hh"].T + params["b_hh"]
    a_i, a_f, a_g, a_o = np.split(a, 4, axis=1)
    i, f, g, o = _sigmoid(a_i), _sigmoid(a_f), np.tanh(a_g), _sigmoid(a_o)
    c = f * c_prev + i * g
    tanh_c = np.tanh(c)
    if dstate_next is None:
        if not handles_none:
            raise TypeError("'NoneType' object is not subscriptable")
        dh, dc = dh_next, np.zeros_like(c)
    else:
        dh = dh_next + dstate_next[0] if use_dh_state else dh_next
        dc = dstate_next[1] if use_dc else np.zeros_like(c)
    do = dh * (tanh_c if tanh_in_do else c)
    dc = dc + dh * o * ((1 - tanh_c**2) if tanh_prime_c else 1.0)
    di, df, dg = dc * g, dc * c_prev, dc * i
    dc_prev = dc * f if forget_in_dc_prev else dc
    # preactivation: "sigmoid" takes sigma'(a) as a (1 - a) for i, f, o; "all" also tanh'(a_g) as 1 - a_g^2
    gate_i, gate_f, gate_o = (a_i, a_f, a_o) if preactivation else (i, f, o)
    gate_g = a_g if preactivation == "all" else g
    derivative_g = {"1-g^2": 1 - gate_g**2, "g(1-g)": gate_g * (1 - gate_g)}[g_prime]
    blocks = {"i": di * gate_i * (1 - gate_i), "f": df * gate_f * (1 - gate_f), "g": dg * derivative_g,
              "o": do * gate_o * (1 - gate_o)}
    da = np.concatenate([blocks[k] for k in order], axis=1)
    dx, dh_prev = da @ params["W_ih"], da @ params["W_hh"]
    dW_ih, dW_hh = (x.T @ da, h_prev.T @ da) if transpose_grads else (da.T @ x, da.T @ h_prev)
    db = da.sum(axis=0) if sum_bias else da
    return dx, (dh_prev, dc_prev), {"W_ih": dW_ih, "W_hh": dW_hh, "b_ih": db, "b_hh": db}


def _backward_mistake(hint, **options):
    def planted(x, state, params, dh_next, dstate_next):
        return _lstm_backward_variant(x, state, params, dh_next, dstate_next, **options)

    return Mistake(hint, planted)


_DC = "dc = dstate_next[1] + dh * o * (1 - tanh(c)**2)"

BACKWARD_MISTAKES = [
    _backward_mistake(f"the gradient dc coming from the next step is missing: the cell state c_t is passed on to "
                      f"step t+1, so its gradient dstate_next[1] adds to the one through h_t: {_DC}.", use_dc=False),
    _backward_mistake("the gradient from the next step's h is missing: h_t is both this step's output and part of "
                      "the next state, so dh = dh_next + dstate_next[0].", use_dh_state=False),
    _backward_mistake(f"tanh'(c) is missing on the path through h: h = o * tanh(c), so dh reaches c through "
                      f"tanh, {_DC}.", tanh_prime_c=False),
    _backward_mistake("the gate derivatives use the pre-activations: sigma'(a_i) = i * (1 - i) with the gate "
                      "i = sigmoid(a_i) itself, not a_i * (1 - a_i) (the same for f and o).", preactivation="sigmoid"),
    _backward_mistake("the gate derivatives use the pre-activations: sigma'(a_i) = i * (1 - i) with the gate "
                      "i = sigmoid(a_i) itself, not a_i * (1 - a_i), and tanh'(a_g) = 1 - g**2 with g = tanh(a_g).",
                      preactivation="all"),
    _backward_mistake("dc_prev misses the forget gate: c = f * c_prev + i * g, so dc_prev = dc * f, not dc.",
                      forget_in_dc_prev=False),
    _backward_mistake("do uses c instead of tanh(c): h = o * tanh(c), so do = dh * tanh(c).", tanh_in_do=False),
    _backward_mistake("the candidate g uses tanh, whose derivative is 1 - g**2; g * (1 - g) is the sigmoid's.",
                      g_prime="g(1-g)"),
    _backward_mistake("transposed weight gradients: dW_ih = da.T @ x has W_ih's shape (4H, D), and "
                      "dW_hh = da.T @ h_prev has shape (4H, H).", transpose_grads=True),
    _backward_mistake("the bias gradients must be summed over the batch: db_ih = db_hh = da.sum(axis=0), shape (4H,).",
                      sum_bias=False),
    _backward_mistake("dstate_next=None means no gradient comes from the next step: use dh = dh_next and dc = 0.",
                      handles_none=False),
] + [
    _backward_mistake(f"wrong gate order in da: your blocks are stacked as {', '.join(order)}. da must follow the "
                      "rows of W_ih, W_hh, b_ih, b_hh, i.e. PyTorch's i, f, g, o: "
                      "da = np.concatenate([da_i, da_f, da_g, da_o], axis=1).", order="".join(order))
    for order in itertools.permutations("ifgo") if "".join(order) != "ifgo"
]


def _backward_cases():
    """Two fixed cases (np.linspace values) and two random ones, the last with dstate_next=None."""

    def make(values, N, D, H, dstate_none=False):
        params = {"W_ih": values((4 * H, D), 0.6), "W_hh": values((4 * H, H), 0.5),
                  "b_ih": values((4 * H,), 0.4), "b_hh": values((4 * H,), 0.3)}
        x, state = values((N, D), 1.0), (values((N, H), 0.5), values((N, H), 1.0))
        dh_next = values((N, H), 1.0)
        dstate_next = None if dstate_none else (values((N, H), 0.7), values((N, H), 0.9))
        return (x, state, params, dh_next, dstate_next), {}

    def fixed(N, D, H):
        def run():
            counter = iter(range(100))
            # a different linspace range for each array, so that no two arrays are equal
            return make(lambda shape, scale: scale * linspace_array(shape, -1.0 + 0.1 * next(counter), 1.0), N, D, H)
        return run

    def random(seed, N, D, H, dstate_none=False):
        def run():
            rng = np.random.default_rng(seed)
            return make(lambda shape, scale: random_array(rng, shape, scale), N, D, H, dstate_none)
        return run

    return [
        Case("fixed (N, D, H) = (2, 3, 4)", fixed(2, 3, 4)),
        Case("fixed (N, D, H) = (3, 2, 3)", fixed(3, 2, 3)),
        Case("random (N, D, H) = (4, 5, 3)", random(0, 4, 5, 3)),
        Case("random (N, D, H) = (3, 4, 2), dstate_next None", random(1, 3, 4, 2, dstate_none=True)),
    ]


def _finite_difference_error(fn, case):
    """Worst relative error of ``fn``'s gradients against centred differences of the LSTM step.

    The scalar is :math:`L = \\sum h \\odot dh_{next} + \\sum h \\odot dh_{state} + \\sum c \\odot dc_{state}`,
    whose gradients are exactly what one backward step returns.
    """
    (x, (h_prev, c_prev), params, dh_next, dstate_next), _ = case.make_args()
    dh_state, dc_state = dstate_next

    def loss():
        h, (_, c), _ = ref_lstm.step_forward(x, (h_prev, c_prev), params)
        return np.sum(h * (dh_next + dh_state)) + np.sum(c * dc_state)

    dx, (dh_prev, dc_prev), grads = fn(*case.make_args()[0])
    pairs = [(dx, x), (dh_prev, h_prev), (dc_prev, c_prev)] + [(grads[k], params[k]) for k in params]
    return max(rel_error(got, numerical_gradient(lambda _: loss(), wrt)) for got, wrt in pairs)


def check_lstm_step_backward(fn, step_forward=None, verbose=True):
    """Check a learner's LSTM ``step_backward(dh_next, dstate_next, cache) -> (dx, (dh_prev, dc_prev), grads)``.

    The cache comes from ``step_forward`` (the learner's own, whose cache ``fn`` understands) or,
    when it is None, from :func:`rnnlib.scratch.lstm.step_forward`; a learner's ``step_forward``
    is checked first (:func:`check_lstm_step_forward`), so that a wrong forward is named as such.
    ``dstate_next`` is ``(dh, dc)`` from the next step, or None (no gradient from it). Compares
    ``dx``, ``dstate`` and every entry of ``grads`` with :func:`rnnlib.scratch.lstm.step_backward`
    on four cases (two of ``np.linspace`` inputs, float64), then, on the first case, with
    centred finite differences of the forward step. Prints the verdict; on a mismatch raises
    ``AssertionError`` naming the mistake when it recognises it (``BACKWARD_MISTAKES``).
    Returns True when correct.
    """
    cases = _backward_cases()

    def check_backward(learner_forward):
        learner = through_forward(learner_forward, fn)
        check_function(
            "lstm step_backward", learner, through_forward(ref_lstm.step_forward, ref_lstm.step_backward), cases,
            output_names=("dx", "dstate", "grads"), mistakes=BACKWARD_MISTAKES, verbose=verbose,
            fallback_hint=f"go backwards through the forward equations one at a time: dh = dh_next + dstate_next[0]; "
                          f"do = dh * tanh(c); {_DC}; di = dc * g, df = dc * c_prev, dg = dc * i, "
                          "dc_prev = dc * f; da = [di * i(1-i), df * f(1-f), dg * (1-g**2), do * o(1-o)] (order "
                          "i, f, g, o); dx = da @ W_ih; dh_prev = da @ W_hh; dW_ih = da.T @ x; "
                          "dW_hh = da.T @ h_prev; db_ih = db_hh = da.sum(axis=0).",
        )
        error = _finite_difference_error(learner, cases[0])
        if verbose:
            print(f"        and against centred finite differences on {cases[0].label}: "
                  f"worst relative error {error_bound(error)}.")
        return True

    return check_backward_with_forward("lstm step_backward", fn, step_forward, check_lstm_step_forward, verbose,
                                       check_backward, ref_lstm.step_forward)


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
