"""Bad input to the scratch cells and layers: each error names the argument, what was received
and what was expected."""

import numpy as np
import pytest

from rnnlib.scratch import gradcheck, gru, init_params, layers, lstm, rnn

RNG = np.random.default_rng(0)
N, T, D, H = 5, 3, 8, 4
X = RNG.standard_normal((N, T, D))
P = {cell: init_params(cell, D, H, RNG) for cell in ("rnn", "lstm", "gru")}
MODULES = {"rnn": rnn, "lstm": lstm, "gru": gru}


@pytest.mark.parametrize("cell", list(MODULES))
def test_x_wrong_shape(cell):
    with pytest.raises(ValueError, match=r"x must have shape \(N, T, 8\), got \(5, 8\)"):
        MODULES[cell].forward(X[:, 0], None, P[cell])
    with pytest.raises(ValueError, match=r"x must have shape \(N, T, 8\), got \(5, 3, 6\)"):
        MODULES[cell].forward(X[..., :6], None, P[cell])
    with pytest.raises(ValueError, match=r"x must have shape \(N, 8\), got \(5, 3, 8\)"):
        MODULES[cell].step_forward(X, None, P[cell])
    with pytest.raises(ValueError, match=r"x must have at least one time step.*got \(5, 0, 8\)"):
        MODULES[cell].forward(X[:, :0], None, P[cell])


@pytest.mark.parametrize("cell", list(MODULES))
def test_x_not_float_or_not_numpy(cell):
    with pytest.raises(TypeError, match="x must have a floating-point dtype .*got int64"):
        MODULES[cell].forward(np.ones((N, T, D), dtype=np.int64), None, P[cell])
    with pytest.raises(TypeError, match=r"x must be a NumPy array of shape \(N, T, 8\), got list"):
        MODULES[cell].forward(X.tolist(), None, P[cell])


@pytest.mark.parametrize("cell, gates", [("rnn", 1), ("lstm", 4), ("gru", 3)])
def test_params_wrong_shapes_and_keys(cell, gates):
    module = MODULES[cell]
    bad = {**P[cell], "W_hh": np.zeros((H, H))}
    if cell != "rnn":
        with pytest.raises(ValueError, match=rf"params\['W_hh'\] must have shape \({gates * H}, {H}\).*got \({H}, {H}\)"):
            module.forward(X, None, bad)
    bad = {**P[cell], "W_hh": np.zeros((gates * H, H + 1))}
    with pytest.raises(ValueError, match=rf"params\['W_hh'\] must have shape \({gates * (H + 1)}, {H + 1}\).*got \({gates * H}, {H + 1}\)"):
        module.forward(X, None, bad)
    bad = {**P[cell], "W_ih": np.zeros((gates * H + 1, D))}
    with pytest.raises(ValueError, match=rf"params\['W_ih'\] must have shape \({gates * H}, {D}\).*got \({gates * H + 1}, {D}\)"):
        module.forward(X, None, bad)
    bad = {**P[cell], "b_hh": np.zeros(gates * H + 2)}
    with pytest.raises(ValueError, match=rf"params\['b_hh'\] must have shape \({gates * H},\), got \({gates * H + 2},\)"):
        module.forward(X, None, bad)
    bad = {k: v for k, v in P[cell].items() if k != "b_ih"}
    with pytest.raises(ValueError, match=r"params is missing keys \['b_ih'\]"):
        module.forward(X, None, bad)
    with pytest.raises(TypeError, match=r"params\['W_ih'\] must have a floating-point dtype.*got int64"):
        module.forward(X, None, {**P[cell], "W_ih": P[cell]["W_ih"].astype(np.int64)})
    with pytest.raises(TypeError, match="params must be a dict with keys.*got list"):
        module.forward(X, None, list(P[cell].values()))


@pytest.mark.parametrize("cell", ["rnn", "gru"])
def test_state_mismatch_rnn_gru(cell):
    module = MODULES[cell]
    with pytest.raises(ValueError, match=r"state0 must have shape \(5, 4\), got \(5, 3\)"):
        module.forward(X, np.zeros((N, 3)), P[cell])
    with pytest.raises(ValueError, match=r"state0 must have shape \(5, 4\), got \(1, 5, 4\)"):
        module.forward(X, np.zeros((1, N, H)), P[cell])
    with pytest.raises(TypeError, match=rf"state0 must be an array h of shape \(5, 4\) for {cell}, got tuple of length 2"):
        module.forward(X, (np.zeros((N, H)), np.zeros((N, H))), P[cell])
    with pytest.raises(ValueError, match=r"state must have shape \(5, 4\), got \(2, 4\)"):
        module.step_forward(X[:, 0], np.zeros((2, H)), P[cell])


def test_lstm_state_must_be_a_tuple():
    with pytest.raises(TypeError, match=r"state0 must be a tuple \(h, c\) of two arrays of shape \(5, 4\) for an LSTM, "
                                        r"got ndarray of shape \(5, 4\)"):
        lstm.forward(X, np.zeros((N, H)), P["lstm"])
    with pytest.raises(TypeError, match=r"state must be a tuple \(h, c\).*got tuple of length 3"):
        lstm.step_forward(X[:, 0], (np.zeros((N, H)),) * 3, P["lstm"])
    with pytest.raises(ValueError, match=r"state0\[1\] \(c\) must have shape \(5, 4\), got \(5, 2\)"):
        lstm.forward(X, (np.zeros((N, H)), np.zeros((N, 2))), P["lstm"])


def test_unknown_nonlinearity():
    with pytest.raises(ValueError, match=r"nonlinearity must be one of 'tanh', 'relu', got 'sigmoid'"):
        rnn.forward(X, None, P["rnn"], nonlinearity="sigmoid")
    with pytest.raises(ValueError, match=r"nonlinearity must be one of 'tanh', 'relu', got 'Tanh'"):
        rnn.step_forward(X[:, 0], None, P["rnn"], nonlinearity="Tanh")


