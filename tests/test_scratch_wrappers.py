"""Stacked and bidirectional wrappers against multi-layer bidirectional torch.nn modules."""

import numpy as np
import pytest
import torch

from rnnlib.scratch import gradcheck, init_params, stacked_params_from_torch, wrappers
from rnnlib.scratch import gru, lstm, rnn

TOL_TORCH = 1e-10
TOL_NUMERIC = 1e-7
CELLS = {"rnn": (rnn, torch.nn.RNN), "lstm": (lstm, torch.nn.LSTM), "gru": (gru, torch.nn.GRU)}
VARIANTS = [("rnn", {"nonlinearity": "tanh"}), ("rnn", {"nonlinearity": "relu"}), ("lstm", {}), ("gru", {})]
VARIANT_IDS = ["rnn-tanh", "rnn-relu", "lstm", "gru"]


def parts(state):
    return list(state) if isinstance(state, tuple) else [state]


def check(mine, reference, what):
    err = gradcheck.rel_error(mine, reference.detach().numpy())
    assert err <= TOL_TORCH, f"{what}: relative error {err:.2e}"


@pytest.mark.parametrize("num_layers", [1, 2, 3])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["one-way", "bidirectional"])
@pytest.mark.parametrize("cell, options", VARIANTS, ids=VARIANT_IDS)
def test_stacked_matches_torch(cell, options, bidirectional, num_layers):
    N, T, D, H = 2, 5, 3, 4
    cell_module, torch_class = CELLS[cell]
    dirs = 2 if bidirectional else 1
    rng = np.random.default_rng(num_layers)
    torch.manual_seed(num_layers)
    module = torch_class(D, H, num_layers=num_layers, bidirectional=bidirectional, batch_first=True,
                         dtype=torch.float64, **options)
    layers = stacked_params_from_torch(module)
    x = rng.standard_normal((N, T, D))
    n_parts = 2 if cell == "lstm" else 1
    state0 = [rng.standard_normal((num_layers * dirs, N, H)) for _ in range(n_parts)]
    state0 = tuple(state0) if cell == "lstm" else state0[0]
    dhs = rng.standard_normal((N, T, dirs * H))
    dstate_n = [rng.standard_normal((num_layers * dirs, N, H)) for _ in range(n_parts)]
    dstate_n = tuple(dstate_n) if cell == "lstm" else dstate_n[0]

    hs, state_n, cache = wrappers.stacked_forward(cell_module, x, state0, layers, bidirectional, **options)
    dx, dstate0, layer_grads = wrappers.stacked_backward(dhs, cache, dstate_n)

    x_t = torch.tensor(x, requires_grad=True)
    state0_t = [torch.tensor(s, requires_grad=True) for s in parts(state0)]
    out_t, state_n_t = module(x_t, tuple(state0_t) if cell == "lstm" else state0_t[0])
    loss = (out_t * torch.tensor(dhs)).sum()
    for s_t, ds in zip(parts(state_n_t), parts(dstate_n)):
        loss = loss + (s_t * torch.tensor(ds)).sum()
    loss.backward()

    assert hs.shape == (N, T, dirs * H)
    check(hs, out_t, "outputs")
    for mine, ref in zip(parts(state_n), parts(state_n_t)):
        assert mine.shape == (num_layers * dirs, N, H)
        check(mine, ref, "final state")
    check(dx, x_t.grad, "dx")
    for mine, ref in zip(parts(dstate0), state0_t):
        check(mine, ref.grad, "dstate0")
    for k in range(num_layers):
        for direction in range(dirs):
            grads = layer_grads[k][direction] if bidirectional else layer_grads[k]
            suffix = f"_l{k}" + ("_reverse" if direction else "")
            for key, name in [("W_ih", "weight_ih"), ("W_hh", "weight_hh"), ("b_ih", "bias_ih"), ("b_hh", "bias_hh")]:
                check(grads[key], getattr(module, name + suffix).grad, f"layer {k} dir {direction} {key}")


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_bidirectional_matches_torch_without_state(cell):
    cell_module, torch_class = CELLS[cell]
    rng = np.random.default_rng(7)
    module = torch_class(3, 2, bidirectional=True, batch_first=True, dtype=torch.float64)
    (params, params_reverse), = stacked_params_from_torch(module)
    x = rng.standard_normal((1, 4, 3))
    hs, state_n, cache = wrappers.bidirectional_forward(cell, x, None, params, params_reverse)
    dhs = rng.standard_normal(hs.shape)
    dx, dstate0, (grads, grads_reverse) = wrappers.bidirectional_backward(dhs, cache)

    x_t = torch.tensor(x, requires_grad=True)
    out_t, state_n_t = module(x_t)
    (out_t * torch.tensor(dhs)).sum().backward()
    check(hs, out_t, "outputs")
    for mine, ref in zip(parts(state_n), parts(state_n_t)):
        check(mine, ref, "final state")
    check(dx, x_t.grad, "dx")
    check(grads_reverse["W_hh"], module.weight_hh_l0_reverse.grad, "reverse W_hh")
    # the reverse direction's last output (t = 0) is its final state
    np.testing.assert_array_equal(hs[:, 0, 2:], parts(state_n)[0][1])


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_stacked_bidirectional_vs_finite_differences(cell):
    cell_module = CELLS[cell][0]
    rng = np.random.default_rng(8)
    N, T, D, H = 2, 3, 2, 2
    layers = [(init_params(cell, D, H, rng), init_params(cell, D, H, rng)),
              (init_params(cell, 2 * H, H, rng), init_params(cell, 2 * H, H, rng))]
    inputs = {"x": rng.standard_normal((N, T, D)), "h0": rng.standard_normal((4, N, H))}
    for k, pair in enumerate(layers):
        for direction, params in enumerate(pair):
            inputs.update({f"{key}_{k}{direction}": value for key, value in params.items()})

    def rebuild(kw):
        return [tuple({key: kw[f"{key}_{k}{d}"] for key in ("W_ih", "W_hh", "b_ih", "b_hh")} for d in range(2))
                for k in range(2)]

    def forward_fn(x, h0, **kw):
        state0 = (h0, np.tanh(h0)) if cell == "lstm" else h0  # c0 derived from h0: one input to check
        hs, state_n, cache = wrappers.stacked_forward(cell_module, x, state0, rebuild(kw), bidirectional=True)
        return (hs, state_n), (cache, h0)

    def backward_fn(dout, cache_h0):
        cache, h0 = cache_h0
        dhs, dstate_n = dout
        dx, dstate0, layer_grads = wrappers.stacked_backward(dhs, cache, dstate_n)
        dh0 = dstate0[0] + dstate0[1] * (1 - np.tanh(h0) ** 2) if cell == "lstm" else dstate0
        named = {"x": dx, "h0": dh0}
        for k, pair in enumerate(layer_grads):
            for direction, grads in enumerate(pair):
                named.update({f"{key}_{k}{direction}": value for key, value in grads.items()})
        return named

    errors = gradcheck.check_gradients(forward_fn, backward_fn, inputs)
    assert set(errors) == set(inputs)
    assert max(errors.values()) <= TOL_NUMERIC, errors


