"""check_lstm_step_forward / check_gru_step_forward: accept correct cells, name each planted mistake."""

import numpy as np
import pytest

from rnnlib.exercises import check_gru_step_forward, check_lstm_step_backward, check_lstm_step_forward
from rnnlib.scratch import gru, lstm


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def make_lstm(order="ifgo", forget=True, g_act=np.tanh, bias=True, tanh_c=True):
    """A learner's LSTM step written out by hand, with a chosen mistake."""

    def step_forward(x, state, params):
        h_prev, c_prev = state
        a = x @ params["W_ih"].T + h_prev @ params["W_hh"].T
        if bias:
            a = a + params["b_ih"] + params["b_hh"]
        H = h_prev.shape[1]
        gates = {name: a[:, k * H : (k + 1) * H] for k, name in enumerate(order)}
        i, f, o = sigmoid(gates["i"]), sigmoid(gates["f"]), sigmoid(gates["o"])
        g = g_act(gates["g"])
        c = f * c_prev + i * g if forget else i * g
        h = o * np.tanh(c) if tanh_c else o * c
        return h, (h, c), {"mine": True}

    return step_forward


def test_accepts_the_reference_and_a_hand_written_cell(capsys):
    assert check_lstm_step_forward(lstm.step_forward) is True
    assert check_lstm_step_forward(make_lstm()) is True
    out = capsys.readouterr().out
    assert "PASSED lstm step_forward" in out and "worst relative error" in out


@pytest.mark.parametrize(
    "learner, hint",
    [
        (make_lstm(order="ifog"), "split as i, f, o, g"),
        (make_lstm(order="figo"), "split as f, i, g, o"),
        (make_lstm(order="gifo"), "split as g, i, f, o"),
        (make_lstm(forget=False), "missing forget-gate term: you compute c_t = i * g"),
        (make_lstm(g_act=sigmoid), "the candidate g must use tanh"),
        (make_lstm(bias=False), "missing biases"),
        (make_lstm(tanh_c=False), "h_t = o * tanh(c_t), not o * c_t"),
    ],
)
def test_rejects_each_mistake_with_its_hint(learner, hint, capsys):
    with pytest.raises(AssertionError, match="lstm step_forward") as info:
        check_lstm_step_forward(learner)
    message = str(info.value)
    assert "Hint: your output matches a common mistake:" in message
    assert hint in message.split("Hint:")[1]
    assert "FAILED lstm step_forward" in capsys.readouterr().out


def test_missing_b_hh_only():
    def learner(x, state, params):
        h_prev, c_prev = state
        a = x @ params["W_ih"].T + params["b_ih"] + h_prev @ params["W_hh"].T
        i, f, g, o = np.split(a, 4, axis=1)
        c = sigmoid(f) * c_prev + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        return h, (h, c), None

    with pytest.raises(AssertionError, match="missing bias b_hh"):
        check_lstm_step_forward(learner, verbose=False)


def test_unknown_mistake_and_bad_returns():
    def noisy(x, state, params):
        h, (h, c), cache = lstm.step_forward(x, state, params)
        return h + 1e-3, (h + 1e-3, c), cache

    with pytest.raises(AssertionError, match="h_next differs from the reference") as info:
        check_lstm_step_forward(noisy, verbose=False)
    assert "common mistake" not in str(info.value)

    with pytest.raises(AssertionError, match=r"must return \(h_next, state, \.\.\.\)"):
        check_lstm_step_forward(lambda x, state, params: state[0], verbose=False)

    def crashes(x, state, params):
        raise IndexError("oops")

    with pytest.raises(AssertionError, match="your function raised IndexError: oops"):
        check_lstm_step_forward(crashes, verbose=False)
    with pytest.raises(TypeError, match="fn must be a function"):
        check_lstm_step_forward("not a function")


def make_gru(order="rzn", cho=False, swap_z=False):
    def step_forward(x, h_prev, params):
        H = h_prev.shape[1]
        ax = x @ params["W_ih"].T + params["b_ih"]
        sl = {name: slice(k * H, (k + 1) * H) for k, name in enumerate(order)}
        W, b = params["W_hh"], params["b_hh"]
        r = sigmoid(ax[:, sl["r"]] + h_prev @ W[sl["r"]].T + b[sl["r"]])
        z = sigmoid(ax[:, sl["z"]] + h_prev @ W[sl["z"]].T + b[sl["z"]])
        if cho:
            n = np.tanh(ax[:, sl["n"]] + (r * h_prev) @ W[sl["n"]].T + b[sl["n"]])
        else:
            n = np.tanh(ax[:, sl["n"]] + r * (h_prev @ W[sl["n"]].T + b[sl["n"]]))
        h = z * n + (1 - z) * h_prev if swap_z else (1 - z) * n + z * h_prev
        return h, h, None

    return step_forward


