r"""Real time series from ``statsmodels.datasets``, cut into windows for one-step forecasting.

Two series, both shipped inside statsmodels (no download):

* ``"sunspots"``: yearly mean sunspot number, 1700-2008 (309 values), with its ~11-year cycle;
* ``"co2"``: weekly atmospheric CO2 at Mauna Loa in ppm, 1958-2001 (2284 weeks); the 59
  missing weeks are filled by linear interpolation in time.

A forecaster reads ``window`` past values and predicts the value ``horizon`` steps after the
last one:

.. math:: \hat y_{t+h} = f(y_{t-T+1}, \dots, y_t)

:func:`forecast_windows` splits *in time*: the training windows' targets all lie before the
cut, the held-out targets all after it (their inputs may reach back before the cut: that is
the past, which a forecaster is allowed to see). Values are standardised with the mean and
standard deviation of the training span only. The baseline to beat is *persistence*,
:math:`\hat y_{t+h} = y_t` (:func:`persistence_forecast`).
"""

import warnings
from dataclasses import dataclass

import numpy as np

from rnnlib.validate import check_choice, check_number, check_positive_int

__all__ = [
    "SERIES_NAMES",
    "load_series",
    "make_windows",
    "ForecastData",
    "forecast_windows",
    "persistence_forecast",
    "Autoregression",
    "fit_autoregression",
    "select_autoregression",
]

SERIES_NAMES = ("sunspots", "co2")


def load_series(name):
    """``(times, values)`` of a real series, as float64 arrays of equal length.

    ``times`` are years (``"sunspots"``: 1700.0, 1701.0, ...; ``"co2"``: decimal years of each
    week). The co2 series' missing weeks are linearly interpolated, so ``values`` has no NaN.
    """
    check_choice("name", name, SERIES_NAMES)
    import statsmodels.datasets as datasets  # imported here: statsmodels is slow to import

    with warnings.catch_warnings():
        # statsmodels 0.14 passes a CSV option that recent pandas deprecates: not our concern
        warnings.filterwarnings("ignore", message=".*float_precision.*")
        frame = getattr(datasets, name).load_pandas().data
    if name == "sunspots":
        return frame["YEAR"].to_numpy(np.float64, copy=True), frame["SUNACTIVITY"].to_numpy(np.float64, copy=True)
    index = frame.index
    times = index.year + (index.day_of_year.to_numpy() - 1) / np.where(index.is_leap_year, 366.0, 365.0)
    values = frame["co2"].to_numpy(np.float64, copy=True)
    missing = np.isnan(values)
    values[missing] = np.interp(times[missing], times[~missing], values[~missing])
    return np.asarray(times, np.float64), values


