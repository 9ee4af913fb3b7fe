"""Layers (embedding, linear, softmax cross-entropy) and the gradient-checking tools."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnnlib.scratch import gradcheck, layers

TOL_NUMERIC = 1e-7
TOL_TORCH = 1e-10


# --- gradcheck itself, against analytic gradients -------------------------------------------

def test_numerical_gradient_matches_analytic():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4))
    x_before = x.copy()
    df = rng.standard_normal((3, 4))
    # f(x) = sin(x) * x  =>  df/dx = cos(x) x + sin(x), elementwise
    numeric = gradcheck.numerical_gradient(lambda v: np.sin(v) * v, x, df)
    assert gradcheck.rel_error(numeric, df * (np.cos(x) * x + np.sin(x))) < 1e-9
    # scalar function: gradient of sum(x^3) is 3 x^2
    assert gradcheck.rel_error(gradcheck.numerical_gradient(lambda v: np.sum(v**3), x), 3 * x**2) < 1e-9
    # x is restored
    assert np.array_equal(x, x_before)


def test_rel_error():
    a = np.array([1.0, 2.0, 3.0])
    assert gradcheck.rel_error(a, a) == 0.0
    assert gradcheck.rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert gradcheck.rel_error(a, -a) == pytest.approx(1.0)
    assert gradcheck.rel_error(a, a * (1 + 1e-6)) == pytest.approx(0.5e-6, rel=1e-3)
    with pytest.raises(ValueError, match=r"a and b must have the same shape, got \(3,\) and \(2,\)"):
        gradcheck.rel_error(a, a[:2])


def test_check_gradients_catches_a_wrong_backward():
    x = np.random.default_rng(1).standard_normal((2, 3))

    def forward_fn(x):
        return np.tanh(x), x

    good = gradcheck.check_gradients(forward_fn, lambda d, x: {"x": d * (1 - np.tanh(x) ** 2)}, {"x": x})
    bad = gradcheck.check_gradients(forward_fn, lambda d, x: {"x": d * (1 - np.tanh(x))}, {"x": x})
    assert good["x"] < 1e-9
    assert bad["x"] > 1e-2
    with pytest.raises(TypeError, match=r"inputs\['x'\] must be a float64 NumPy array, got float32"):
        gradcheck.check_gradients(forward_fn, None, {"x": x.astype(np.float32)})
    with pytest.raises(ValueError, match=r"backward_fn returned gradients for \['y'\]"):
        gradcheck.check_gradients(forward_fn, lambda d, x: {"y": d}, {"x": x})


# --- embedding ------------------------------------------------------------------------------

def test_embedding_matches_torch_and_accumulates_repeated_ids():
    rng = np.random.default_rng(2)
    W = rng.standard_normal((6, 3))
    ids = np.array([[0, 5, 5, 2], [2, 2, 1, 0]])
    dout = rng.standard_normal((2, 4, 3))
    out, cache = layers.embedding_forward(ids, W)
    dW = layers.embedding_backward(dout, cache)

    W_t = torch.tensor(W, requires_grad=True)
    out_t = F.embedding(torch.tensor(ids), W_t)
    (out_t * torch.tensor(dout)).sum().backward()
    assert np.array_equal(out, out_t.detach().numpy())
    assert gradcheck.rel_error(dW, W_t.grad.numpy()) <= TOL_TORCH
    assert not dW[3].any() and not dW[4].any()  # unused rows get no gradient


def test_embedding_backward_vs_finite_differences():
    rng = np.random.default_rng(3)
    ids = rng.integers(0, 5, size=(3, 4))
    errors = gradcheck.check_gradients(
        lambda W: layers.embedding_forward(ids, W), lambda d, c: {"W": layers.embedding_backward(d, c)},
        {"W": rng.standard_normal((5, 2))})
    assert errors["W"] <= TOL_NUMERIC


# --- linear ---------------------------------------------------------------------------------

@pytest.mark.parametrize("x_shape", [(4, 3), (2, 5, 3)], ids=["N-D", "N-T-D"])
def test_linear_matches_torch_and_finite_differences(x_shape):
    rng = np.random.default_rng(4)
    x, W, b = rng.standard_normal(x_shape), rng.standard_normal((2, 3)), rng.standard_normal(2)
    out, cache = layers.linear_forward(x, W, b)
    dout = rng.standard_normal(out.shape)
    dx, dW, db = layers.linear_backward(dout, cache)

    x_t, W_t, b_t = (torch.tensor(a, requires_grad=True) for a in (x, W, b))
    out_t = F.linear(x_t, W_t, b_t)
    (out_t * torch.tensor(dout)).sum().backward()
    for mine, ref in [(out, out_t), (dx, x_t.grad), (dW, W_t.grad), (db, b_t.grad)]:
        assert gradcheck.rel_error(mine, ref.detach().numpy()) <= TOL_TORCH

    def backward_fn(d, c):
        dx, dW, db = layers.linear_backward(d, c)
        return {"x": dx, "W": dW, "b": db}

    errors = gradcheck.check_gradients(layers.linear_forward, backward_fn, {"x": x, "W": W, "b": b})
    assert max(errors.values()) <= TOL_NUMERIC, errors


def test_linear_without_bias():
    rng = np.random.default_rng(5)
    x, W = rng.standard_normal((4, 3)), rng.standard_normal((2, 3))
    out, cache = layers.linear_forward(x, W)
    np.testing.assert_allclose(out, x @ W.T)
    assert layers.linear_backward(np.ones_like(out), cache)[2] is None


# --- softmax cross-entropy ------------------------------------------------------------------

def _torch_ce(logits, targets, mask):
    logits_t = torch.tensor(logits, requires_grad=True)
    targets_t = torch.tensor(np.where(mask, targets, -100))
    loss = F.cross_entropy(logits_t.reshape(-1, logits.shape[-1]), targets_t.reshape(-1), ignore_index=-100)
    loss.backward()
    return loss.item(), logits_t.grad.numpy()


@pytest.mark.parametrize("shape", [(5, 7), (3, 4, 6), (1, 1, 2)])
@pytest.mark.parametrize("masked", [False, True])
def test_softmax_cross_entropy_matches_torch(shape, masked):
    rng = np.random.default_rng(6)
    logits = 3 * rng.standard_normal(shape)
    targets = rng.integers(0, shape[-1], size=shape[:-1])
    mask = rng.random(shape[:-1]) < 0.6 if masked else np.ones(shape[:-1], bool)
    mask.flat[0] = True
    loss, dlogits = layers.softmax_cross_entropy(logits, targets, mask if masked else None)
    loss_t, dlogits_t = _torch_ce(logits, targets, mask)
    assert loss == pytest.approx(loss_t, rel=1e-12)
    assert gradcheck.rel_error(dlogits, dlogits_t) <= TOL_TORCH
    if masked:
        assert not dlogits[~mask].any()


def test_softmax_cross_entropy_extreme_logits():
    rng = np.random.default_rng(7)
    logits = rng.choice([-1e4, 1e4], size=(4, 5, 6)) + rng.standard_normal((4, 5, 6))
    targets = rng.integers(0, 6, size=(4, 5))
    mask = rng.random((4, 5)) < 0.7
    loss, dlogits = layers.softmax_cross_entropy(logits, targets, mask)
    loss_t, dlogits_t = _torch_ce(logits, targets, mask)
    assert np.isfinite(loss) and np.all(np.isfinite(dlogits))
    assert loss == pytest.approx(loss_t, rel=1e-12)
    assert gradcheck.rel_error(dlogits, dlogits_t) <= TOL_TORCH
    # a confidently right prediction costs ~0, a confidently wrong one ~ the logit gap
    assert layers.softmax_cross_entropy(np.array([[1e4, -1e4]]), np.array([0]))[0] == 0.0
    assert layers.softmax_cross_entropy(np.array([[1e4, -1e4]]), np.array([1]))[0] == pytest.approx(2e4)


def test_softmax_cross_entropy_uniform_start_loss():
    # equal logits: the loss is ln(C), min-char-rnn's sanity check
    loss, _ = layers.softmax_cross_entropy(np.zeros((3, 4, 65)), np.zeros((3, 4), dtype=int))
    assert loss == pytest.approx(np.log(65), rel=1e-14)


def test_softmax_cross_entropy_vs_finite_differences():
    rng = np.random.default_rng(8)
    targets = rng.integers(0, 5, size=(2, 3))
    mask = np.array([[True, False, True], [True, True, False]])

    def forward_fn(logits):
        return layers.softmax_cross_entropy(logits, targets, mask)

    errors = gradcheck.check_gradients(forward_fn, lambda d, dlogits: {"logits": d * dlogits},
                                       {"logits": rng.standard_normal((2, 3, 5))})
    assert errors["logits"] <= TOL_NUMERIC


def test_sigmoid_is_exact_and_does_not_overflow():
    x = np.array([-1000.0, -30.0, -1.0, 0.0, 2.5, 40.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        s = layers.sigmoid(x)
    np.testing.assert_allclose(s, torch.sigmoid(torch.tensor(x)).numpy(), rtol=1e-15, atol=0)