def test_gru_checker():
    assert check_gru_step_forward(gru.step_forward, verbose=False)
    assert check_gru_step_forward(make_gru(), verbose=False)
    for learner, hint in [
        (make_gru(order="zrn"), "split as z, r, n"),
        (make_gru(cho=True), "Cho et al. 2014"),
        (make_gru(swap_z=True), "z and 1 - z are swapped"),
    ]:
        with pytest.raises(AssertionError, match="gru step_forward") as info:
            check_gru_step_forward(learner, verbose=False)
        assert hint in str(info.value)


# ----------------------------------------------------------------------------------------------
# check_lstm_step_backward


def learner_lstm_forward(x, state, params):
    """A learner's LSTM step whose cache is a dict of their own."""
    h_prev, c_prev = state
    H = h_prev.shape[1]
    a = x @ params["W_ih"].T + params["b_ih"] + h_prev @ params["W_hh"].T + params["b_hh"]
    i, f, g, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]), sigmoid(a[:, 3 * H:])
    c = f * c_prev + i * g
    h = o * np.tanh(c)
    cache = {"x": x, "h_prev": h_prev, "c_prev": c_prev, "a": a, "i": i, "f": f, "g": g, "o": o, "c": c, "p": params}
    return h, (h, c), cache


def make_lstm_backward(**mistake):
    """A learner's LSTM step backward written out by hand, with a chosen mistake."""

    def step_backward(dh_next, dstate_next, cache):
        x, h_prev, c_prev, p = cache["x"], cache["h_prev"], cache["c_prev"], cache["p"]
        i, f, g, o, c = cache["i"], cache["f"], cache["g"], cache["o"], cache["c"]
        H = h_prev.shape[1]
        if dstate_next is None:
            dstate_next = (np.zeros_like(dh_next), np.zeros_like(dh_next))
        dh = dh_next + dstate_next[0]
        dc_next = 0.0 if mistake.get("no_dc_next") else dstate_next[1]
        tanh_prime = 1.0 if mistake.get("no_tanh_prime") else 1 - np.tanh(c) ** 2
        dc = dc_next + dh * o * tanh_prime
        do = dh * np.tanh(c)
        if mistake.get("preactivation"):
            a = cache["a"]
            i, f, o = a[:, :H], a[:, H:2 * H], a[:, 3 * H:]
        da_i, da_f, da_g, da_o = dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dc * cache["i"] * (1 - g**2), \
            do * o * (1 - o)
        blocks = {"i": da_i, "f": da_f, "g": da_g, "o": da_o}
        da = np.concatenate([blocks[k] for k in mistake.get("order", "ifgo")], axis=1)
        dc_prev = dc if mistake.get("no_f") else dc * cache["f"]
        grads = {"W_ih": da.T @ x, "W_hh": da.T @ h_prev, "b_ih": da.sum(0), "b_hh": da.sum(0)}
        return da @ p["W_ih"], (da @ p["W_hh"], dc_prev), grads

    return step_backward


def test_backward_checker_accepts_the_reference_and_a_hand_written_backward(capsys):
    assert check_lstm_step_backward(lstm.step_backward) is True
    assert check_lstm_step_backward(make_lstm_backward(), step_forward=learner_lstm_forward) is True
    out = capsys.readouterr().out
    assert out.count("PASSED lstm step_backward: dx, dstate[0], dstate[1], grads['W_ih']") == 2
    assert "against centred finite differences on fixed (N, D, H) = (2, 3, 4): worst relative error" in out


@pytest.mark.parametrize("mistake, hint", [
    (dict(no_dc_next=True), "the gradient dc coming from the next step is missing"),
    (dict(no_tanh_prime=True), "tanh'(c) is missing on the path through h"),
    (dict(preactivation=True), "the gate derivatives use the pre-activations"),
    (dict(no_f=True), "dc_prev misses the forget gate"),
    (dict(order="ifog"), "wrong gate order in da: your blocks are stacked as i, f, o, g"),
    (dict(order="figo"), "stacked as f, i, g, o"),
])
def test_backward_checker_names_each_mistake(mistake, hint):
    with pytest.raises(AssertionError, match="lstm step_backward") as info:
        check_lstm_step_backward(make_lstm_backward(**mistake), step_forward=learner_lstm_forward, verbose=False)
    assert hint in str(info.value).split("Hint:")[1]


def test_backward_checker_blames_a_wrong_forward_not_the_backward():
    def forward_without_forget_gate(x, state, params):
        h, (_, c), cache = learner_lstm_forward(x, state, params)
        c = cache["i"] * cache["g"]
        h = cache["o"] * np.tanh(c)
        return h, (h, c), dict(cache, c=c)

    with pytest.raises(AssertionError, match="your step_forward is wrong, so the cache it gives your step_backward "
                                             "cannot be trusted; step_backward was not checked") as info:
        check_lstm_step_backward(make_lstm_backward(), step_forward=forward_without_forget_gate, verbose=False)
    assert "missing forget-gate term" in str(info.value)