def test_wrappers_bad_input():
    rng = np.random.default_rng(9)
    params = init_params("gru", 3, 4, rng)
    x = rng.standard_normal((2, 5, 3))
    with pytest.raises(ValueError, match="cell must be one of 'rnn', 'lstm', 'gru'.*got 'transformer'"):
        wrappers.stacked_forward("transformer", x, None, [params])
    with pytest.raises(TypeError, match=r"layers\[0\] must be a pair \(params, params_reverse\) \(bidirectional=True\), got dict"):
        wrappers.stacked_forward("gru", x, None, [params], bidirectional=True)
    with pytest.raises(ValueError, match=r"layers must be a non-empty list"):
        wrappers.stacked_forward("gru", x, None, [])
    with pytest.raises(ValueError, match=r"state0 must have shape \(2, N, H\) \(layers \* directions, N, H\), got \(1, 2, 4\)"):
        wrappers.stacked_forward("gru", x, np.zeros((1, 2, 4)), [params, init_params("gru", 4, 4, rng)])
    with pytest.raises(TypeError, match=r"state0 must be a tuple \(h, c\) of arrays of shape \(2, N, H\) for an LSTM, got ndarray"):
        wrappers.bidirectional_forward("lstm", x, np.zeros((2, 2, 4)), init_params("lstm", 3, 4, rng),
                                       init_params("lstm", 3, 4, rng))
    hs, _, cache = wrappers.bidirectional_forward("gru", x, None, params, params)
    with pytest.raises(ValueError, match=r"dhs must have shape \(2, 5, 8\) \(forward and reverse halves\), got \(2, 5, 4\)"):
        wrappers.bidirectional_backward(hs[..., :4], cache)
    with pytest.raises(TypeError, match="cache must be the cache returned by stacked_forward, got BidirectionalCache"):
        wrappers.stacked_backward(hs, cache)
