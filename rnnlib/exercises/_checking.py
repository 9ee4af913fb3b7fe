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
in-place update cannot leak into the next call), unpacks the returned tuple by ``output_names``
(``None`` skips a value, e.g. a cache whose format is the learner's own), flattens dicts and
tuples into names such as ``grads['W_ih']`` or ``state[1]``, prints the verdict and raises.

The lower-level pieces, for a checker that builds its comparisons itself (``exercises.lstm``):
:func:`call_learner`, :func:`describe` and :func:`verdict`.
"""

import traceback
from typing import Callable, NamedTuple

import numpy as np

from rnnlib.report import error_bound

__all__ = [
    "Case",
    "Mistake",
    "check_function",
    "linspace_array",
    "random_array",
    "relative_error",
    "call_learner",
    "describe",
    "verdict",
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


def relative_error(a, b):
    """:math:`\\lVert a - b \\rVert / (\\lVert a \\rVert + \\lVert b \\rVert)` (0 when both are 0)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if scale == 0 else float(np.linalg.norm(a - b) / scale)


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


def call_learner(fn, *args, **kwargs):
    """Call the learner's ``fn`` on copies of the inputs; an exception becomes an AssertionError
    saying what was raised and with which input shapes."""
    if not callable(fn):
        raise TypeError(f"fn must be a function, got {describe(fn)}")
    try:
        return fn(*_copy(args), **_copy(kwargs))
    except Exception as exc:
        shapes = ", ".join(describe(a) for a in args)
        raise AssertionError(f"your function raised {_error_line(exc)}\n  when called with: {shapes}") from exc


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


def _unpack(result, output_names):
    """The named outputs of one call, flattened; AssertionError when the structure is not the expected one."""
    if len(output_names) == 1:
        result = (result,)
    expected = ", ".join(n if n else "..." for n in output_names)
    if not isinstance(result, (tuple, list)) or len(result) != len(output_names):
        raise AssertionError(f"your function must return ({expected}), got {describe(result)}")
    out = {}
    for name, value in zip(output_names, result):
        if name is not None:
            _flatten(name, value, out)
    return out


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
        error = relative_error(have_array, want)
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


def verdict(title, outputs, mistakes_for, tolerance=DEFAULT_TOLERANCE, verbose=True):
    """Compare outputs already computed, print the verdict; raise with a hint when wrong.

    Args:
        title: what is checked, e.g. ``"lstm step_forward"``.
        outputs: one dict per case with ``arrays``: ``{name: (learner_value, expected_value)}``,
            and optionally ``label`` and any other entries ``mistakes_for`` needs.
        mistakes_for: ``mistakes_for(case) -> iterable of (hint, {name: value})``: the outputs of
            each planted mistake on that case, in the same order for every case.
        tolerance: the largest relative error accepted.

    Returns:
        True when every output matches; otherwise prints and raises ``AssertionError``.
    """
    labels = [case.get("label", f"case {i + 1}") for i, case in enumerate(outputs)]
    worst, first_problem = 0.0, None
    for label, case in zip(labels, outputs):
        got = {name: pair[0] for name, pair in case["arrays"].items()}
        expected = {name: pair[1] for name, pair in case["arrays"].items()}
        error, problem = _compare(got, expected)
        if error > worst:
            worst = error
        if error > tolerance and first_problem is None:
            first_problem = f"on {label}, {problem}"
    names = list(outputs[0]["arrays"])
    if worst <= tolerance:
        return _passed(title, labels, names, worst, tolerance, verbose)
    matched = None
    per_case = [list(mistakes_for(case)) for case in outputs]
    for index in range(len(per_case[0])):
        # the mistake matches when the learner's values equal the planted ones on every case
        if all(
            _compare({n: case["arrays"][n][0] for n in mistakes[index][1]}, mistakes[index][1])[0] <= tolerance
            for case, mistakes in zip(outputs, per_case)
        ):
            matched = per_case[0][index][0]
            break
    return _failed(title, _failure_message(first_problem, matched, tolerance), verbose)


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
    labels = [case.label for case in cases]
    expected, learner, learner_errors = [], [], []
    for case in cases:
        args, kwargs = case.make_args()
        expected.append(_unpack(reference(*args, **kwargs), output_names))
        try:
            result = fn(*_copy(args), **_copy(kwargs))
        except Exception as exc:
            learner.append(None)
            learner_errors.append(exc)
            continue
        learner_errors.append(None)
        try:
            learner.append(_unpack(result, output_names))
        except AssertionError as exc:
            return _failed(title, str(exc), verbose)

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
