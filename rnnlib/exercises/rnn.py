r"""Checkers for the vanilla RNN step: ``check_rnn_step_forward(my_fn)``, ``check_rnn_step_backward(my_fn)``.

The learner writes functions with the signatures of :mod:`rnnlib.scratch.rnn`::

    h_next, state_next, cache = step_forward(x, state, params)   # x (N, D), state h (N, H) or None
    dx, dstate, grads = step_backward(dh_next, dstate_next, cache)

for the Elman cell in PyTorch's layout,

.. math::

    h_t = \tanh(x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh}),

and its backward pass, with :math:`\partial h_t / \partial a_t = 1 - h_t^2`. The cache is the
learner's own: the forward checker ignores it, and the backward checker builds it with the
learner's ``step_forward`` when one is passed (otherwise with rnnlib's).

Each checker runs four cases: two fixed (``np.linspace`` inputs; one with D = H, so that a
transposed input matrix can run and be recognised) and two random, the last with
``state=None`` (forward: zeros) or ``dstate_next=None`` (backward: no gradient from the next
step). The hints it recognises are listed in ``FORWARD_MISTAKES`` and ``BACKWARD_MISTAKES``.
"""

import functools

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
from rnnlib.scratch import rnn as reference

__all__ = ["check_rnn_step_forward", "check_rnn_step_backward", "FORWARD_MISTAKES", "BACKWARD_MISTAKES"]

_EQUATION = "h_next = tanh(x @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh)"


def _fixed_inputs(N, D, H):
    """CS231n-style inputs: every array a np.linspace, biases different from each other."""
    x = linspace_array((N, D), -0.4, 0.7)
    h_prev = linspace_array((N, H), -0.2, 0.5)
    params = {
        "W_ih": linspace_array((H, D), -0.9, 0.6),
        "W_hh": linspace_array((H, H), -0.3, 0.7),
        "b_ih": linspace_array((H,), -0.2, 0.4),
        "b_hh": linspace_array((H,), 0.3, -0.5),
    }
    return x, h_prev, params


def _random_inputs(seed, N, D, H):
    rng = np.random.default_rng(seed)
    x = random_array(rng, (N, D))
    h_prev = np.tanh(random_array(rng, (N, H)))
    params = {
        "W_ih": random_array(rng, (H, D), 0.6),
        "W_hh": random_array(rng, (H, H), 0.6),
        "b_ih": random_array(rng, (H,), 0.5),
        "b_hh": random_array(rng, (H,), 0.5),
    }
    return x, h_prev, params


# (label, inputs, whether the state / upstream state gradient is None)
_CASES = [
    ("fixed inputs N=2, D=3, H=4", functools.partial(_fixed_inputs, 2, 3, 4), False),
    ("fixed inputs N=3, D=4, H=4", functools.partial(_fixed_inputs, 3, 4, 4), False),
    ("random inputs N=4, D=5, H=3", functools.partial(_random_inputs, 0, 4, 5, 3), False),
    ("random inputs N=3, D=2, H=5, state None", functools.partial(_random_inputs, 1, 3, 2, 5), True),
]


# ----------------------------------------------------------------------------------------------
# Forward


def _activation(name, a):
    return {"tanh": np.tanh, "relu": lambda v: np.maximum(v, 0), "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
            "identity": lambda v: v}[name](a)


def _planted_forward(x, state, params, transpose_ih=False, transpose_hh=False, bias_ih=True, bias_hh=True,
                     activation="tanh", separate=False, state_is_old=False, handles_none=True):
    """An RNN step with one mistake (the defaults give the correct step)."""
    if state is None:
        if not handles_none:
            raise TypeError("unsupported operand type(s) for @: 'NoneType' and 'float'")
        state = np.zeros((x.shape[0], params["W_hh"].shape[0]))
    # x @ W_ih.T is right; x @ W_ih only runs when D == H
    input_part = x @ (params["W_ih"] if transpose_ih else params["W_ih"].T)
    hidden_part = state @ (params["W_hh"] if transpose_hh else params["W_hh"].T)
    if bias_ih:
        input_part = input_part + params["b_ih"]
    if bias_hh:
        hidden_part = hidden_part + params["b_hh"]
    if separate:
        h = _activation(activation, input_part) + _activation(activation, hidden_part)
    else:
        h = _activation(activation, input_part + hidden_part)
    return h, (state if state_is_old else h), None


def _forward_mistake(hint, **options):
    return Mistake(hint, functools.partial(_planted_forward, **options))


