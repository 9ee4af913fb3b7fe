"""Numbers as the book shows them: rounded to what is identical on any CPU.

The last digits of a float, and the size of a round-off residual, depend on the instruction set
that computed them. A number glued into the prose or printed in a checked output is therefore
rounded first: :func:`significant` keeps a few significant digits, and :func:`error_bound`
turns a residual into the power of ten above it (``< 1e-12`` for round-off).
"""

import math

__all__ = ["significant", "error_bound"]

ROUNDOFF = 1e-12


def significant(value, digits=4):
    """``value`` rounded to ``digits`` significant digits, as a float (``0.0512346 -> 0.05123``)."""
    if isinstance(digits, bool) or not isinstance(digits, int) or not 1 <= digits <= 15:
        raise ValueError(f"digits must be an int in [1, 15], got {digits!r}")
    value = float(value)
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def error_bound(error, floor=ROUNDOFF):
    """A non-negative error as the power of ten just above it: ``3.2e-09 -> '< 1e-08'``.

    Errors below ``floor`` (round-off in float64) all read ``< 1e-12``: their exact size differs
    from one CPU to another, their order does not.
    """
    error = float(error)
    if not error >= 0:
        raise ValueError(f"error must be a non-negative number, got {error!r}")
    if math.isinf(error):
        return "inf"
    exponent = max(round(math.log10(floor)), math.floor(math.log10(error)) + 1) if error > 0 else round(math.log10(floor))
    return f"< 1e{exponent:+03d}"
