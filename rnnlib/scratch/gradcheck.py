r"""Gradient checking: compare a hand-written backward with finite differences.

For a function f and an upstream gradient df (the gradient of some scalar loss w.r.t. f's
output), the chain rule gives the gradient w.r.t. an input x as

.. math::

    \frac{\partial L}{\partial x_i} = \sum_j \frac{\partial f_j}{\partial x_i}\, df_j
    \approx \sum_j \frac{f_j(x + \epsilon e_i) - f_j(x - \epsilon e_i)}{2\epsilon}\, df_j

(centered differences: the error is O(eps^2)). Use float64: in float32 the difference of
two nearby values loses most of its digits.
"""

import numpy as np

from rnnlib.validate import check_float


def numerical_gradient(f, x, df=None, eps=1e-6):
    """Centered-difference gradient of sum(f(x) * df) w.r.t. the array x.

    f: a function of x returning an array (or a scalar, then df defaults to 1). x is changed
    in place one entry at a time and restored. Returns an array shaped like x.
    """
    if not isinstance(x, np.ndarray):
        raise TypeError(f"x must be a NumPy array, got {type(x).__name__}")
    check_float("x", x)
    if not eps > 0:
        raise ValueError(f"eps must be > 0, got {eps!r}")
    df = 1.0 if df is None else df
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        plus = np.array(f(x), dtype=np.float64, copy=True)
        x[i] = old - eps
        minus = np.array(f(x), dtype=np.float64, copy=True)
        x[i] = old
        grad[i] = np.sum((plus - minus) * df) / (2 * eps)
    return grad


def rel_error(a, b):
    r"""Relative error :math:`\|a - b\| / (\|a\| + \|b\|)` (Frobenius norms; 0 when both are 0).

    A norm-wise measure: an entry that is nearly zero in both arrays does not dominate it (an
    entry-wise ratio of two tiny numbers measures round-off, not correctness).
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    scale = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if scale == 0 else float(np.linalg.norm(a - b) / scale)


def _flatten(out):
    """The arrays of a (possibly nested) tuple of outputs, in order."""
    if isinstance(out, (tuple, list)):
        return [a for item in out for a in _flatten(item)]
    return [np.asarray(out)]


def _unflatten(arrays, like):
    """Rebuild the nesting of ``like`` from a flat list of arrays (consumed from the front)."""
    if isinstance(like, (tuple, list)):
        return tuple(_unflatten(arrays, item) for item in like)
    return arrays.pop(0)


def check_gradients(forward_fn, backward_fn, inputs, eps=1e-6, seed=0, verbose=False):
    """Check every gradient that a forward/backward pair computes against finite differences.

    Args:
        forward_fn: ``forward_fn(**inputs) -> (out, cache)``; ``out`` an array, a scalar, or a
            (nested) tuple of arrays.
        backward_fn: ``backward_fn(dout, cache) -> {input name: gradient}``, ``dout`` shaped like ``out``.
        inputs: ``{name: float64 array}``.

    Random upstream gradients dout (seeded) make every output count. Returns
    ``{name: rel_error(analytic, numerical)}`` for every gradient backward_fn returns;
    with ``verbose=True`` also prints it.
    """
    if not isinstance(inputs, dict):
        raise TypeError(f"inputs must be a dict {{name: array}}, got {type(inputs).__name__}")
    for name, value in inputs.items():
        if not isinstance(value, np.ndarray) or value.dtype != np.float64:
            raise TypeError(f"inputs['{name}'] must be a float64 NumPy array, got {getattr(value, 'dtype', type(value).__name__)}")
    rng = np.random.default_rng(seed)
    out, cache = forward_fn(**inputs)
    outs = _flatten(out)
    douts = [rng.standard_normal(o.shape) for o in outs]
    grads = backward_fn(_unflatten(list(douts), out), cache)
    unknown = sorted(set(grads) - set(inputs))
    if unknown:
        raise ValueError(f"backward_fn returned gradients for {unknown}, which are not in inputs {sorted(inputs)}")

    def loss(_):
        # the scalar whose gradient backward_fn computed: sum_k <out_k, dout_k>
        return sum(np.sum(o * d) for o, d in zip(_flatten(forward_fn(**inputs)[0]), douts))

    errors = {}
    for name, grad in grads.items():
        numeric = numerical_gradient(loss, inputs[name], eps=eps)
        errors[name] = rel_error(grad, numeric)
        if verbose:
            print(f"{name:>12s}  relative error {errors[name]:.2e}")
    return errors
