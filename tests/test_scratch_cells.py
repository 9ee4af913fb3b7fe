"""rnnlib.scratch cells (rnn, lstm, gru) against torch.nn (float64) and finite differences."""

import numpy as np
import pytest
import torch

from rnnlib.scratch import gradcheck, init_params, params_from_torch
from rnnlib.scratch import gru, lstm, rnn, unroll

CELL_MODULES = {"rnn": rnn, "lstm": lstm, "gru": gru}
TORCH_LAYERS = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
TORCH_CELLS = {"rnn": torch.nn.RNNCell, "lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell}
# (cell, options): the RNN is checked with both nonlinearities
VARIANTS = [("rnn", {"nonlinearity": "tanh"}), ("rnn", {"nonlinearity": "relu"}), ("lstm", {}), ("gru", {})]
VARIANT_IDS = ["rnn-tanh", "rnn-relu", "lstm", "gru"]
SHAPES = [(3, 5, 4, 6), (1, 1, 3, 2), (1, 6, 5, 3), (2, 1, 2, 4), (4, 3, 6, 6)]  # (N, T, D, H)
TOL_TORCH = 1e-10
TOL_NUMERIC = 1e-7


def random_state(cell, rng, N, H):
    if cell == "lstm":
        return (rng.standard_normal((N, H)), rng.standard_normal((N, H)))
    return rng.standard_normal((N, H))


def to_torch_state(state, layer_dim=True):
    """scratch state -> torch state (leaf tensors requiring grad), with a leading layer axis."""

    def one(a):
        t = torch.tensor(a[None] if layer_dim else a, requires_grad=True)
        return t

    return tuple(one(a) for a in state) if isinstance(state, tuple) else one(state)


def flat(state):
    return list(state) if isinstance(state, (tuple, list)) else [state]


def assert_close(scratch, reference, what):
    for a, b in zip(flat(scratch), flat(reference)):
        b = b.detach().numpy() if isinstance(b, torch.Tensor) else b
        err = gradcheck.rel_error(a, b.reshape(a.shape))
        assert err <= TOL_TORCH, f"{what}: relative error {err:.2e} > {TOL_TORCH}"


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "N%d-T%d-D%d-H%d" % s)
@pytest.mark.parametrize("cell, options", VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize("with_state", [True, False], ids=["state0", "zeros"])
def test_sequence_matches_torch(cell, options, shape, with_state):
    N, T, D, H = shape
    rng = np.random.default_rng(sum(shape))
    torch.manual_seed(0)
    module = TORCH_LAYERS[cell](D, H, batch_first=True, dtype=torch.float64, **options)
    params = params_from_torch(module)
    x = rng.standard_normal((N, T, D))
    state0 = random_state(cell, rng, N, H) if with_state else None
    dhs = rng.standard_normal((N, T, H))
    dstate_T = random_state(cell, rng, N, H)

    hs, state_T, cache = CELL_MODULES[cell].forward(x, state0, params, **options)
    dx, dstate0, grads = CELL_MODULES[cell].backward(dhs, cache, dstate_T)

    x_t = torch.tensor(x, requires_grad=True)
    state0_t = to_torch_state(state0) if with_state else None
    out_t, state_T_t = module(x_t, state0_t)
    loss = (out_t * torch.tensor(dhs)).sum()
    for s_t, ds in zip(flat(state_T_t), flat(dstate_T)):
        loss = loss + (s_t[0] * torch.tensor(ds)).sum()
    loss.backward()

    assert hs.shape == (N, T, H)
    assert_close(hs, out_t, "outputs")
    assert_close(state_T, [s[0] for s in flat(state_T_t)], "final state")
    assert_close(dx, x_t.grad, "dx")
    if with_state:
        assert_close(dstate0, [s.grad[0] for s in flat(state0_t)], "dstate0")
    for key, name in [("W_ih", "weight_ih_l0"), ("W_hh", "weight_hh_l0"), ("b_ih", "bias_ih_l0"), ("b_hh", "bias_hh_l0")]:
        assert_close(grads[key], getattr(module, name).grad, f"grad {key}")
    assert list(grads) == list(params)


@pytest.mark.parametrize("cell, options", VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize("upstream_state", [True, False], ids=["dstate", "no-dstate"])
def test_step_matches_torch_cell(cell, options, upstream_state):
    N, D, H = 3, 4, 5
    rng = np.random.default_rng(1)
    torch.manual_seed(1)
    module = TORCH_CELLS[cell](D, H, dtype=torch.float64, **options)
    params = params_from_torch(module)
    x = rng.standard_normal((N, D))
    state = random_state(cell, rng, N, H)
    dh_next = rng.standard_normal((N, H))
    dstate_next = random_state(cell, rng, N, H) if upstream_state else None

    h, state_next, cache = CELL_MODULES[cell].step_forward(x, state, params, **options)
    dx, dstate, grads = CELL_MODULES[cell].step_backward(dh_next, dstate_next, cache)

    x_t = torch.tensor(x, requires_grad=True)
    state_t = to_torch_state(state, layer_dim=False)
    out_t = module(x_t, state_t)
    h_t = out_t[0] if cell == "lstm" else out_t
    loss = (h_t * torch.tensor(dh_next)).sum()
    if upstream_state:
        for s_t, ds in zip(flat(out_t), flat(dstate_next)):
            loss = loss + (s_t * torch.tensor(ds)).sum()
    loss.backward()

    assert_close(h, h_t, "h_next")
    assert_close(state_next, flat(out_t), "state_next")
    assert_close(dx, x_t.grad, "dx")
    assert_close(dstate, [s.grad for s in flat(state_t)], "dstate")
    for key, name in [("W_ih", "weight_ih"), ("W_hh", "weight_hh"), ("b_ih", "bias_ih"), ("b_hh", "bias_hh")]:
        assert_close(grads[key], getattr(module, name).grad, f"grad {key}")


@pytest.mark.parametrize("cell, options", VARIANTS, ids=VARIANT_IDS)
def test_forward_equals_repeated_steps(cell, options):
    module = CELL_MODULES[cell]
    rng = np.random.default_rng(2)
    params = init_params(cell, 3, 4, rng)
    x = rng.standard_normal((2, 6, 3))
    hs, state_T, _ = module.forward(x, None, params, **options)
    state = None
    for t in range(6):
        h, state, _ = module.step_forward(x[:, t], state, params, **options)
        np.testing.assert_allclose(hs[:, t], h, rtol=1e-13, atol=1e-15)
    for a, b in zip(flat(state_T), flat(state)):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


def _cell_inputs(cell, rng, N, D, H, T=None):
    inputs = {"x": rng.standard_normal((N, D) if T is None else (N, T, D))}
    state = random_state(cell, rng, N, H)
    if cell == "lstm":
        inputs["h0"], inputs["c0"] = state
    else:
        inputs["h0"] = state
    inputs.update(init_params(cell, D, H, rng))
    # larger weights than the default init so that the nonlinearities are exercised
    for key in ("W_ih", "W_hh", "b_ih", "b_hh"):
        inputs[key] *= 2.0
    return inputs


def _split(cell, x, h0, c0=None, **params):
    return x, ((h0, c0) if cell == "lstm" else h0), params


def _named(cell, dx, dstate, grads):
    named = {"x": dx, **grads}
    if cell == "lstm":
        named["h0"], named["c0"] = dstate
    else:
        named["h0"] = dstate
    return named


@pytest.mark.parametrize("cell, options", VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize("pair", ["sequence", "step"])
def test_backward_vs_finite_differences(cell, options, pair):
    """forward/backward (over T = 5 steps) and step_forward/step_backward against finite differences."""
    module = CELL_MODULES[cell]
    forward, backward = (module.forward, module.backward) if pair == "sequence" else (module.step_forward, module.step_backward)
    shape = dict(N=2, D=3, H=4, T=5) if pair == "sequence" else dict(N=3, D=2, H=3)
    inputs = _cell_inputs(cell, np.random.default_rng(3 if pair == "sequence" else 4), **shape)

    def forward_fn(**kw):
        x, state, params = _split(cell, **kw)
        hs, state_next, cache = forward(x, state, params, **options)
        return (hs, state_next), cache

    def backward_fn(dout, cache):
        dh, dstate = dout  # backward(dhs, cache, dstate_T), step_backward(dh_next, dstate_next, cache)
        return _named(cell, *(backward(dh, cache, dstate) if pair == "sequence" else backward(dh, dstate, cache)))

    errors = gradcheck.check_gradients(forward_fn, backward_fn, inputs)
    assert set(errors) == set(inputs)
    assert max(errors.values()) <= TOL_NUMERIC, errors


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_long_sequence_stays_finite(cell):
    rng = np.random.default_rng(5)
    params = init_params(cell, 4, 8, rng)
    x = 3.0 * rng.standard_normal((2, 2000, 4))
    hs, state_T, cache = CELL_MODULES[cell].forward(x, None, params)
    dx, dstate0, grads = CELL_MODULES[cell].backward(np.ones_like(hs), cache)
    for array in [hs, dx, *flat(state_T), *flat(dstate0), *grads.values()]:
        assert np.all(np.isfinite(array))
    # the gates keep the hidden state bounded: |h| <= 1
    assert np.abs(hs).max() <= 1.0


def test_float32_stays_float32():
    rng = np.random.default_rng(6)
    for cell, module in CELL_MODULES.items():
        params = init_params(cell, 3, 4, rng, dtype=np.float32)
        x = rng.standard_normal((2, 5, 3)).astype(np.float32)
        hs, _, cache = module.forward(x, None, params)
        dx, _, grads = module.backward(np.ones_like(hs), cache)
        assert hs.dtype == dx.dtype == grads["W_hh"].dtype == np.float32, cell


@pytest.mark.parametrize("cell, options", VARIANTS, ids=VARIANT_IDS)
def test_unroll_is_the_cells_loop(cell, options):
    """unroll.forward/backward over a cell (module or name) give the cell's forward/backward, and
    equal the step functions called by hand, with the weight gradients summed over steps."""
    N, T, D, H = 2, 4, 3, 5
    rng = np.random.default_rng(7)
    params = init_params(cell, D, H, rng)
    module = CELL_MODULES[cell]
    x, dhs = rng.standard_normal((N, T, D)), rng.standard_normal((N, T, H))
    hs, state_T, cache = unroll.forward(module, x, None, params, **options)
    dx, dstate0, grads = unroll.backward(cell, dhs, cache)
    hs2, _, cache2 = module.forward(x, None, params, **options)
    assert np.array_equal(hs, hs2)
    assert all(np.array_equal(a, b) for a, b in zip(flat(dx), flat(module.backward(dhs, cache2)[0])))
    # the same loop written out by hand
    state, caches = None, []
    for t in range(T):
        h, state, step_cache = module.step_forward(x[:, t], state, params, **options)
        assert np.array_equal(h, hs[:, t])
        caches.append(step_cache)
    dstate, total = None, {k: 0 for k in params}
    for t in reversed(range(T)):
        dx_t, dstate, step_grads = module.step_backward(dhs[:, t], dstate, caches[t])
        assert np.allclose(dx_t, dx[:, t], rtol=0, atol=1e-14)
        total = {k: total[k] + step_grads[k] for k in total}
    for a, b in zip(flat(dstate), flat(dstate0)):
        assert np.array_equal(a, b)
    for k in params:
        assert np.allclose(total[k], grads[k], rtol=0, atol=1e-13)