@pytest.mark.parametrize("cell", list(MODULES))
def test_backward_bad_upstream_and_cache(cell):
    module = MODULES[cell]
    hs, state_T, cache = module.forward(X, None, P[cell])
    with pytest.raises(ValueError, match=r"dhs must have shape \(5, 3, 4\), got \(5, 4\)"):
        module.backward(hs[:, -1], cache)
    bad_state = (np.zeros((N, 2)), np.zeros((N, H))) if cell == "lstm" else np.zeros((N, 2))
    name = r"dstate_T\[0\] \(h\)" if cell == "lstm" else "dstate_T"
    with pytest.raises(ValueError, match=rf"{name} must have shape \(5, 4\), got \(5, 2\)"):
        module.backward(hs, cache, bad_state)
    other = "gru" if cell != "gru" else "rnn"
    _, _, other_cache = MODULES[other].forward(X, None, P[other])
    with pytest.raises(TypeError, match=rf"cache must be the cache returned by {cell}.forward, got a {other} cache"):
        module.backward(hs, other_cache)
    _, _, step_cache = module.step_forward(X[:, 0], None, P[cell])
    with pytest.raises(TypeError, match=rf"cache must be the cache returned by {cell}.forward, got StepCache"):
        module.backward(hs, step_cache)
    with pytest.raises(ValueError, match=r"dh_next must have shape \(5, 4\), got \(5, 3, 4\)"):
        module.step_backward(hs, None, step_cache)


def test_layers_bad_input():
    W = RNG.standard_normal((6, 3))
    with pytest.raises(ValueError, match=r"ids must be in \[0, 6\) \(rows of W\), got values in \[0, 6\]"):
        layers.embedding_forward(np.array([0, 6]), W)
    with pytest.raises(TypeError, match="ids must have an integer dtype, got float64"):
        layers.embedding_forward(np.array([0.0, 1.0]), W)
    with pytest.raises(ValueError, match=r"x must have shape \(N, T, 3\), got \(2, 4, 5\)"):
        layers.linear_forward(np.zeros((2, 4, 5)), W)
    with pytest.raises(ValueError, match=r"b must have shape \(6,\), got \(3,\)"):
        layers.linear_forward(np.zeros((2, 3)), W, np.zeros(3))
    logits = np.zeros((2, 4, 5))
    with pytest.raises(ValueError, match=r"targets must have shape \(2, 4\), got \(2, 3\)"):
        layers.softmax_cross_entropy(logits, np.zeros((2, 3), dtype=int))
    with pytest.raises(ValueError, match=r"targets must be in \[0, 5\) \(number of classes\), got values in \[0, 5\]"):
        layers.softmax_cross_entropy(logits, np.array([[0, 1, 2, 5], [0, 0, 0, 0]]))
    with pytest.raises(TypeError, match="targets must have an integer dtype, got float64"):
        layers.softmax_cross_entropy(logits, np.zeros((2, 4)))
    with pytest.raises(TypeError, match=r"mask must be a boolean NumPy array of shape \(2, 4\), got float64"):
        layers.softmax_cross_entropy(logits, np.zeros((2, 4), dtype=int), np.ones((2, 4)))
    with pytest.raises(ValueError, match="mask must keep at least one token"):
        layers.softmax_cross_entropy(logits, np.zeros((2, 4), dtype=int), np.zeros((2, 4), dtype=bool))
    # masked targets may hold anything, e.g. torch's ignore_index -100
    targets = np.array([[0, 1, -100, -100], [2, -100, -100, -100]])
    loss, _ = layers.softmax_cross_entropy(logits, targets, targets >= 0)
    assert loss == pytest.approx(np.log(5))


def test_gradcheck_bad_input():
    with pytest.raises(TypeError, match="x must have a floating-point dtype.*got int64"):
        gradcheck.numerical_gradient(np.sum, np.arange(3))
    with pytest.raises(ValueError, match="eps must be > 0, got 0"):
        gradcheck.numerical_gradient(np.sum, np.ones(3), eps=0)


@pytest.mark.parametrize("cell", list(MODULES))
def test_step_backward_needs_its_own_cells_cache(cell):
    other = "gru" if cell != "gru" else "lstm"
    _, _, other_cache = MODULES[other].step_forward(X[:, 0], None, P[other])
    with pytest.raises(TypeError, match=rf"cache must be the cache returned by {cell}.step_forward, got {other}.StepCache"):
        MODULES[cell].step_backward(np.zeros((N, H)), None, other_cache)
    hs, _, sequence_cache = MODULES[cell].forward(X, None, P[cell])
    with pytest.raises(TypeError, match=rf"cache must be the cache returned by {cell}.step_forward, got unroll.SequenceCache"):
        MODULES[cell].step_backward(np.zeros((N, H)), None, sequence_cache)


@pytest.mark.parametrize("cell, gates", [("rnn", 1), ("lstm", 4), ("gru", 3)])
def test_transposed_W_ih_names_the_shape_x_asks_for(cell, gates):
    bad = {**P[cell], "W_ih": P[cell]["W_ih"].T.copy()}
    with pytest.raises(ValueError, match=rf"params\['W_ih'\] must have shape \({gates * H}, {D}\).*got \({D}, {gates * H}\)"):
        MODULES[cell].forward(X, None, bad)
    with pytest.raises(ValueError, match=rf"params\['W_ih'\] must have shape \({gates * H}, {D}\).*got \({D}, {gates * H}\)"):
        MODULES[cell].step_forward(X[:, 0], None, bad)
