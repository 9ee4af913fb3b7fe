"""The machinery behind every ``rnnlib.exercises`` checker: run, compare, diagnose, print a verdict.

A checker runs the learner's function and rnnlib's reference on the same inputs: *fixed*
inputs (``np.linspace`` values, as in CS231n, so that a learner can reproduce them by hand) and
*random* ones (seeded). It compares every output by the relative error
:math:`\\lVert a - b \\rVert / (\\lVert a \\rVert + \\lVert b \\rVert)` and prints a verdict: which
outputs matched, on how many cases, and the worst relative error.

When the learner's function is wrong, the checker looks for the mistake: it runs *planted
variants* of the reference, each with one common mistake (transposed weights, a missing bias,
sigmoid instead of tanh, ...), and if the learner's outputs match one of them on every case, the
``AssertionError`` it raises names that mistake and how to fix it. A variant that cannot run on
a case (a transposed non-square matrix) matches a learner whose function raised an error on that
same case; a case where only the learner's function failed is left out of the comparison. Otherwise
the message says which output differs, on which case, and by how much.

Adding a checker (chapters 3, 4, 6) takes a few lines::

    from rnnlib.exercises._checking import Case, Mistake, check_function, linspace_array, random_array

    def check_clip_grad_norm(fn):
        def fixed():
            return ({"W": linspace_array((3, 4), -2, 3), "b": linspace_array((4,), 1, 2)}, 1.0), {}

        def planted_clip_value(grads, max_norm):  # the reference's signature
            return {k: np.clip(g, -max_norm, max_norm) for k, g in grads.items()}, ...

        return check_function(
            "clip_grad_norm", fn, reference=rnnlib.scratch.optim.clip_grad_norm,
            cases=[Case("fixed", fixed), Case("random", lambda: ...)],
            output_names=("grads", "total_norm"),
            mistakes=[Mistake("clipping each entry is clip_grad_value; scale all gradients by "
                              "min(1, max_norm / total_norm)", planted_clip_value)],
        )

``check_function`` does the rest: it calls each function on fresh copies of the inputs (so an
in-place update cannot leak into the next call), fails when the learner's function changed one of
its inputs, returned ``None`` (a forgotten ``return``), something that is not a NumPy array where an
array is expected (a string, a torch tensor), or the wrong number of values, unpacks the returned
tuple by ``output_names`` (``None`` skips a value, e.g. a cache whose format is the learner's own),
flattens dicts and tuples into names such as ``grads['W_ih']`` or ``state[1]``, prints the verdict
and raises.
"""

import inspect
import traceback
from typing import Callable, NamedTuple

import numpy as np

from rnnlib.report import error_bound
from rnnlib.scratch.gradcheck import rel_error

__all__ = [
    "Case",
    "Mistake",
    "check_function",
    "linspace_array",
    "random_array",
    "describe",
    "DEFAULT_TOLERANCE",
]

DEFAULT_TOLERANCE = 1e-7


class Case(NamedTuple):
    """One set of inputs: ``make_args()`` returns ``(args, kwargs)`` (a fresh copy at each call)."""

    label: str
    make_args: Callable


class Mistake(NamedTuple):
    """A common mistake: its ``hint`` and a planted variant ``fn`` with the reference's signature."""

    hint: str
    fn: Callable


def linspace_array(shape, low=-0.5, high=0.5):
    """CS231n-style fixed input: ``np.linspace(low, high, size).reshape(shape)`` in float64."""
    return np.linspace(low, high, num=int(np.prod(shape))).reshape(shape)


def random_array(rng, shape, scale=1.0):
    """Seeded normal input in float64: ``scale * rng.standard_normal(shape)``."""
    return scale * rng.standard_normal(shape)


def describe(value):
    """A short description of a returned value for error messages: type and shape."""
    if isinstance(value, np.ndarray) or hasattr(value, "shape"):
        return f"{type(value).__name__} of shape {tuple(value.shape)}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} values ({', '.join(describe(v) for v in value)})"
    if isinstance(value, dict):
        return f"a dict with keys {sorted(value)}"
    return f"{type(value).__name__} {value!r}"[:120]


def _copy(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, tuple):
        return tuple(_copy(v) for v in value)
    if isinstance(value, list):
        return [_copy(v) for v in value]
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return value