FORWARD_MISTAKES = [
    _forward_mistake(
        "transposed W_hh: W_hh is stored (H_out, H_in) as in PyTorch, so the recurrent term is "
        "h_prev @ W_hh.T (W_hh is square, so h_prev @ W_hh runs but computes something else).",
        transpose_hh=True),
    _forward_mistake(
        "transposed W_ih: W_ih has shape (H, D) as in PyTorch, so the input term is x @ W_ih.T.",
        transpose_ih=True),
    _forward_mistake(
        "transposed W_ih and W_hh: PyTorch stores weights as (out, in); use x @ W_ih.T and h_prev @ W_hh.T.",
        transpose_ih=True, transpose_hh=True),
    _forward_mistake(f"both biases are missing: {_EQUATION}.", bias_ih=False, bias_hh=False),
    _forward_mistake(f"the bias b_ih is missing: {_EQUATION}.", bias_ih=False),
    _forward_mistake(f"the bias b_hh is missing (PyTorch has two biases, b_ih and b_hh): {_EQUATION}.",
                     bias_hh=False),
    _forward_mistake("relu instead of tanh: the vanilla RNN of this exercise uses h = tanh(a).", activation="relu"),
    _forward_mistake("sigmoid instead of tanh: h = tanh(a), with values in (-1, 1), not (0, 1).",
                     activation="sigmoid"),
    _forward_mistake("the nonlinearity is missing: h_next = tanh(a), not the pre-activation a itself.",
                     activation="identity"),
    _forward_mistake("tanh is applied to each term separately; apply it once, to the sum: "
                     f"{_EQUATION}.", separate=True),
    _forward_mistake("state_next must be the new hidden state h_next (for a vanilla RNN the output and the "
                     "state are the same array), not the previous state.", state_is_old=True),
    _forward_mistake("state=None must mean a zero initial state: "
                     "if state is None: state = np.zeros((x.shape[0], W_hh.shape[0])).", handles_none=False),
]


def _forward_cases():
    cases = []
    for label, inputs, state_none in _CASES:
        def make(inputs=inputs, state_none=state_none):
            x, h_prev, params = inputs()
            return (x, None if state_none else h_prev, params), {}
        cases.append(Case(label, make))
    return cases


def check_rnn_step_forward(fn, verbose=True):
    """Check a learner's ``step_forward(x, state, params) -> (h_next, state_next, cache)``.

    Compares ``h_next`` and ``state_next`` with :func:`rnnlib.scratch.rnn.step_forward` on four
    cases (float64); the cache is not compared. Prints the verdict; on a mismatch raises
    ``AssertionError`` naming the mistake when it recognises it. Returns True when correct.
    """
    return check_function(
        "rnn step_forward", fn, reference.step_forward, _forward_cases(),
        output_names=("h_next", "state_next", None), mistakes=FORWARD_MISTAKES, verbose=verbose,
        fallback_hint=f"write the step as {_EQUATION}, with x (N, D), h_prev (N, H), W_ih (H, D), W_hh (H, H).",
    )


# ----------------------------------------------------------------------------------------------
# Backward


def _planted_backward(x, h_prev, params, dh_next, dstate_next, derivative="1-h^2", use_dstate=True,
                      transpose_ih=False, transpose_hh=False, transpose_grads=False, sum_bias=True,
                      handles_none=True):
    """Forward, then a backward step with one mistake (the defaults give the correct gradients)."""
    h = np.tanh(x @ params["W_ih"].T + params["b_ih"] + h_prev @ params["W_hh"].T + params["b_hh"])
    if dstate_next is None:
        if not handles_none:
            raise TypeError("unsupported operand type(s) for +: 'float' and 'NoneType'")
        dh = dh_next
    else:
        dh = dh_next + dstate_next if use_dstate else dh_next
    local = {
        "1-h^2": 1 - h * h,
        "none": np.ones_like(h),
        "h": h,
        "1-h": 1 - h,
        "h(1-h)": h * (1 - h),
        "1-tanh(h)^2": 1 - np.tanh(h) ** 2,
    }[derivative]
    da = dh * local
    dx = da @ (params["W_ih"].T if transpose_ih else params["W_ih"])
    dh_prev = da @ (params["W_hh"].T if transpose_hh else params["W_hh"])
    if transpose_grads:
        dW_ih, dW_hh = x.T @ da, h_prev.T @ da
    else:
        dW_ih, dW_hh = da.T @ x, da.T @ h_prev
    db = da.sum(axis=0) if sum_bias else da
    return dx, dh_prev, {"W_ih": dW_ih, "W_hh": dW_hh, "b_ih": db, "b_hh": db}


