"""Argument checks shared by rnnlib.scratch and rnnlib.nn (works on NumPy arrays and torch tensors).

Every message names the argument, what was received and what was expected, e.g.
``x must have shape (N, T, 8) (batch_first=True), got (5, 8)``. This module never imports
torch, so rnnlib.scratch can use it.
"""

import math
import numbers

import numpy as np


def _fmt_dim(d):
    return "?" if d is None else str(d)


def format_shape(shape):
    """Format a shape tuple whose entries are ints, names (str) or None (any size)."""
    dims = [_fmt_dim(d) for d in shape]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


def shape_of(x):
    return tuple(int(d) for d in x.shape)


def check_shape(name, x, expected, note=""):
    """Raise ValueError unless ``x.shape`` matches ``expected``.

    Args:
        name: the argument's name, used in the message.
        x: array or tensor (anything with ``.shape``).
        expected: tuple of ints (must match), strings (symbolic size: any value, shown by
            name) or None (any value).
        note: extra context appended to the expected shape, e.g. "(batch_first=True)".
    """
    if not hasattr(x, "shape"):
        raise TypeError(f"{name} must be an array of shape {format_shape(expected)}, got {type(x).__name__}")
    got = shape_of(x)
    ok = len(got) == len(expected) and all(
        e is None or isinstance(e, str) or int(e) == g for e, g in zip(expected, got)
    )
    if not ok:
        suffix = f" {note}" if note else ""
        raise ValueError(f"{name} must have shape {format_shape(expected)}{suffix}, got {got}")
    return got


def _is_floating(x):
    if hasattr(x, "is_floating_point"):  # torch tensor, without importing torch
        return bool(x.is_floating_point())
    return np.issubdtype(np.asarray(x).dtype, np.floating)


def check_float(name, x):
    """Raise TypeError unless ``x`` holds floating-point numbers."""
    if not hasattr(x, "dtype"):
        raise TypeError(f"{name} must be a floating-point array, got {type(x).__name__}")
    if not _is_floating(x):
        raise TypeError(f"{name} must have a floating-point dtype (float32 or float64), got {x.dtype}")


def check_integer(name, x):
    """Raise TypeError unless ``x`` holds integers (token ids, class labels)."""
    if not hasattr(x, "dtype"):
        raise TypeError(f"{name} must be an integer array, got {type(x).__name__}")
    dtype = x.dtype
    is_int = (
        not dtype.is_floating_point and not dtype.is_complex and str(dtype) != "torch.bool"
        if hasattr(dtype, "is_floating_point")
        else np.issubdtype(dtype, np.integer)
    )
    if not is_int:
        raise TypeError(f"{name} must have an integer dtype, got {dtype}")


def check_choice(name, value, choices):
    """Raise ValueError unless ``value`` is one of ``choices``."""
    if value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {options}, got {value!r}")
    return value


def check_positive_int(name, value, allow_zero=False):
    """Raise ValueError/TypeError unless ``value`` is an int > 0 (or >= 0 with allow_zero)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    low = 0 if allow_zero else 1
    if value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value}")
    return int(value)


def _interval(low, high, low_open, high_open):
    if low is not None and high is not None:
        return f" in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if low is not None:
        return f" {'>' if low_open else '>='} {low}"
    if high is not None:
        return f" {'<' if high_open else '<='} {high}"
    return ""


def check_number(name, value, low=None, high=None, *, low_open=False, high_open=False):
    """Raise TypeError unless ``value`` is a real number (not a bool), and ValueError unless it is
    finite and lies in the interval from ``low`` to ``high`` (either end open or closed, or None).

    NaN and infinities are rejected explicitly: every comparison with NaN is False, so a check
    such as ``value < low`` alone would let NaN through. Returns ``float(value)``.
    """
    expected = f"a finite number{_interval(low, high, low_open, high_open)}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be {expected}, got {type(value).__name__} {value!r}")
    value = float(value)
    inside = math.isfinite(value)
    if inside and low is not None:
        inside = value > low if low_open else value >= low
    if inside and high is not None:
        inside = value < high if high_open else value <= high
    if not inside:
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return value


def check_probability(name, value):
    """Raise ValueError unless 0 <= value < 1 (dropout rates and the like)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
    return float(value)


def check_keys(name, mapping, required):
    """Raise ValueError unless the dict ``mapping`` has all ``required`` keys."""
    if not isinstance(mapping, dict):
        raise TypeError(f"{name} must be a dict with keys {sorted(required)}, got {type(mapping).__name__}")
    missing = [k for k in required if k not in mapping]
    if missing:
        raise ValueError(f"{name} is missing keys {missing}; expected keys {sorted(required)}, got {sorted(mapping)}")


