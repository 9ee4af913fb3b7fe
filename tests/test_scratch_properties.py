"""Property tests (hypothesis) over shapes and values for rnnlib.scratch."""

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnlib.scratch import attention, gradcheck, gru, layers, lstm, params_from_torch, rnn

FAST = settings(max_examples=25, deadline=None)
dims = st.integers(min_value=1, max_value=6)
MODULES = {"rnn": (rnn, torch.nn.RNN), "lstm": (lstm, torch.nn.LSTM), "gru": (gru, torch.nn.GRU)}


@FAST
@given(cell=st.sampled_from(list(MODULES)), N=dims, T=dims, D=dims, H=dims, seed=st.integers(0, 2**16))
def test_any_shape_matches_torch(cell, N, T, D, H, seed):
    module, torch_class = MODULES[cell]
    torch.manual_seed(seed)
    reference = torch_class(D, H, batch_first=True, dtype=torch.float64)
    x = np.random.default_rng(seed).standard_normal((N, T, D))
    hs, state_T, cache = module.forward(x, None, params_from_torch(reference))
    x_t = torch.tensor(x, requires_grad=True)
    out_t, _ = reference(x_t)
    out_t.sum().backward()
    dx, dstate0, grads = module.backward(np.ones_like(hs), cache)

    assert hs.shape == (N, T, H) and dx.shape == (N, T, D)
    assert all(g.shape == p.shape for g, p in zip(grads.values(), params_from_torch(reference).values()))
    assert gradcheck.rel_error(hs, out_t.detach().numpy()) <= 1e-10
    assert gradcheck.rel_error(dx, x_t.grad.numpy()) <= 1e-10
    assert gradcheck.rel_error(grads["W_hh"], reference.weight_hh_l0.grad.numpy()) <= 1e-10
    np.testing.assert_array_equal(hs[:, -1], state_T[0] if cell == "lstm" else state_T)


@FAST
@given(N=dims, S=dims, H=dims, seed=st.integers(0, 2**16), scale=st.sampled_from([1.0, 30.0]))
def test_masked_attention_weights(N, S, H, seed, scale):
    rng = np.random.default_rng(seed)
    query = scale * rng.standard_normal((N, H))
    keys, values = scale * rng.standard_normal((N, S, H)), rng.standard_normal((N, S, H))
    mask = rng.random((N, S)) < 0.5
    mask[np.arange(N), rng.integers(0, S, size=N)] = True  # at least one kept position per row
    params = attention.init_additive_params(H, H, 3, rng)
    for _, weights, _ in [attention.dot_product_attention_forward(query, keys, values, mask),
                          attention.additive_attention_forward(query, keys, values, params, mask)]:
        assert np.all(weights[~mask] == 0.0)
        assert np.all(weights >= 0)
        np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-13)


@FAST
@given(N=dims, T=dims, C=st.integers(2, 8), seed=st.integers(0, 2**16), magnitude=st.sampled_from([1.0, 1e2, 1e4]))
def test_softmax_cross_entropy_finite_and_matches_torch(N, T, C, seed, magnitude):
    rng = np.random.default_rng(seed)
    logits = magnitude * rng.standard_normal((N, T, C))
    targets = rng.integers(0, C, size=(N, T))
    mask = rng.random((N, T)) < 0.7
    mask[0, 0] = True
    loss, dlogits = layers.softmax_cross_entropy(logits, targets, mask)
    assert np.isfinite(loss) and loss >= 0 and np.all(np.isfinite(dlogits))
    # each kept token's gradient row sums to 0 (softmax minus one-hot)
    np.testing.assert_allclose(dlogits.sum(axis=-1), 0.0, atol=1e-15)
    logits_t = torch.tensor(logits, requires_grad=True)
    loss_t = torch.nn.functional.cross_entropy(logits_t.reshape(-1, C), torch.tensor(np.where(mask, targets, -100)).reshape(-1))
    loss_t.backward()
    assert abs(loss - loss_t.item()) <= 1e-12 * max(1.0, abs(loss))
    assert gradcheck.rel_error(dlogits, logits_t.grad.numpy()) <= 1e-10
