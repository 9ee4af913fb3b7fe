"""Scratch optimizers and clipping against torch.optim and torch.nn.utils on the same gradients."""

import numpy as np
import pytest
import torch

from rnnlib.scratch import optim

STEPS = 5


def _run_both(make_scratch, make_torch, seed=0):
    """Apply STEPS updates with the same random gradients; return final (scratch, torch) params."""
    rng = np.random.default_rng(seed)
    params = {"W": rng.standard_normal((3, 4)), "b": rng.standard_normal(4)}
    tensors = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in params.items()}
    scratch, reference = make_scratch(), make_torch(list(tensors.values()))
    for _ in range(STEPS):
        grads = {k: rng.standard_normal(v.shape) for k, v in params.items()}
        scratch.step(params, grads)
        for k, t in tensors.items():
            t.grad = torch.tensor(grads[k])
        reference.step()
    return params, {k: t.detach().numpy() for k, t in tensors.items()}


CASES = {
    "sgd": (lambda: optim.SGD(lr=0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
    "sgd-momentum": (lambda: optim.SGD(lr=0.1, momentum=0.9, weight_decay=0.01),
                     lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01)),
    "sgd-nesterov": (lambda: optim.SGD(lr=0.05, momentum=0.8, nesterov=True),
                     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8, nesterov=True)),
    "sgd-dampening": (lambda: optim.SGD(lr=0.05, momentum=0.8, dampening=0.3),
                      lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8, dampening=0.3)),
    "adagrad": (lambda: optim.Adagrad(), lambda p: torch.optim.Adagrad(p)),
    "adagrad-options": (lambda: optim.Adagrad(lr=0.3, lr_decay=0.1, weight_decay=0.01, initial_accumulator_value=0.5),
                        lambda p: torch.optim.Adagrad(p, lr=0.3, lr_decay=0.1, weight_decay=0.01,
                                                      initial_accumulator_value=0.5)),
    "adam": (lambda: optim.Adam(), lambda p: torch.optim.Adam(p)),
    "adam-options": (lambda: optim.Adam(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
                     lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_optimizer_matches_torch(name):
    mine, reference = _run_both(*CASES[name])
    for key in mine:
        np.testing.assert_allclose(mine[key], reference[key], rtol=1e-12, atol=1e-14)
    start = _run_both(lambda: optim.SGD(lr=0.0), lambda p: torch.optim.SGD(p, lr=0.0))[0]
    assert not np.allclose(mine["W"], start["W"])  # the parameters did move


@pytest.mark.parametrize("max_norm", [0.5, 3.0, 100.0])
def test_clip_grad_norm_matches_torch(max_norm):
    rng = np.random.default_rng(1)
    grads = {"a": rng.standard_normal((3, 4)), "b": rng.standard_normal(5)}
    tensors = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads.values()]
    for t, g in zip(tensors, grads.values()):
        t.grad = torch.tensor(g.copy())
    total_t = torch.nn.utils.clip_grad_norm_(tensors, max_norm)
    before = {k: g.copy() for k, g in grads.items()}
    total = optim.clip_grad_norm(grads, max_norm)
    assert total == pytest.approx(total_t.item(), rel=1e-14)
    assert total == pytest.approx(np.sqrt(sum(np.sum(g**2) for g in before.values())), rel=1e-14)
    for g, t in zip(grads.values(), tensors):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-14)
    new_norm = np.sqrt(sum(np.sum(g**2) for g in grads.values()))
    assert new_norm <= max_norm * (1 + 1e-12)
    if total < max_norm:
        np.testing.assert_array_equal(grads["a"], before["a"])


def test_clip_grad_value():
    grads = {"a": np.array([-7.0, -5.0, 0.3, 4.9, 12.0])}
    optim.clip_grad_value(grads, 5)
    np.testing.assert_array_equal(grads["a"], [-5.0, -5.0, 0.3, 4.9, 5.0])


def test_optimizer_bad_input():
    params = {"W": np.zeros((2, 2))}
    with pytest.raises(ValueError, match=r"grads must have the keys of params \['W'\], got \['V'\]"):
        optim.SGD(lr=0.1).step(params, {"V": np.zeros((2, 2))})
    with pytest.raises(ValueError, match=r"grads\['W'\] must have shape \(2, 2\) like params\['W'\], got \(3,\)"):
        optim.Adam().step(params, {"W": np.zeros(3)})
    with pytest.raises(ValueError, match=r"lr must be a finite number >= 0, got -1.0"):
        optim.Adagrad(lr=-1)
    with pytest.raises(ValueError, match=r"betas\[1\] must be a finite number in \[0, 1\), got 1.0"):
        optim.Adam(betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="nesterov needs momentum > 0"):
        optim.SGD(nesterov=True)
    with pytest.raises(TypeError, match=r"params\['W'\] must be a NumPy array \(updated in place\), got list"):
        optim.SGD().step({"W": [1.0]}, {"W": np.zeros(1)})
    with pytest.raises(TypeError, match="max_norm must be a finite number >= 0, got str 'big'"):
        optim.clip_grad_norm({"W": np.zeros(2)}, "big")
    with pytest.raises(TypeError, match=r"grads\['W'\] must be a NumPy array \(clipped in place\), got list"):
        optim.clip_grad_value({"W": [7.0]}, 5)
    with pytest.raises(TypeError, match=r"grads must be a dict of NumPy arrays, got ndarray"):
        optim.clip_grad_norm(np.zeros(3), 1.0)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize("make, name", [
    (lambda v: optim.SGD(lr=v), "lr"),
    (lambda v: optim.SGD(lr=0.1, momentum=v), "momentum"),
    (lambda v: optim.Adagrad(eps=v), "eps"),
    (lambda v: optim.Adam(betas=(v, 0.999)), r"betas\[0\]"),
    (lambda v: optim.Adam(betas=(0.9, v)), r"betas\[1\]"),
    (lambda v: optim.Adam(weight_decay=v), "weight_decay"),
    (lambda v: optim.clip_grad_norm({"W": np.ones(2)}, v), "max_norm"),
    (lambda v: optim.clip_grad_value({"W": np.ones(2)}, v), "clip"),
])
def test_nan_and_infinities_are_rejected_before_they_reach_a_weight(make, name, value):
    # every comparison with NaN is False: a check like `value < 0` alone would accept it
    with pytest.raises(ValueError, match=f"{name} must be a finite number"):
        make(value)