def check_token_ids(name, x, vocab_size):
    """Raise ValueError unless every id in the integer array ``x`` lies in ``[0, vocab_size)``."""
    if x.shape and int(np.prod(x.shape)) == 0:
        return
    low, high = int(x.min()), int(x.max())
    if low < 0 or high >= vocab_size:
        raise ValueError(
            f"{name} must hold token ids in [0, {vocab_size - 1}] (vocab_size), got values in [{low}, {high}]"
        )


def check_token_sequence(name, ids, vocab_size):
    """Raise unless ``ids`` (an array or tensor) is a non-empty 1-D sequence of integer token
    ids in ``[0, vocab_size)``, such as a prompt to continue."""
    if getattr(ids, "ndim", None) == 1 and ids.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one token id, got an empty sequence")
    check_integer(name, ids)
    check_shape(name, ids, ("T",), note="(a non-empty sequence of token ids)")
    check_token_ids(name, ids, vocab_size)


def check_instance(name, value, cls, optional=False):
    """Raise TypeError unless ``value`` is an instance of ``cls`` (or None when ``optional``)."""
    if not (isinstance(value, cls) or (optional and value is None)):
        expected = cls.__module__.split(".")[0] + "." + cls.__name__ + (" or None" if optional else "")
        raise TypeError(f"{name} must be a {expected}, got {type(value).__name__}")
    return value


def check_bool(name, value):
    """Raise TypeError unless ``value`` is a bool (flags such as ``bias``, ``batch_first``)."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return value


def check_tensor(name, x, like, dtypes=None):
    """x must be a floating torch tensor on the device of the tensor ``like`` (a parameter), with
    its dtype or one of ``dtypes`` (e.g. the autocast dtype)."""
    if not hasattr(x, "is_floating_point") or not hasattr(x, "device"):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    check_float(name, x)
    if x.dtype not in (dtypes or (like.dtype,)):
        raise TypeError(f"{name} must have the same dtype as the parameters ({like.dtype}), got {x.dtype}")
    if x.device != like.device:
        raise ValueError(f"{name} must be on the parameters' device ({like.device}), got {x.device}")


def check_recurrent_state(state, cell, shape, like, note="", dtypes=None):
    """A torch state: a tensor h of ``shape`` for "rnn"/"gru", a tuple (h, c) of two for "lstm".

    Each tensor is checked with :func:`check_tensor` against ``like``; ``note`` explains the
    shape in messages. Returns the state (a tuple for the LSTM).
    """
    label = cell.upper()
    if cell == "lstm":
        if not isinstance(state, (tuple, list)) or len(state) != 2:
            got = type(state).__name__ + (f" of length {len(state)}" if isinstance(state, (tuple, list)) else "")
            raise TypeError(f"state must be a tuple (h, c) for {label}, each of shape {format_shape(shape)}, got a {got}")
        parts = {"state[0] (h)": state[0], "state[1] (c)": state[1]}
    else:
        if isinstance(state, (tuple, list)):
            raise TypeError(f"state must be a tensor h of shape {format_shape(shape)} for {label}, "
                            f"got a {type(state).__name__} of length {len(state)}")
        parts = {"state": state}
    for name, tensor in parts.items():
        check_tensor(name, tensor, like, dtypes)
        check_shape(name, tensor, shape, note)
    return tuple(parts.values()) if cell == "lstm" else state


def check_special_ids(vocab_size=None, vocab_name="vocab_size", distinct=None, **ids):
    """Raise unless every special token id (``bos_id=1, eos_id=2, pad_id=0``...) is an int >= 0,
    below ``vocab_size`` when it is given, and the ids named in ``distinct`` (default: all)
    differ from each other: a decoder that stops at ``<eos>`` must be able to tell it from
    ``<pad>``. Returns the ids as ints, in the order given.
    """
    for name, value in ids.items():
        check_positive_int(name, value, allow_zero=True)
        if vocab_size is not None and value >= vocab_size:
            raise ValueError(f"{name} must be a token id in [0, {vocab_size - 1}] ({vocab_name}={vocab_size}), got {value}")
    names = list(ids) if distinct is None else list(distinct)
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            if ids[first] == ids[second]:
                raise ValueError(f"{first} and {second} must be different token ids, got {first}={ids[first]} "
                                 f"and {second}={ids[second]}")
    return tuple(int(v) for v in ids.values())


def check_rng(rng, name="rng"):
    """Randomness, the one convention of rnnlib.data: a ``numpy.random.Generator`` (used as is, so
    its state advances) or an int seed >= 0 (a new generator). Returns the Generator."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        if rng < 0:
            raise ValueError(f"{name} must be a numpy.random.Generator or an int seed >= 0, got {rng}")
        return np.random.default_rng(int(rng))
    raise TypeError(f"{name} must be a numpy.random.Generator or an int seed >= 0, got {type(rng).__name__} {rng!r}")
