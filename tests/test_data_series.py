"""rnnlib.data.series: real series from statsmodels, windows, and a split in time."""

import numpy as np
import pytest

from rnnlib.data.series import forecast_windows, load_series, make_windows, persistence_forecast


def test_sunspots_are_the_yearly_series_from_1700():
    years, values = load_series("sunspots")
    assert years.shape == values.shape == (309,)
    assert years[0] == 1700 and years[-1] == 2008 and np.all(np.diff(years) == 1)
    np.testing.assert_array_equal(values[:4], [5.0, 11.0, 16.0, 23.0])


def test_co2_gaps_are_filled_by_interpolation_in_time():
    import statsmodels.datasets

    raw = statsmodels.datasets.co2.load_pandas().data["co2"].to_numpy()
    times, values = load_series("co2")
    assert values.shape == raw.shape == (2284,)
    assert not np.isnan(values).any()
    assert times[0] == pytest.approx(1958 + 87 / 365) and np.all(np.diff(times) > 0)
    known = ~np.isnan(raw)
    np.testing.assert_array_equal(values[known], raw[known])
    # each filled value lies between the nearest known values around it
    for i in np.flatnonzero(~known):
        before = raw[:i][known[:i]][-1]
        after = raw[i + 1 :][known[i + 1 :]][0]
        assert min(before, after) <= values[i] <= max(before, after)


def test_load_series_rejects_unknown_names():
    with pytest.raises(ValueError, match="name must be one of 'sunspots', 'co2', got 'nile'"):
        load_series("nile")


def test_make_windows_layout():
    x, y = make_windows(np.arange(10.0), window=3, horizon=2)
    assert x.shape == (6, 3, 1) and y.shape == (6, 1)
    np.testing.assert_array_equal(x[0, :, 0], [0, 1, 2])
    np.testing.assert_array_equal(y[:, 0], [4, 5, 6, 7, 8, 9])
    with pytest.raises(ValueError, match="at least window \\+ horizon = 12 values, got 10"):
        make_windows(np.arange(10.0), window=11)
    with pytest.raises(ValueError, match="values must be a 1-D series, got shape \\(2, 5\\)"):
        make_windows(np.zeros((2, 5)), window=2)


def test_forecast_windows_split_in_time_and_scale_with_training_statistics():
    values = np.linspace(0.0, 99.0, 100) ** 1.5
    data = forecast_windows(values, window=5, test_fraction=0.2)
    assert data.x_train.dtype == np.float32
    # targets 5..79 train, 80..99 test: every test target is later than every training one
    assert len(data.y_train) == 75 and len(data.y_test) == 20
    assert data.t_train.max() == 79 and data.t_test.min() == 80
    assert data.mean == pytest.approx(values[:80].mean()) and data.std == pytest.approx(values[:80].std())
    np.testing.assert_allclose(data.unscale(data.y_test[:, 0]), values[80:], rtol=1e-5)
    np.testing.assert_allclose(data.unscale(data.x_test[0, :, 0]), values[75:80], rtol=1e-5)
    np.testing.assert_allclose(data.unscale(data.y_train[:, 0]), values[5:80], rtol=1e-5)


def test_forecast_windows_on_a_real_series_uses_its_times():
    years, values = load_series("sunspots")
    data = forecast_windows(values, window=20, test_fraction=0.2, times=years)
    assert data.t_test[0] == 1700 + round(309 * 0.8) and data.t_test[-1] == 2008
    assert data.x_train.shape[1:] == (20, 1)


def test_forecast_windows_rejects_bad_input():
    with pytest.raises(ValueError, match=r"values must be finite, got 20 NaN or infinite values \(the first at index 1\)"):
        forecast_windows(np.array([1.0, np.nan] * 20), window=3)
    with pytest.raises(ValueError, match="values must be finite, got 1 NaN or infinite"):
        forecast_windows(np.r_[np.arange(20.0), np.inf], window=3)
    with pytest.raises(ValueError, match="test_fraction must be a finite number in \\(0, 1\\), got 0"):
        forecast_windows(np.arange(40.0), window=3, test_fraction=0)
    with pytest.raises(ValueError, match="test_fraction must be a finite number in \\(0, 1\\), got nan"):
        forecast_windows(np.arange(40.0), window=3, test_fraction=float("nan"))
    # a constant series cannot be standardised (its std is 0): it used to give all-NaN windows
    with pytest.raises(ValueError, match="values must vary before the test cut .* standard deviation is 0"):
        forecast_windows(np.full(40, 3.0), window=3)
    with pytest.raises(ValueError, match="values must vary before the test cut"):
        forecast_windows(np.r_[np.full(32, 1.0), np.arange(8.0)], window=3)
    with pytest.raises(ValueError, match="leave no training or no test window"):
        forecast_windows(np.arange(20.0), window=18, test_fraction=0.5)
    with pytest.raises(ValueError, match="times must have the shape of values"):
        forecast_windows(np.arange(20.0), window=3, times=np.arange(5))


def test_persistence_repeats_the_last_value():
    x = np.arange(12.0).reshape(2, 6, 1)
    np.testing.assert_array_equal(persistence_forecast(x), [[5.0], [11.0]])
    with pytest.raises(ValueError, match="x must have shape \\(N, T, 1\\)"):
        persistence_forecast(np.zeros((2, 6)))
