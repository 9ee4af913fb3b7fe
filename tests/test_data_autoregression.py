"""rnnlib.data.series: the linear autoregression baseline, AR(p), fitted by least squares."""

import numpy as np
import pytest

from rnnlib.data import Autoregression, fit_autoregression, select_autoregression


def simulate_ar2(length, rng):
    # y_t = 0.5 + 1.2 y_{t-1} - 0.5 y_{t-2} + noise: a damped oscillation, like the sunspot cycle
    y = np.zeros(length)
    noise = rng.standard_normal(length) * 0.1
    for t in range(2, length):
        y[t] = 0.5 + 1.2 * y[t - 1] - 0.5 * y[t - 2] + noise[t]
    return y


def test_fit_recovers_the_coefficients_of_an_ar2_series():
    y = simulate_ar2(5000, np.random.default_rng(0))
    model = fit_autoregression(y, 2)
    assert model.order == 2
    np.testing.assert_allclose(model.coefficients, [1.2, -0.5], atol=0.03)
    assert model.intercept == pytest.approx(0.5, abs=0.03)


def test_predict_uses_the_latest_p_values_of_each_window():
    model = Autoregression(intercept=1.0, coefficients=np.array([2.0, 3.0]))
    x = np.array([[10.0, 5.0, 7.0], [0.0, 1.0, -1.0]])[..., None]  # (2, 3, 1)
    # 1 + 2 * y_t + 3 * y_{t-1}
    np.testing.assert_allclose(model.predict(x), [[1 + 2 * 7 + 3 * 5], [1 + 2 * -1 + 3 * 1]])
    with pytest.raises(ValueError, match="x must have shape \\(N, T, 1\\) with T >= p = 2, got \\(2, 1, 1\\)"):
        model.predict(x[:, :1])


def test_predict_matches_the_statsmodels_forecast_of_the_next_value():
    y = simulate_ar2(300, np.random.default_rng(1))
    model = fit_autoregression(y[:-1], 3)
    last_window = y[-4:-1].reshape(1, 3, 1)  # the three values before the last one
    from statsmodels.tsa.ar_model import AutoReg

    expected = AutoReg(y[:-1], lags=3, trend="c").fit().predict(start=len(y) - 1, end=len(y) - 1)
    assert model.predict(last_window)[0, 0] == pytest.approx(expected[0], rel=1e-10)


def test_select_prefers_the_true_order_to_a_shorter_one():
    y = simulate_ar2(3000, np.random.default_rng(2))
    model, errors = select_autoregression(y, max_order=5)
    assert sorted(errors) == [1, 2, 3, 4, 5]
    assert errors[2] < 0.9 * errors[1]  # one lag cannot make the oscillation
    assert model.order >= 2 and model.order == min(errors, key=errors.get)
    np.testing.assert_allclose(model.coefficients[:2], [1.2, -0.5], atol=0.1)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="values must be a 1-D series"):
        fit_autoregression(np.zeros((3, 3)), 1)
    with pytest.raises(ValueError, match="values must hold more than 2 \\* order = 10 values, got 8"):
        fit_autoregression(np.arange(8.0), 5)
    with pytest.raises(TypeError, match="order must be an int"):
        fit_autoregression(np.arange(20.0), 2.0)
    with pytest.raises(ValueError, match="val_fraction must be a number in \\(0, 1\\)"):
        select_autoregression(np.arange(50.0), 2, val_fraction=1.0)
    with pytest.raises(ValueError, match="leave too few values"):
        select_autoregression(np.arange(30.0), 20)
