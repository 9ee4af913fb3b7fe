"""Argument checks shared by the scratch cells and wrappers (private).

Each check raises ValueError/TypeError naming the argument, what it received and what was
expected, using the shared helpers of :mod:`rnnlib.validate`.
"""

import importlib

import numpy as np

from rnnlib.layout import GATES, PARAM_KEYS
from rnnlib.validate import check_choice, check_float, check_keys, check_shape, format_shape


def _describe(obj):
    if hasattr(obj, "shape"):
        return f"{type(obj).__name__} of shape {tuple(obj.shape)}"
    if isinstance(obj, (tuple, list)):
        return f"{type(obj).__name__} of length {len(obj)}"
    return type(obj).__name__


def check_array(name, x, shape, note=""):
    """x must be a floating-point NumPy array with the given shape (see check_shape)."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array of shape {format_shape(shape)}, got {type(x).__name__}")
    check_float(name, x)
    return check_shape(name, x, shape, note)


def check_params(cell, params, D=None, name="params"):
    """Check a cell's params dict; return (input_size D, hidden_size H).

    D, when given, is the input size read from x: a W_ih whose rows are not G*H (transposed, say)
    is then reported with the shape that x asks for.
    """
    gates = GATES[cell]
    check_keys(name, params, PARAM_KEYS)
    W_hh = params["W_hh"]
    # H is read from W_hh's columns, then every other shape must agree with it.
    if not isinstance(W_hh, np.ndarray) or W_hh.ndim != 2:
        check_array(f"{name}['W_hh']", W_hh, (f"{gates}*H", "H"))
    H = W_hh.shape[1]
    check_array(f"{name}['W_hh']", W_hh, (gates * H, H), f"({cell}: {gates}*H rows, hidden_size H={H})")
    W_ih = params["W_ih"]
    if not isinstance(W_ih, np.ndarray) or W_ih.ndim != 2:
        check_array(f"{name}['W_ih']", W_ih, (gates * H, "D" if D is None else D))
    if W_ih.shape[0] == gates * H or D is None:
        D = W_ih.shape[1]
    check_array(f"{name}['W_ih']", W_ih, (gates * H, D), f"({cell}: {gates}*H rows, H={H}, input size D={D})")
    check_array(f"{name}['b_ih']", params["b_ih"], (gates * H,))
    check_array(f"{name}['b_hh']", params["b_hh"], (gates * H,))
    return D, H


def _input_size(x):
    """The last dimension of x when x is a NumPy array (to name W_ih's expected shape), else None."""
    return x.shape[-1] if isinstance(x, np.ndarray) and x.ndim > 0 else None


def check_state(cell, name, state, N, H, dtype):
    """Check a state (h, or (h, c) for LSTM) of batch N; None becomes zeros."""
    if cell == "lstm":
        if state is None:
            return (np.zeros((N, H), dtype), np.zeros((N, H), dtype))
        if not isinstance(state, (tuple, list)) or len(state) != 2:
            raise TypeError(
                f"{name} must be a tuple (h, c) of two arrays of shape ({N}, {H}) for an LSTM, got {_describe(state)}"
            )
        h, c = state
        check_array(f"{name}[0] (h)", h, (N, H))
        check_array(f"{name}[1] (c)", c, (N, H))
        return (h, c)
    if state is None:
        return np.zeros((N, H), dtype)
    if isinstance(state, (tuple, list)):
        raise TypeError(f"{name} must be an array h of shape ({N}, {H}) for {cell}, got {_describe(state)}")
    check_array(name, state, (N, H))
    return state


def cell_module(cell):
    """The module rnnlib.scratch.rnn, lstm or gru, given it or its name."""
    name = getattr(cell, "CELL", cell)
    if not isinstance(name, str) or name not in GATES:
        raise ValueError(f"cell must be one of 'rnn', 'lstm', 'gru' (or the module rnnlib.scratch.rnn, lstm, gru), "
                         f"got {cell!r}")
    return importlib.import_module(f"rnnlib.scratch.{name}")


def step_args(cell, x, state, params, nonlinearity="tanh"):
    """Validate step_forward's arguments; return the state (zeros if None)."""
    check_choice("nonlinearity", nonlinearity, ("tanh", "relu"))
    D, H = check_params(cell, params, _input_size(x))
    N, _ = check_array("x", x, ("N", D))
    return check_state(cell, "state", state, N, H, np.result_type(x, params["W_hh"]))


def sequence_args(cell, x, state0, params, nonlinearity="tanh"):
    """Validate forward's arguments; return the initial state (zeros if None)."""
    check_choice("nonlinearity", nonlinearity, ("tanh", "relu"))
    D, H = check_params(cell, params, _input_size(x))
    N, T, _ = check_array("x", x, ("N", "T", D))
    if T == 0:
        raise ValueError(f"x must have at least one time step (shape (N, T, {D}) with T >= 1), got {x.shape}")
    return check_state(cell, "state0", state0, N, H, np.result_type(x, params["W_hh"]))


def _check_upstream(cell, dh_name, dh, dstate_name, dstate, shape):
    """Check upstream gradients: dh of the given shape, dstate None or shaped like the state."""
    check_array(dh_name, dh, shape)
    if dstate is not None:
        N, H = shape[0], shape[-1]
        check_state(cell, dstate_name, dstate, N, H, dh.dtype)


def step_backward_args(cell, dh_next, dstate_next, cache, cache_type):
    """Validate step_backward's arguments: a cache of this cell's step_forward, gradients shaped like h."""
    if not isinstance(cache, cache_type):
        got = f"{type(cache).__module__.rsplit('.', 1)[-1]}.{type(cache).__name__}"
        raise TypeError(f"cache must be the cache returned by {cell}.step_forward, got {got}")
    _check_upstream(cell, "dh_next", dh_next, "dstate_next", dstate_next, cache.h_prev.shape)


def sequence_backward_args(cell, dhs, cache, dstate_T, cache_type):
    """Validate backward's arguments: a sequence cache of this cell, dhs (N, T, H)."""
    if not isinstance(cache, cache_type) or cache.cell != cell:
        got = f"a {cache.cell} cache" if isinstance(cache, cache_type) else type(cache).__name__
        raise TypeError(f"cache must be the cache returned by {cell}.forward, got {got}")
    N, H = cache.steps[0].h_prev.shape
    _check_upstream(cell, "dhs", dhs, "dstate_T", dstate_T, (N, len(cache.steps), H))
