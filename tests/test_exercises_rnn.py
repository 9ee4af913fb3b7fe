"""rnnlib.exercises: the checkers accept correct code and name each planted mistake.

The learners' functions below are written out here, each with one mistake, independently of
the checker's planted variants.
"""

import numpy as np
import pytest

from rnnlib.exercises import check_rnn_step_backward, check_rnn_step_forward
from rnnlib.exercises._checking import Case, Mistake, check_function, linspace_array
from rnnlib.scratch import rnn


def _zeros_if_none(h_prev, x, p):
    return np.zeros((x.shape[0], p["W_hh"].shape[0])) if h_prev is None else h_prev


def learner_forward(x, h_prev, p):
    h_prev = _zeros_if_none(h_prev, x, p)
    h = np.tanh(x @ p["W_ih"].T + p["b_ih"] + h_prev @ p["W_hh"].T + p["b_hh"])
    return h, h, {"x": x, "h_prev": h_prev, "h": h, "p": p}


def test_forward_checker_accepts_the_reference_and_a_learner(capsys):
    assert check_rnn_step_forward(rnn.step_forward) is True
    assert check_rnn_step_forward(learner_forward) is True
    out = capsys.readouterr().out
    assert out.count("PASSED rnn step_forward: h_next, state_next match rnnlib's reference on 4 cases") == 2
    assert "worst relative error" in out


def _wrong_forward(**change):
    """A learner's forward with one mistake, spelled out as a learner would write it."""
    def step(x, h_prev, p):
        if h_prev is None:
            if change.get("no_none"):
                h_prev @ p["W_hh"].T  # raises TypeError, as a learner's code would
            h_prev = np.zeros((x.shape[0], p["W_hh"].shape[0]))
        W_ih = p["W_ih"] if change.get("W_ih_T") else p["W_ih"].T
        W_hh = p["W_hh"] if change.get("W_hh_T") else p["W_hh"].T
        b_ih = 0 if change.get("no_b_ih") else p["b_ih"]
        b_hh = 0 if change.get("no_b_hh") else p["b_hh"]
        a = np.dot(x, W_ih) + b_ih + np.dot(h_prev, W_hh) + b_hh
        act = change.get("act", np.tanh)
        h = act(a)
        return h, (h_prev if change.get("old_state") else h), None
    return step


@pytest.mark.parametrize("change, hint", [
    (dict(W_hh_T=True), "transposed W_hh"),
    (dict(W_ih_T=True), "transposed W_ih: W_ih has shape (H, D)"),
    (dict(W_ih_T=True, W_hh_T=True), "transposed W_ih and W_hh"),
    (dict(no_b_ih=True), "the bias b_ih is missing"),
    (dict(no_b_hh=True), "the bias b_hh is missing"),
    (dict(no_b_ih=True, no_b_hh=True), "both biases are missing"),
    (dict(act=lambda a: np.maximum(a, 0)), "relu instead of tanh"),
    (dict(act=lambda a: 1 / (1 + np.exp(-a))), "sigmoid instead of tanh"),
    (dict(act=lambda a: a), "the nonlinearity is missing"),
    (dict(old_state=True), "state_next must be the new hidden state"),
    (dict(no_none=True), "state=None must mean a zero initial state"),
    (dict(W_hh_T=True, no_none=True), "transposed W_hh"),
])
def test_forward_checker_names_each_mistake(change, hint, capsys):
    with pytest.raises(AssertionError, match="rnn step_forward") as info:
        check_rnn_step_forward(_wrong_forward(**change))
    message = str(info.value)
    assert "Hint: your output matches a common mistake:" in message and hint in message
    assert "FAILED rnn step_forward" in capsys.readouterr().out


def test_forward_checker_names_tanh_applied_to_each_term():
    def separate(x, h_prev, p):
        h = np.tanh(x @ p["W_ih"].T + p["b_ih"]) + np.tanh(h_prev @ p["W_hh"].T + p["b_hh"]) if h_prev is not None \
            else np.tanh(x @ p["W_ih"].T + p["b_ih"]) + np.tanh(p["b_hh"])
        return h, h, None
    with pytest.raises(AssertionError, match="tanh is applied to each term separately"):
        check_rnn_step_forward(separate, verbose=False)


def test_forward_checker_explains_unknown_mistakes_and_bad_returns():
    def scaled(x, h_prev, p):
        h, _, c = learner_forward(x, h_prev, p)
        return 1.01 * h, 1.01 * h, c
    with pytest.raises(AssertionError) as info:
        check_rnn_step_forward(scaled, verbose=False)
    message = str(info.value)
    assert "on fixed inputs N=2, D=3, H=4, h_next differs from the reference: relative error" in message
    assert "common mistake" not in message and "Hint: write the step as h_next = tanh(x @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh)" in message

    with pytest.raises(AssertionError, match=r"returned ndarray of shape \(2, 4\); it must return \(h_next, state_next, \.\.\.\)"):
        check_rnn_step_forward(lambda x, h, p: learner_forward(x, h, p)[0], verbose=False)
    with pytest.raises(AssertionError, match=r"h_next has shape \(4, 2\), expected \(2, 4\)"):
        check_rnn_step_forward(lambda x, h, p: tuple(v.T if i < 2 else v for i, v in enumerate(learner_forward(x, h, p))),
                               verbose=False)
    with pytest.raises(AssertionError, match="your function raised NotImplementedError"):
        check_rnn_step_forward(lambda x, h, p: (_ for _ in ()).throw(NotImplementedError("TODO")), verbose=False)
    with pytest.raises(TypeError, match="fn must be a function"):
        check_rnn_step_forward("step_forward")