def _backward_mistake(hint, **options):
    return Mistake(hint, functools.partial(_planted_backward, **options))


BACKWARD_MISTAKES = [
    _backward_mistake("the tanh derivative is missing: da = dh * (1 - h_next**2), not da = dh.", derivative="none"),
    _backward_mistake("tanh'(a) is 1 - tanh(a)**2 = 1 - h_next**2, not h_next: da = dh * (1 - h_next**2).",
                      derivative="h"),
    _backward_mistake("tanh'(a) = 1 - h_next**2 (squared), not 1 - h_next.", derivative="1-h"),
    _backward_mistake("h * (1 - h) is the sigmoid's derivative; for tanh use 1 - h_next**2.", derivative="h(1-h)"),
    _backward_mistake("1 - tanh(h)**2 applies tanh twice: h_next is already tanh(a), so tanh'(a) = 1 - h_next**2.",
                      derivative="1-tanh(h)^2"),
    _backward_mistake("dstate_next is ignored: h_next is both the output and the next step's state, so their "
                      "gradients add up, dh = dh_next + dstate_next.", use_dstate=False),
    _backward_mistake("transposed W_hh in dh_prev: a = ... + h_prev @ W_hh.T, so dh_prev = da @ W_hh.",
                      transpose_hh=True),
    _backward_mistake("transposed W_ih in dx: a = x @ W_ih.T + ..., so dx = da @ W_ih.", transpose_ih=True),
    _backward_mistake("transposed weight gradients: dW_ih = da.T @ x has W_ih's shape (H, D), and "
                      "dW_hh = da.T @ h_prev has shape (H, H).", transpose_grads=True),
    _backward_mistake("the bias gradients must be summed over the batch: db_ih = db_hh = da.sum(axis=0), shape (H,).",
                      sum_bias=False),
    _backward_mistake("dstate_next=None means no gradient comes from the next step: use dh = dh_next.",
                      handles_none=False),
]


def _backward_cases():
    cases = []
    for seed, (label, inputs, dstate_none) in enumerate(_CASES):
        def make(inputs=inputs, dstate_none=dstate_none, seed=seed):
            x, h_prev, params = inputs()
            rng = np.random.default_rng(100 + seed)
            H = h_prev.shape[1]
            dh_next = linspace_array(h_prev.shape, -0.6, 0.9) if seed < 2 else random_array(rng, h_prev.shape)
            dstate_next = None if dstate_none else random_array(rng, (x.shape[0], H))
            return (x, h_prev, params, dh_next, dstate_next), {}
        cases.append(Case(label.replace("state None", "dstate_next None"), make))
    return cases


def check_rnn_step_backward(fn, step_forward=None, verbose=True):
    """Check a learner's ``step_backward(dh_next, dstate_next, cache) -> (dx, dstate, grads)``.

    The cache comes from ``step_forward`` (the learner's own, whose cache ``fn`` understands) or,
    when it is None, from :func:`rnnlib.scratch.rnn.step_forward`. A learner's ``step_forward`` is
    checked first (:func:`check_rnn_step_forward`): when it is wrong, the message says so and
    the backward is not blamed. Compares ``dx``, ``dstate`` and every entry of ``grads`` with
    :func:`rnnlib.scratch.rnn.step_backward` on four cases. Prints the verdict; on a mismatch
    raises ``AssertionError`` naming the mistake when it recognises it. Returns True when correct.
    """
    return check_backward_with_forward(
        "rnn step_backward", fn, step_forward, check_rnn_step_forward, verbose,
        lambda learner_forward: check_function(
            "rnn step_backward", through_forward(learner_forward, fn),
            through_forward(reference.step_forward, reference.step_backward), _backward_cases(),
            output_names=("dx", "dstate", "grads"), mistakes=BACKWARD_MISTAKES, verbose=verbose,
            fallback_hint="with a = x @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh and h = tanh(a): "
                          "da = (dh_next + dstate_next) * (1 - h**2); dx = da @ W_ih; dh_prev = da @ W_hh; "
                          "dW_ih = da.T @ x; dW_hh = da.T @ h_prev; db_ih = db_hh = da.sum(axis=0).",
        ),
        reference.step_forward,
    )