def _error_line(exc):
    """``ValueError: message (at file.py:12)``: the exception and the learner's line that raised it."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


def _flatten(name, value, out):
    """Flatten nested dicts / tuples of arrays into {"grads['W_ih']": array, "state[1]": array}."""
    if isinstance(value, dict):
        for key in value:
            _flatten(f"{name}[{key!r}]", value[key], out)
    elif isinstance(value, (tuple, list)):
        for i, item in enumerate(value):
            _flatten(f"{name}[{i}]", item, out)
    else:
        out[name] = value
    return out


def _unpack(result, output_names, learner=False):
    """The named outputs of one call, flattened; AssertionError when the learner's result has
    the wrong structure or holds something that is not a number or a NumPy array."""
    expected = ", ".join(n if n else "..." for n in output_names)
    if learner and result is None:
        raise AssertionError(f"your function returned None: did you forget `return`? It must return ({expected})")
    if len(output_names) == 1:
        result = (result,)
    if not isinstance(result, (tuple, list)) or len(result) != len(output_names):
        raise AssertionError(f"your function returned {describe(result)}; it must return ({expected})")
    out = {}
    for name, value in zip(output_names, result):
        if name is not None:
            _flatten(name, value, out)
    if learner:
        for name, value in out.items():
            _check_returned_value(name, value)
    return out


def _check_returned_value(name, value):
    if value is None:
        raise AssertionError(f"your function returned None for {name}: did you forget to compute or return it?")
    if type(value).__module__.split(".")[0] == "torch":
        raise AssertionError(
            f"your function returned a torch {type(value).__name__} for {name}: this exercise is written in NumPy, "
            "so return a NumPy array (a tensor converts with tensor.detach().cpu().numpy())"
        )
    if isinstance(value, (str, bytes)):
        raise AssertionError(f"your function returned {describe(value)} for {name}; it must be a number or a NumPy array")


def _argument_names(reference, count):
    """The names of a function's first ``count`` positional arguments, for messages."""
    try:
        names = [p.name for p in inspect.signature(reference).parameters.values()
                 if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        names = []
    return [names[i] if i < len(names) else f"argument {i + 1}" for i in range(count)]


def _changed(name, before, after):
    """The name of the first part of an input that differs between ``before`` and ``after``, or None."""
    if isinstance(before, np.ndarray):
        same = isinstance(after, np.ndarray) and before.shape == after.shape and before.dtype == after.dtype and (
            np.array_equal(before, after, equal_nan=np.issubdtype(before.dtype, np.inexact)))
        return None if same else name
    if isinstance(before, dict):
        if not isinstance(after, dict) or list(before) != list(after):
            return name
        return next((c for k in before if (c := _changed(f"{name}[{k!r}]", before[k], after[k]))), None)
    if isinstance(before, (tuple, list)):
        if type(after) is not type(before) or len(after) != len(before):
            return name
        return next((c for i, (b, a) in enumerate(zip(before, after)) if (c := _changed(f"{name}[{i}]", b, a))), None)
    return None


def _changed_input(reference, args, kwargs, used_args, used_kwargs):
    names = _argument_names(reference, len(args))
    return next((c for name, b, a in zip(names, args, used_args) if (c := _changed(name, b, a))), None) or next(
        (c for key in kwargs if (c := _changed(key, kwargs[key], used_kwargs[key]))), None)


def _compare(got, expected):
    """(worst relative error, first problem or None) of learner outputs against expected ones."""
    worst, problem = 0.0, None
    missing = [name for name in expected if name not in got]
    if missing:
        return np.inf, f"{', '.join(missing)} missing from what your function returned (it returned {', '.join(got)})"
    for name, want in expected.items():
        have = got[name]
        try:
            have_array = np.asarray(have, dtype=np.float64)
        except (TypeError, ValueError):
            return np.inf, f"{name} must be an array, got {describe(have)}"
        want = np.asarray(want, dtype=np.float64)
        if have_array.shape != want.shape:
            return np.inf, f"{name} has shape {have_array.shape}, expected {want.shape}"
        error = rel_error(have_array, want)
        if not np.isfinite(error):
            error = np.inf
        if error > worst:
            worst = error
            problem = f"{name} differs from the reference: relative error {error:.2e}"
    return worst, problem


def _print(verbose, message):
    if verbose:
        print(message)


def _passed(title, cases, names, worst, tolerance, verbose):
    labels = "; ".join(cases)
    _print(verbose, f"PASSED {title}: {', '.join(names)} match rnnlib's reference on {len(cases)} cases ({labels}); "
                    f"worst relative error {error_bound(worst)} (tolerance {tolerance:.0e}).")
    return True


def _failed(title, message, verbose):
    _print(verbose, f"FAILED {title}: {message}")
    raise AssertionError(f"{title}: {message}")


def _failure_message(problem, mistake_hint, tolerance, fallback_hint=None):
    message = f"{problem} (tolerance {tolerance:.0e})."
    if mistake_hint:
        message += f"\n  Hint: your output matches a common mistake: {mistake_hint}"
    elif fallback_hint:
        message += f"\n  Hint: {fallback_hint}"
    return message


def check_function(title, fn, reference, cases, output_names, mistakes=(), tolerance=DEFAULT_TOLERANCE,
                   verbose=True, fallback_hint=None):
    """Check the learner's ``fn`` against ``reference`` on ``cases``; print a verdict; raise when wrong.

    Args:
        title: what is checked, shown in the verdict, e.g. ``"rnn step_forward"``.
        fn: the learner's function, with the reference's signature.
        reference: rnnlib's function.
        cases: list of :class:`Case`.
        output_names: a name for each value the functions return (``None`` skips one); a
            function that returns a single value has one name.
        mistakes: list of :class:`Mistake`, tried in order; the first that matches gives the hint.
        tolerance: the largest relative error accepted.
        fallback_hint: said when the function is wrong and no planted mistake matches.

    Returns:
        True when ``fn`` matches the reference on every case.
    """
    if not callable(fn):
        raise TypeError(f"fn must be a function, got {describe(fn)}")
    if not isinstance(verbose, bool):
        raise TypeError(f"verbose must be True or False, got {describe(verbose)}")
    labels = [case.label for case in cases]
    expected, learner, learner_errors = [], [], []
    for case in cases:
        args, kwargs = case.make_args()
        expected.append(_unpack(reference(*_copy(args), **_copy(kwargs)), output_names))
        used_args, used_kwargs = _copy(args), _copy(kwargs)
        try:
            result = fn(*used_args, **used_kwargs)
        except Exception as exc:
            learner.append(None)
            learner_errors.append(exc)
            continue
        changed = _changed_input(reference, args, kwargs, used_args, used_kwargs)
        if changed is not None:
            return _failed(title, f"on {case.label}, your function modified its input {changed} in place. A function "
                                  "must not change what it is given (the caller may still need it): compute a new "
                                  "array (h = ... rather than h += ... or h[...] = ...), or work on a copy, "
                                  "x = x.copy().", verbose)
        learner_errors.append(None)
        try:
            learner.append(_unpack(result, output_names, learner=True))
        except AssertionError as exc:
            return _failed(title, f"on {case.label}, {exc}", verbose)

    worst, first_problem = 0.0, None
    for label, got, want, exc in zip(labels, learner, expected, learner_errors):
        if exc is not None:
            worst = np.inf
            first_problem = first_problem or f"on {label}, your function raised {_error_line(exc)}"
            continue
        error, problem = _compare(got, want)
        worst = max(worst, error)
        if error > tolerance and first_problem is None:
            first_problem = f"on {label}, {problem}"
    if worst <= tolerance:
        return _passed(title, labels, list(expected[0]), worst, tolerance, verbose)

    hint = _matching_mistake(mistakes, cases, output_names, learner, tolerance)
    return _failed(title, _failure_message(first_problem, hint, tolerance, fallback_hint), verbose)


def through_forward(step_forward, step_backward):
    """``(x, state, params, dh_next, dstate_next) -> step_backward's result``, the cache made by ``step_forward``."""

    def run(x, state, params, dh_next, dstate_next):
        _, _, cache = step_forward(x, state, params)
        return step_backward(dh_next, dstate_next, cache)

    return run


def check_backward_with_forward(title, fn, step_forward, check_forward, verbose, check_backward, reference_forward):
    """Check a learner's backward whose cache comes from their own ``step_forward`` (or rnnlib's).

    A learner's ``step_forward`` is checked first, silently, with ``check_forward``: when it is
    wrong the failure names the forward, so that a correct backward is never blamed for it.
    ``check_backward(step_forward)`` then runs the backward's own check.
    """
    if not callable(fn):
        raise TypeError(f"fn must be a function, got {describe(fn)}")
    if step_forward is not None and not callable(step_forward):
        raise TypeError(f"step_forward must be a function or None, got {describe(step_forward)}")
    if not isinstance(verbose, bool):
        raise TypeError(f"verbose must be True or False, got {describe(verbose)}")
    if step_forward is not None:
        try:
            check_forward(step_forward, verbose=False)
        except AssertionError as exc:
            return _failed(title, f"your step_forward is wrong, so the cache it gives your step_backward cannot be "
                                  f"trusted; step_backward was not checked. Fix step_forward first: {exc}", verbose)
    return check_backward(step_forward or reference_forward)


def _matching_mistake(mistakes, cases, output_names, learner, tolerance):
    """The hint of the first planted mistake that behaves like the learner's function.

    On each case: where both ran, their outputs must agree; where the planted variant cannot run
    (a transposed non-square matrix), the learner's function must have failed too. A case where
    only the learner's function failed says nothing (it may hold a second mistake, which the
    learner meets after fixing the first). At least one case must have been compared.
    """
    for mistake in mistakes:
        agree, compared = True, 0
        for case, got in zip(cases, learner):
            args, kwargs = case.make_args()
            try:
                planted = _unpack(mistake.fn(*args, **kwargs), output_names)
            except Exception:
                planted = None
            if planted is None:
                agree = got is None
            elif got is not None:
                compared += 1
                agree = _compare(got, planted)[0] <= tolerance
            if not agree:
                break
        if agree and compared:
            return mistake.hint
    return None