def test_checker_does_not_let_an_in_place_update_leak_between_calls():
    def in_place(x, h_prev, p):
        p["b_hh"] += 1.0  # a learner who modifies the parameters
        return learner_forward(x, h_prev, p)
    with pytest.raises(AssertionError):
        check_rnn_step_forward(in_place, verbose=False)
    assert check_rnn_step_forward(learner_forward, verbose=False)


# ----------------------------------------------------------------------------------------------
# backward


def learner_backward(dh_next, dstate_next, cache, change=None):
    change = change or {}
    x, h_prev, h, p = cache["x"], cache["h_prev"], cache["h"], cache["p"]
    if dstate_next is None and change.get("no_none"):
        dh_next + dstate_next  # raises TypeError
    dh = dh_next if dstate_next is None or change.get("drop_dstate") else dh_next + dstate_next
    local = change.get("local", lambda h: 1 - h**2)(h)
    da = dh * local
    dx = da @ (p["W_ih"].T if change.get("dx_T") else p["W_ih"])
    dh_prev = da @ (p["W_hh"].T if change.get("dh_T") else p["W_hh"])
    grads = {"W_ih": x.T @ da if change.get("grads_T") else da.T @ x,
             "W_hh": h_prev.T @ da if change.get("grads_T") else da.T @ h_prev,
             "b_ih": da if change.get("no_sum") else da.sum(0),
             "b_hh": da if change.get("no_sum") else da.sum(0)}
    return dx, dh_prev, grads


def test_backward_checker_accepts_the_reference_and_a_learner(capsys):
    assert check_rnn_step_backward(rnn.step_backward) is True
    assert check_rnn_step_backward(learner_backward, step_forward=learner_forward) is True
    out = capsys.readouterr().out
    assert out.count("PASSED rnn step_backward: dx, dstate, grads['W_ih'], grads['W_hh'], grads['b_ih'], "
                     "grads['b_hh'] match") == 2


@pytest.mark.parametrize("change, hint", [
    (dict(local=lambda h: 1.0), "the tanh derivative is missing"),
    (dict(local=lambda h: h), "tanh'(a) is 1 - tanh(a)**2 = 1 - h_next**2, not h_next"),
    (dict(local=lambda h: 1 - h), "tanh'(a) = 1 - h_next**2 (squared)"),
    (dict(local=lambda h: h * (1 - h)), "sigmoid's derivative"),
    (dict(local=lambda h: 1 - np.tanh(h) ** 2), "applies tanh twice"),
    (dict(drop_dstate=True), "dstate_next is ignored"),
    (dict(dh_T=True), "transposed W_hh in dh_prev"),
    (dict(dx_T=True), "transposed W_ih in dx"),
    (dict(grads_T=True), "transposed weight gradients"),
    (dict(no_sum=True), "summed over the batch"),
    (dict(no_none=True), "dstate_next=None means no gradient comes from the next step"),
])
def test_backward_checker_names_each_mistake(change, hint):
    def wrong(dh_next, dstate_next, cache):
        return learner_backward(dh_next, dstate_next, cache, change)
    with pytest.raises(AssertionError, match="rnn step_backward") as info:
        check_rnn_step_backward(wrong, step_forward=learner_forward, verbose=False)
    message = str(info.value)
    assert "Hint: your output matches a common mistake:" in message and hint in message


def test_backward_checker_with_the_reference_forward_cache():
    def scaled(dh_next, dstate_next, cache):
        dx, dh, grads = rnn.step_backward(dh_next, dstate_next, cache)
        return dx, dh, {k: 2 * v for k, v in grads.items()}
    with pytest.raises(AssertionError, match=r"grads\['W_ih'\] differs from the reference"):
        check_rnn_step_backward(scaled, verbose=False)
    with pytest.raises(AssertionError, match=r"grads\['b_hh'\] missing from what your function returned"):
        check_rnn_step_backward(lambda *a: (*rnn.step_backward(*a)[:2], {"W_ih": 0, "W_hh": 0, "b_ih": 0}),
                                verbose=False)


# ----------------------------------------------------------------------------------------------
# the generic machinery, as other chapters use it


def test_check_function_on_a_new_exercise():
    def reference(v):
        return v / np.linalg.norm(v)

    cases = [Case("fixed", lambda: ((linspace_array((5,), -1, 2),), {})),
             Case("zero-free random", lambda: ((np.random.default_rng(0).normal(size=7),), {}))]
    mistakes = [Mistake("divide by the norm, not by the sum", lambda v: v / v.sum())]
    assert check_function("normalise", reference, reference, cases, output_names=("unit",), verbose=False)
    with pytest.raises(AssertionError, match="Hint: your output matches a common mistake: divide by the norm"):
        check_function("normalise", lambda v: v / np.sum(v), reference, cases, ("unit",), mistakes, verbose=False)


