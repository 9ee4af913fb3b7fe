"""Scratch attention: finite differences, masks, and torch autograd as an independent oracle."""

import numpy as np
import pytest
import torch

from rnnlib.scratch import attention, gradcheck

TOL_NUMERIC = 1e-7
TOL_TORCH = 1e-10


def _data(rng, N=3, S=5, Hq=4, Hk=4, Hv=3, masked=True):
    query = rng.standard_normal((N, Hq))
    keys = rng.standard_normal((N, S, Hk))
    values = rng.standard_normal((N, S, Hv))
    mask = np.ones((N, S), bool)
    if masked:  # padded sequences of lengths S, S-2, 1
        mask[1, S - 2:] = False
        mask[2, 1:] = False
    return query, keys, values, mask


def _torch_attention(query, keys, values, mask, score_fn):
    q, k, v = (torch.tensor(a, requires_grad=True) for a in (query, keys, values))
    scores = score_fn(q, k).masked_fill(~torch.tensor(mask), float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    context = torch.einsum("ns,nsh->nh", weights, v)
    return context, weights, (q, k, v)


@pytest.mark.parametrize("scaled", [True, False])
def test_dot_product_matches_torch(scaled):
    rng = np.random.default_rng(0)
    query, keys, values, mask = _data(rng)
    context, weights, cache = attention.dot_product_attention_forward(query, keys, values, mask, scaled=scaled)
    dcontext, dweights = rng.standard_normal(context.shape), rng.standard_normal(weights.shape)
    grads = attention.dot_product_attention_backward(dcontext, cache, dweights)

    scale = 0.5 if scaled else 1.0  # 1/sqrt(4)
    context_t, weights_t, leaves = _torch_attention(query, keys, values, mask,
                                                    lambda q, k: torch.einsum("nsh,nh->ns", k, q) * scale)
    ((context_t * torch.tensor(dcontext)).sum() + (weights_t * torch.tensor(dweights)).sum()).backward()
    assert gradcheck.rel_error(context, context_t.detach().numpy()) <= TOL_TORCH
    assert gradcheck.rel_error(weights, weights_t.detach().numpy()) <= TOL_TORCH
    for mine, leaf in zip(grads, leaves):
        assert gradcheck.rel_error(mine, leaf.grad.numpy()) <= TOL_TORCH


def test_additive_matches_torch():
    rng = np.random.default_rng(1)
    query, keys, values, mask = _data(rng, Hq=3, Hk=5)
    params = attention.init_additive_params(3, 5, 6, rng)
    context, weights, cache = attention.additive_attention_forward(query, keys, values, params, mask)
    dcontext = rng.standard_normal(context.shape)
    dquery, dkeys, dvalues, grads = attention.additive_attention_backward(dcontext, cache)

    p = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    context_t, weights_t, (q, k, v) = _torch_attention(
        query, keys, values, mask, lambda q, k: torch.tanh((q @ p["W_q"].T)[:, None] + k @ p["W_k"].T) @ p["v"])
    (context_t * torch.tensor(dcontext)).sum().backward()
    assert gradcheck.rel_error(context, context_t.detach().numpy()) <= TOL_TORCH
    for mine, ref in [(dquery, q.grad), (dkeys, k.grad), (dvalues, v.grad)] + [(grads[n], p[n].grad) for n in p]:
        assert gradcheck.rel_error(mine, ref.numpy()) <= TOL_TORCH


@pytest.mark.parametrize("kind", ["dot", "scaled-dot", "additive"])
def test_attention_vs_finite_differences(kind):
    rng = np.random.default_rng(2)
    query, keys, values, mask = _data(rng, Hq=4, Hk=4)
    inputs = {"query": query, "keys": keys, "values": values}
    if kind == "additive":
        inputs.update(attention.init_additive_params(4, 4, 3, rng))
        inputs["W_q"] *= 3  # larger weights: tanh away from its linear regime

        def forward_fn(query, keys, values, **params):
            context, weights, cache = attention.additive_attention_forward(query, keys, values, params, mask)
            return (context, weights), cache

        def backward_fn(dout, cache):
            dq, dk, dv, grads = attention.additive_attention_backward(*dout[:1], cache, dweights=dout[1])
            return {"query": dq, "keys": dk, "values": dv, **grads}
    else:
        def forward_fn(query, keys, values):
            context, weights, cache = attention.dot_product_attention_forward(
                query, keys, values, mask, scaled=kind == "scaled-dot")
            return (context, weights), cache

        def backward_fn(dout, cache):
            dq, dk, dv = attention.dot_product_attention_backward(dout[0], cache, dweights=dout[1])
            return {"query": dq, "keys": dk, "values": dv}

    errors = gradcheck.check_gradients(forward_fn, backward_fn, inputs)
    assert set(errors) == set(inputs)
    assert max(errors.values()) <= TOL_NUMERIC, errors


def test_masked_positions_get_exactly_zero_weight_and_gradient():
    rng = np.random.default_rng(3)
    query, keys, values, mask = _data(rng, N=3, S=6)
    # huge scores at masked positions must not leak into the softmax
    keys[~mask] = 1e3 * query[np.nonzero(~mask)[0]]
    params = attention.init_additive_params(4, 4, 5, rng)
    for context, weights, cache, backward in [
        (*attention.dot_product_attention_forward(query, keys, values, mask), attention.dot_product_attention_backward),
        (*attention.additive_attention_forward(query, keys, values, params, mask), attention.additive_attention_backward),
    ]:
        assert np.all(weights[~mask] == 0.0)
        np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-14)
        # a sequence of length 1 attends to its only position
        assert weights[2, 0] == 1.0
        _, dkeys, dvalues, *_ = backward(rng.standard_normal(context.shape), cache)
        assert np.all(dkeys[~mask] == 0.0) and np.all(dvalues[~mask] == 0.0)
        # masked keys/values cannot change the result
        values2 = values.copy()
        values2[~mask] = 99.0
        np.testing.assert_allclose(np.einsum("ns,nsh->nh", weights, values2), context, rtol=1e-14)


