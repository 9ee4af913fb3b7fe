"""Jacobian norms by lag: exact for a linear RNN (slope ln rho), bounded for tanh, any module."""

import math

import numpy as np
import pytest
import torch

import rnnlib.nn
from rnnlib.gradients import LinearRNN, fit_log_slope, jacobian_norms_by_lag, scaled_orthogonal




def _linear(rho, H=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return LinearRNN(3, H, weight_hh=scaled_orthogonal(H, rho, g), dtype=torch.float64), g


def test_scaled_orthogonal_singular_values_are_rho():
    W = scaled_orthogonal(12, 0.7, torch.Generator().manual_seed(1))
    np.testing.assert_allclose(torch.linalg.svdvals(W).numpy(), 0.7, rtol=1e-12)
    np.testing.assert_allclose(torch.linalg.eigvals(W).abs().numpy(), 0.7, rtol=1e-10)


@pytest.mark.parametrize("rho", [0.5, 0.9, 1.0, 1.1])
def test_linear_rnn_slope_is_log_rho(rho):
    model, g = _linear(rho)
    x = torch.randn(4, 30, 3, dtype=torch.float64, generator=g)
    lags, norms = jacobian_norms_by_lag(model, x)
    np.testing.assert_array_equal(lags, np.arange(30))
    # d h_T / d h_{T-k} = (rho Q)^k: spectral norm rho^k, Frobenius norm sqrt(H) rho^k
    np.testing.assert_allclose(norms, rho ** lags, rtol=1e-10)
    assert fit_log_slope(lags, norms) == pytest.approx(math.log(rho), abs=1e-10)
    _, fro = jacobian_norms_by_lag(model, x, ord="fro")
    np.testing.assert_allclose(fro, math.sqrt(16) * rho ** lags, rtol=1e-10)


def test_jacobian_matches_finite_differences_for_tanh_rnn():
    torch.manual_seed(0)
    rnn = torch.nn.RNN(3, 5, batch_first=True, dtype=torch.float64)
    x = torch.randn(1, 6, 3, dtype=torch.float64)
    _, norms = jacobian_norms_by_lag(rnn, x, ord="fro")
    # independent: the Jacobian of h_T w.r.t. h_{T-k} by central differences, running the last k steps
    for k in (1, 3, 5):
        _, h_start = rnn(x[:, : 6 - k])
        J = torch.zeros(5, 5, dtype=torch.float64)
        eps = 1e-6
        for j in range(5):
            e = torch.zeros_like(h_start)
            e[0, 0, j] = eps
            plus = rnn(x[:, 6 - k :], h_start + e)[1][0, 0]
            minus = rnn(x[:, 6 - k :], h_start - e)[1][0, 0]
            J[:, j] = (plus - minus) / (2 * eps)
        assert norms[k] == pytest.approx(torch.linalg.matrix_norm(J).item(), rel=1e-6)


def test_tanh_decays_at_least_as_fast_as_linear_and_rnnlib_equals_torch():
    model, g = _linear(1.0)
    x = torch.randn(4, 25, 3, dtype=torch.float64, generator=g)
    _, linear = jacobian_norms_by_lag(model, x)
    tanh = torch.nn.RNN(3, 16, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        tanh.weight_hh_l0.copy_(model.weight_hh_l0)
        tanh.weight_ih_l0.copy_(model.weight_ih_l0)
        tanh.bias_ih_l0.zero_()
        tanh.bias_hh_l0.zero_()
    _, torch_norms = jacobian_norms_by_lag(tanh, x)
    assert (torch_norms <= linear * (1 + 1e-9)).all()
    assert torch_norms[-1] < 0.5 * linear[-1]
    ours = rnnlib.nn.RNN(3, 16, dtype=torch.float64)
    ours.load_state_dict(tanh.state_dict())
    _, our_norms = jacobian_norms_by_lag(ours, x)
    np.testing.assert_allclose(our_norms, torch_norms, rtol=1e-10)


def test_lstm_state_tuple_and_layers():
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(3, 4, num_layers=2, batch_first=True)
    lags, norms = jacobian_norms_by_lag(lstm, torch.randn(2, 7, 3))
    assert norms.shape == (7,)
    # lag 0: d h_T / d (h_T, c_T) over both layers is [I 0 ...]: spectral norm 1
    assert norms[0] == pytest.approx(1.0, abs=1e-6)
    assert np.isfinite(norms).all()


def test_fit_log_slope_and_bad_input():
    lags = np.arange(10)
    assert fit_log_slope(lags, 3 * np.exp(-0.2 * lags)) == pytest.approx(-0.2)
    with pytest.raises(ValueError, match="same length"):
        fit_log_slope(lags, np.ones(9))
    with pytest.raises(ValueError, match="ord"):
        jacobian_norms_by_lag(_linear(1.0)[0], torch.zeros(1, 2, 3, dtype=torch.float64), ord=1)
    with pytest.raises(ValueError, match="rho"):
        scaled_orthogonal(3, -1.0)
    with pytest.raises(ValueError, match="weight_hh"):
        LinearRNN(2, 3, weight_hh=torch.eye(4))