def _as_series(name, values):
    """A finite 1-D float64 array, or a ValueError naming ``name``."""
    try:
        values = np.asarray(values, np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a 1-D array of numbers, got {type(values).__name__}") from None
    if values.ndim != 1:
        raise ValueError(f"{name} must be a 1-D series, got shape {values.shape}")
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(f"{name} must be finite, got {int(bad.sum())} NaN or infinite values "
                         f"(the first at index {int(np.flatnonzero(bad)[0])})")
    return values


def make_windows(values, window, horizon=1):
    """Every window of ``window`` consecutive values and the value ``horizon`` steps after it.

    Args:
        values: 1-D array of length L.
        window: T, inputs per example.
        horizon: h >= 1.

    Returns:
        ``x`` (N, T, 1) and ``y`` (N, 1) with N = L - T - h + 1:
        ``x[k, :, 0] = values[k : k + T]``, ``y[k, 0] = values[k + T - 1 + h]``.
    """
    values = np.asarray(values)
    if values.ndim != 1:
        raise ValueError(f"values must be a 1-D series, got shape {values.shape}")
    check_positive_int("window", window)
    check_positive_int("horizon", horizon)
    count = len(values) - window - horizon + 1
    if count < 1:
        raise ValueError(f"values must hold at least window + horizon = {window + horizon} values, got {len(values)}")
    starts = np.arange(count)
    x = values[starts[:, None] + np.arange(window)][..., None]
    y = values[starts + window - 1 + horizon][:, None]
    return x, y


@dataclass
class ForecastData:
    """Standardised windows split in time (see :func:`forecast_windows`). Arrays are float32.

    Attributes:
        x_train: windows ``(N_train, T, 1)`` whose targets precede the cut.
        y_train: their targets ``(N_train, 1)``.
        x_test: windows ``(N_test, T, 1)`` whose targets follow the cut.
        y_test: their targets ``(N_test, 1)``.
        t_train: the time of each training target.
        t_test: the time of each test target.
        mean: mean of the training span, used to standardise everything.
        std: standard deviation of the training span.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    t_train: np.ndarray
    t_test: np.ndarray
    mean: float
    std: float

    def unscale(self, y):
        """Back to the series' units: ``y * std + mean``."""
        return np.asarray(y) * self.std + self.mean


def forecast_windows(values, window, test_fraction=0.2, horizon=1, times=None):
    """Windows for one-step (or ``horizon``-step) forecasting, split in time.

    The last ``test_fraction`` of the series' values are held out: a window belongs to the test
    set when its target lies among them. The mean and std used for scaling come from the
    values before the cut, which must not all be equal (a constant span cannot be standardised).
    ``values`` must be finite (no NaN or infinity).
    """
    values = _as_series("values", values)
    check_number("test_fraction", test_fraction, 0, 1, low_open=True, high_open=True)
    times = np.arange(len(values), dtype=np.float64) if times is None else _as_series("times", times)
    if times.shape != values.shape:
        raise ValueError(f"times must have the shape of values {values.shape}, got {times.shape}")
    cut = int(round(len(values) * (1.0 - test_fraction)))
    x, y = make_windows(values, window, horizon)
    target_index = np.arange(len(y)) + window - 1 + horizon
    train = target_index < cut
    if train.sum() < 1 or (~train).sum() < 1:
        raise ValueError(
            f"window={window} and test_fraction={test_fraction} leave no training or no test window "
            f"in a series of length {len(values)}"
        )
    mean, std = float(values[:cut].mean()), float(values[:cut].std())
    if not std > 0:
        raise ValueError(f"values must vary before the test cut (the first {cut} values standardise the series), "
                         f"got a constant {values[0]!r} there: its standard deviation is 0")

    def scale(a):
        return ((a - mean) / std).astype(np.float32)

    return ForecastData(
        scale(x[train]), scale(y[train]), scale(x[~train]), scale(y[~train]),
        times[target_index[train]], times[target_index[~train]], mean, std,
    )


def persistence_forecast(x):
    """The naive forecast: the next value equals the last one seen. x (N, T, 1) -> (N, 1)."""
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[-1] != 1:
        raise ValueError(f"x must have shape (N, T, 1), got {x.shape}")
    return x[:, -1, :].copy()


@dataclass
class Autoregression:
    r"""A linear autoregression AR(p): :math:`\hat y_{t+1} = c + \sum_{i=1}^{p} \varphi_i\, y_{t+1-i}`.

    Attributes:
        intercept: c.
        coefficients: (p,) array, :math:`\varphi_1, \dots, \varphi_p`; :math:`\varphi_1` multiplies
            the latest value.
    """

    intercept: float
    coefficients: np.ndarray

    @property
    def order(self):
        return len(self.coefficients)

    def predict(self, x):
        """One-step forecasts from windows x (N, T, 1) with T >= p: returns (N, 1)."""
        x = np.asarray(x)
        if x.ndim != 3 or x.shape[-1] != 1 or x.shape[1] < self.order:
            raise ValueError(f"x must have shape (N, T, 1) with T >= p = {self.order}, got {x.shape}")
        latest_first = x[:, ::-1, 0][:, : self.order]  # y_t, y_{t-1}, ..., y_{t-p+1}
        return (self.intercept + latest_first @ self.coefficients)[:, None]


def fit_autoregression(values, order):
    r"""Least-squares AR(p) with an intercept, fitted on a series (statsmodels' ``AutoReg``).

    This is Yule's (1927) model of the sunspot cycle for p = 2: each value a linear combination
    of the p before it plus noise. The fit is ordinary least squares, so it has no training run
    to converge: it is the best linear one-step forecaster of order p on ``values``.

    Args:
        values: 1-D series (length > 2p).
        order: p >= 1.

    Returns:
        an :class:`Autoregression`.
    """
    values = np.asarray(values, np.float64)
    if values.ndim != 1:
        raise ValueError(f"values must be a 1-D series, got shape {values.shape}")
    check_positive_int("order", order)
    if len(values) <= 2 * order:
        raise ValueError(f"values must hold more than 2 * order = {2 * order} values, got {len(values)}")
    with warnings.catch_warnings():
        # statsmodels 0.14 decorates AutoReg with helpers that recent pandas deprecates: not our concern
        warnings.filterwarnings("ignore", message=".*is deprecated and will be removed.*")
        from statsmodels.tsa.ar_model import AutoReg  # imported here: statsmodels is slow to import

    params = AutoReg(values, lags=order, trend="c").fit().params
    return Autoregression(float(params[0]), np.asarray(params[1:], np.float64))


def select_autoregression(values, max_order, val_fraction=0.2):
    """Choose the order p of an AR(p) on a validation span, then refit it on all of ``values``.

    For each p in 1..max_order an AR(p) is fitted on the first ``1 - val_fraction`` of ``values``
    and scored by the root mean squared error of its one-step forecasts of the rest; the p with
    the smallest error is refitted on the whole series.

    Returns:
        ``(model, errors)``: the refitted :class:`Autoregression` and a dict {p: validation RMSE}.
    """
    values = np.asarray(values, np.float64)
    if values.ndim != 1:
        raise ValueError(f"values must be a 1-D series, got shape {values.shape}")
    check_positive_int("max_order", max_order)
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, (int, float)) or not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be a number in (0, 1), got {val_fraction!r}")
    cut = int(round(len(values) * (1.0 - val_fraction)))
    if cut <= 2 * max_order or cut >= len(values):
        raise ValueError(
            f"max_order={max_order} and val_fraction={val_fraction} leave too few values to fit or to "
            f"validate in a series of length {len(values)}"
        )
    errors = {}
    for order in range(1, max_order + 1):
        model = fit_autoregression(values[:cut], order)
        # windows of the p values before each validation target
        x, y = make_windows(values[cut - order :], order)
        errors[order] = float(np.sqrt(np.mean((model.predict(x) - y) ** 2)))
    best = min(errors, key=errors.get)
    return fit_autoregression(values, best), errors