def test_attention_bad_input():
    rng = np.random.default_rng(4)
    query, keys, values, mask = _data(rng)
    with pytest.raises(ValueError, match=r"keys must have shape \(3, S, 4\), got \(3, 5, 7\)"):
        attention.dot_product_attention_forward(query, rng.standard_normal((3, 5, 7)), values)
    with pytest.raises(ValueError, match=r"values must have shape \(3, 5, Hv\), got \(3, 4, 3\)"):
        attention.dot_product_attention_forward(query, keys, values[:, :4])
    with pytest.raises(TypeError, match=r"mask must be a boolean NumPy array of shape \(3, 5\) \(True = keep\), got int64"):
        attention.dot_product_attention_forward(query, keys, values, mask.astype(np.int64))
    with pytest.raises(ValueError, match=r"mask must have shape \(3, 5\), got \(3, 4\)"):
        attention.dot_product_attention_forward(query, keys, values, mask[:, :4])
    empty = mask.copy()
    empty[1] = False
    with pytest.raises(ValueError, match=r"mask must keep at least one position in every row, got rows \[1\] all False"):
        attention.dot_product_attention_forward(query, keys, values, empty)
    params = attention.init_additive_params(4, 4, 6, rng)
    with pytest.raises(ValueError, match=r"params\['W_k'\] must have shape \(6, Hk\), got \(5, 4\)"):
        attention.additive_attention_forward(query, keys, values, {**params, "W_k": np.zeros((5, 4))})
    with pytest.raises(ValueError, match=r"params is missing keys \['v'\]"):
        attention.additive_attention_forward(query, keys, values, {"W_q": params["W_q"], "W_k": params["W_k"]})
    with pytest.raises(ValueError, match=r"query must have shape \(N, 4\), got \(3, 2\)"):
        attention.additive_attention_forward(query[:, :2], keys, values, params)
    context, _, cache = attention.dot_product_attention_forward(query, keys, values)
    with pytest.raises(ValueError, match=r"dcontext must have shape \(3, 3\), got \(3, 4\)"):
        attention.dot_product_attention_backward(np.zeros((3, 4)), cache)
