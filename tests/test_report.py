"""rnnlib.report: rounding numbers to what every CPU prints alike."""

import math

import pytest
from hypothesis import given, strategies as st

from rnnlib.report import error_bound, significant


@pytest.mark.parametrize(
    "value, digits, expected",
    [(0.0512346, 4, 0.05123), (387.872178642357, 4, 387.9), (-0.6931471805599452, 3, -0.693), (0.0, 4, 0.0),
     (123456.0, 2, 120000.0), (1.0000000000000009, 6, 1.0)],
)
def test_significant(value, digits, expected):
    assert significant(value, digits) == expected


@given(st.floats(min_value=1e-300, max_value=1e300), st.integers(1, 12))
def test_significant_is_close_and_short(value, digits):
    rounded = significant(value, digits)
    # within half a unit of the last kept digit, and printed with at most `digits` digits
    assert math.isclose(rounded, value, rel_tol=0.5 * 10.0 ** (1 - digits) * 1.000001)
    assert float(f"{rounded:.{digits - 1}e}") == rounded


@pytest.mark.parametrize(
    "error, text",
    [(0.0, "< 1e-12"), (4.18e-17, "< 1e-12"), (1e-12, "< 1e-11"), (3.2e-9, "< 1e-08"), (0.5, "< 1e+00"),
     (math.inf, "inf")],
)
def test_error_bound(error, text):
    assert error_bound(error) == text


@pytest.mark.parametrize("bad", [-1e-3, math.nan])
def test_error_bound_rejects_negative_and_nan(bad):
    with pytest.raises(ValueError, match="error must be a non-negative number"):
        error_bound(bad)


@pytest.mark.parametrize("digits", [0, 16, 2.5, True])
def test_significant_rejects_bad_digits(digits):
    with pytest.raises(ValueError, match="digits must be an int"):
        significant(1.0, digits)
