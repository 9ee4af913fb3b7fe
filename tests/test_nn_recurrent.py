"""rnnlib.nn RNN/LSTM/GRU and cells against torch.nn (the oracle), in float64.

Parity means: load_state_dict(strict=True) works both ways, and outputs, final states and the
gradients of the input, the initial state and every parameter agree to relative error 1e-10.
"""

import math
import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils._python_dispatch import TorchDispatchMode

import rnnlib.nn as rnn

TOL = 1e-10



KINDS = ["RNN_TANH", "RNN_RELU", "LSTM", "GRU"]


def rel_error(a, b):
    """||a - b|| / max(||a||, ||b||), 0 when both are zero."""
    scale = max(a.norm().item(), b.norm().item())
    return 0.0 if scale == 0 else (a - b).norm().item() / scale


def module_pair(kind, input_size, hidden_size, load_from="torch", device="cpu", cell=False, impl="fast", **kwargs):
    """(ours, torch's) with identical float64 weights; load_from says which one is the source."""
    name = kind.split("_")[0] + ("Cell" if cell else "")
    if not cell:
        kwargs.setdefault("batch_first", True)  # torch.nn's default is False, ours True
    if kind.startswith("RNN"):
        kwargs["nonlinearity"] = kind.split("_")[1].lower()
    ours = getattr(rnn, name)(input_size, hidden_size, impl=impl, **kwargs).double().to(device)
    ref = getattr(torch.nn, name)(input_size, hidden_size, **kwargs).double().to(device)
    if load_from == "torch":
        ours.load_state_dict(ref.state_dict(), strict=True)
    else:
        ref.load_state_dict(ours.state_dict(), strict=True)
    return ours, ref


def assert_close(a, b, atol):
    assert a.shape == b.shape
    assert (a - b).abs().max().item() <= atol


def run_and_grad(module, x, state, cotangents):
    """Forward, then the gradients of a random linear function of every output."""
    x = x.detach().clone().requires_grad_(True)
    if state is not None:
        state = tuple(s.detach().clone().requires_grad_(True) for s in state)
        call_state = state if len(state) == 2 else state[0]
        out = module(x, call_state)
    else:
        out = module(x)
    outs = out if isinstance(out, tuple) else (out,)
    flat = []
    for o in outs:
        flat.extend(o if isinstance(o, tuple) else (o,))
    loss = sum((o * c).sum() for o, c in zip(flat, cotangents))
    inputs = [x] + list(state or []) + list(module.parameters())
    grads = torch.autograd.grad(loss, inputs)
    return flat, grads


def assert_parity(ours, ref, x, state):
    with torch.no_grad():
        shapes = [o.shape for o in run_shapes(ref, x, state)]
    gen = torch.Generator(device="cpu").manual_seed(1)
    cotangents = [torch.randn(s, generator=gen, dtype=torch.float64).to(x.device) for s in shapes]
    out_ours, grads_ours = run_and_grad(ours, x, state, cotangents)
    out_ref, grads_ref = run_and_grad(ref, x, state, cotangents)
    assert len(out_ours) == len(out_ref)
    for a, b in zip(out_ours, out_ref):
        assert a.shape == b.shape
        assert rel_error(a, b) <= TOL
    for a, b in zip(grads_ours, grads_ref):
        assert a.shape == b.shape
        assert rel_error(a, b) <= TOL


def run_shapes(module, x, state):
    out = module(x) if state is None else module(x, state if len(state) == 2 else state[0])
    outs = out if isinstance(out, tuple) else (out,)
    flat = []
    for o in outs:
        flat.extend(o if isinstance(o, tuple) else (o,))
    return flat


def make_inputs(kind, N, T, D, H, num_states, with_state, batch_first=True, device="cpu", seed=0):
    gen = torch.Generator().manual_seed(seed)
    shape = (N, T, D) if batch_first else (T, N, D)
    x = torch.randn(shape, generator=gen, dtype=torch.float64).to(device)
    if not with_state:
        return x, None
    n_states = 2 if kind == "LSTM" else 1
    state = tuple(torch.randn((num_states, N, H), generator=gen, dtype=torch.float64).to(device) for _ in range(n_states))
    return x, state


SHAPES = [(3, 5, 4, 6), (1, 1, 3, 2)]  # (N, T, D, H): D != H, and N = 1 with T = 1


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("num_layers", [1, 2, 3])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("shape", SHAPES)
def test_sequence_matches_torch(kind, num_layers, bidirectional, with_state, batch_first, shape):
    N, T, D, H = shape
    # alternate which side is the source of the weights, so both directions are exercised
    load_from = "torch" if (num_layers + bidirectional + with_state) % 2 else "rnnlib"
    ours, ref = module_pair(
        kind, D, H, load_from, num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first
    )
    x, state = make_inputs(kind, N, T, D, H, num_layers * (2 if bidirectional else 1), with_state, batch_first)
    assert_parity(ours, ref, x, state)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("load_from", ["torch", "rnnlib"])
def test_sequence_without_bias_matches_torch(kind, load_from):
    ours, ref = module_pair(kind, 3, 4, load_from, num_layers=2, bidirectional=True, bias=False)
    assert "bias_ih_l0" not in ours.state_dict()
    x, state = make_inputs(kind, 2, 6, 3, 4, 4, True)
    assert_parity(ours, ref, x, state)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_readable_matches_torch(kind, num_layers, bidirectional, with_state, bias):
    """impl="readable" (rnnlib.nn.cells, autograd) against torch.nn, as the fast path above."""
    N, T, D, H = 3, 5, 4, 6
    ours, ref = module_pair(kind, D, H, impl="readable", num_layers=num_layers, bidirectional=bidirectional, bias=bias)
    x, state = make_inputs(kind, N, T, D, H, num_layers * (2 if bidirectional else 1), with_state)
    assert_parity(ours, ref, x, state)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cell", [False, True], ids=["sequence", "cell"])
def test_fast_equals_readable(kind, bidirectional, cell):
    """The two implementations of rnnlib.nn agree with each other directly (outputs and every
    gradient), not only through torch.nn."""
    if cell and bidirectional:
        pytest.skip("cells have one direction")
    N, T, D, H = 4, 7, 3, 5
    options = {} if cell else {"num_layers": 2, "bidirectional": bidirectional}
    fast, _ = module_pair(kind, D, H, cell=cell, **options)
    readable, _ = module_pair(kind, D, H, cell=cell, impl="readable", **options)
    readable.load_state_dict(fast.state_dict())
    if cell:
        gen = torch.Generator().manual_seed(3)
        x = torch.randn(N, D, generator=gen, dtype=torch.float64)
        state = tuple(torch.randn(N, H, generator=gen, dtype=torch.float64) for _ in range(2 if kind == "LSTM" else 1))
    else:
        x, state = make_inputs(kind, N, T, D, H, 2 * (2 if bidirectional else 1), True, seed=3)
    assert_parity(fast, readable, x, state)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("impl", ["fast", "readable"])
def test_cell_matches_torch(kind, with_state, bias, shape, impl):
    N, _, D, H = shape
    ours, ref = module_pair(kind, D, H, "torch" if with_state else "rnnlib", cell=True, bias=bias, impl=impl)
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(N, D, generator=gen, dtype=torch.float64)
    state = None
    if with_state:
        state = tuple(torch.randn(N, H, generator=gen, dtype=torch.float64) for _ in range(2 if kind == "LSTM" else 1))
    assert_parity(ours, ref, x, state)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"])
def test_state_dict_and_default_init_match_torch(name):
    kwargs = {} if name.endswith("Cell") else {"num_layers": 2, "bidirectional": True}
    torch.manual_seed(123)
    ref = getattr(torch.nn, name)(5, 7, **kwargs)
    torch.manual_seed(123)
    ours = getattr(rnn, name)(5, 7, **kwargs)
    ref_sd, ours_sd = ref.state_dict(), ours.state_dict()
    assert list(ours_sd) == list(ref_sd)
    for key in ref_sd:
        # same registration order and the same U(-1/sqrt(H), 1/sqrt(H)) draws
        assert torch.equal(ours_sd[key], ref_sd[key]), key
    bound = 1 / math.sqrt(7)
    assert all(p.abs().max() <= bound for p in ours.parameters())


def test_cell_step_by_step_equals_sequence_module():
    """Unrolling LSTMCell by hand gives LSTM's outputs (same weights, one layer)."""
    torch.manual_seed(0)
    seq = rnn.LSTM(3, 5).double()
    cell = rnn.LSTMCell(3, 5).double()
    cell.load_state_dict({k[:-3]: v for k, v in seq.state_dict().items()})
    x = torch.randn(2, 4, 3, dtype=torch.float64)
    out, (h_n, c_n) = seq(x)
    h = c = torch.zeros(2, 5, dtype=torch.float64)
    for t in range(4):
        h, c = cell(x[:, t], (h, c))
        assert_close(out[:, t], h, 1e-14)
    assert_close(h_n[0], h, 1e-14)
    assert_close(c_n[0], c, 1e-14)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("impl", ["fast", "readable"])
def test_gradcheck_finite_differences(name, impl):
    """Our hand-written backward (and autograd through the readable cells) against finite
    differences, independent of torch.nn."""
    torch.manual_seed(0)
    module = getattr(rnn, name)(3, 4, num_layers=2, bidirectional=True, impl=impl).double()
    names = [n for n, _ in module.named_parameters()]
    params = [p.detach().clone().requires_grad_(True) for p in module.parameters()]
    x = torch.randn(2, 3, 3, dtype=torch.float64, requires_grad=True)
    states = [torch.randn(4, 2, 4, dtype=torch.float64, requires_grad=True) for _ in range(2 if name == "LSTM" else 1)]

    def f(x, *rest):
        state, weights = rest[: len(states)], rest[len(states) :]
        call_state = tuple(state) if name == "LSTM" else state[0]
        out, state_n = torch.func.functional_call(module, dict(zip(names, weights)), (x, call_state))
        return (out,) + (tuple(state_n) if name == "LSTM" else (state_n,))

    assert torch.autograd.gradcheck(f, (x, *states, *params), eps=1e-6, atol=1e-8, rtol=1e-6, fast_mode=True)


def test_second_derivatives_are_refused_clearly():
    module = rnn.GRU(2, 3).double()
    x = torch.randn(1, 4, 2, dtype=torch.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="do not support second derivatives"):
        torch.autograd.grad(module(x)[0].sum(), x, create_graph=True)


@pytest.mark.parametrize("kind", KINDS)
def test_readable_cells_give_second_derivatives_like_torch(kind):
    """impl="readable" is plain autograd: gradients of gradients work and match torch.nn's."""
    ours, ref = module_pair(kind, 2, 3, impl="readable")
    x = torch.randn(2, 4, 2, dtype=torch.float64)
    results = []
    for module in (ours, ref):
        xr = x.clone().requires_grad_(True)
        (dx,) = torch.autograd.grad(module(xr)[0].pow(2).sum(), xr, create_graph=True)
        results.append(torch.autograd.grad(dx.pow(2).sum(), xr)[0])
    assert rel_error(*results) <= TOL


def test_dropout_between_layers_only():
    torch.manual_seed(0)
    ours, ref = module_pair("LSTM", 4, 6, num_layers=2, dropout=0.5)
    x, _ = make_inputs("LSTM", 3, 7, 4, 6, 2, False)
    ours.eval(), ref.eval()
    out_eval, (h_eval, c_eval) = ours(x)
    assert_close(out_eval, ref(x)[0], 1e-12)
    ours.train()
    out_train, (h_train, c_train) = ours(x)
    assert torch.isfinite(out_train).all()
    assert (out_train - out_eval).abs().max() > 1e-3
    # the first layer reads x undropped: its final state is the same in train and eval mode
    assert_close(h_train[0], h_eval[0], 1e-14)
    assert (h_train[1] - h_eval[1]).abs().max() > 1e-3


def test_dropout_not_after_last_layer():
    with pytest.warns(UserWarning, match="no effect with num_layers=1"):
        module = rnn.GRU(4, 6, dropout=0.3).double()
    x = torch.randn(2, 5, 4, dtype=torch.float64)
    module.train()
    out_train, _ = module(x)
    module.eval()
    assert_close(out_train, module(x)[0], 0)


@settings(max_examples=20, deadline=None)
@given(
    kind=st.sampled_from(KINDS),
    N=st.integers(1, 4),
    T=st.integers(1, 6),
    D=st.integers(1, 5),
    H=st.integers(1, 5),
    num_layers=st.integers(1, 3),
    bidirectional=st.booleans(),
    with_state=st.booleans(),
    batch_first=st.booleans(),
    impl=st.sampled_from(["fast", "readable"]),
)
def test_property_parity_over_shapes(kind, N, T, D, H, num_layers, bidirectional, with_state, batch_first, impl):
    ours, ref = module_pair(kind, D, H, num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first,
                            impl=impl)
    x, state = make_inputs(kind, N, T, D, H, num_layers * (1 + bidirectional), with_state, batch_first)
    assert_parity(ours, ref, x, state)
    out, _ = ours(x)
    expected = (N, T, H * (1 + bidirectional)) if batch_first else (T, N, H * (1 + bidirectional))
    assert out.shape == expected


@pytest.mark.parametrize("name", ["LSTM", "GRU"])
def test_long_sequence_stays_finite(name):
    torch.manual_seed(0)
    module = getattr(rnn, name)(3, 8)
    x = (3 * torch.randn(2, 2000, 3)).requires_grad_(True)
    out, state = module(x)
    loss = out.pow(2).mean()
    loss.backward()
    assert out.shape == (2, 2000, 8) and torch.isfinite(out).all()
    assert torch.isfinite(x.grad).all() and all(torch.isfinite(p.grad).all() for p in module.parameters())


def test_float32_and_dtype_conversion():
    module = rnn.GRU(3, 4)
    assert module.weight_ih_l0.dtype == torch.float32
    out, h = module(torch.randn(2, 5, 3))
    assert out.dtype == torch.float32 and h.shape == (1, 2, 4)
    module.double()
    out, h = module(torch.randn(2, 5, 3, dtype=torch.float64))
    assert out.dtype == torch.float64


FORBIDDEN_OPS = ("lstm", "gru", "rnn", "_cell", "_thnn_fused")


class _RecordOps(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.ops = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops.add(func.name())
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU", "LSTMCell", "GRUCell", "RNNCell"])
@pytest.mark.parametrize("impl", ["fast", "readable"])
def test_no_fused_rnn_kernel_is_dispatched(name, impl):
    """Every aten op run in forward and backward is a primitive (mm, sigmoid, ...), none an RNN kernel."""
    module = getattr(rnn, name)(3, 4, impl=impl)
    x = torch.randn(2, 3, requires_grad=True) if name.endswith("Cell") else torch.randn(2, 5, 3, requires_grad=True)
    with _RecordOps() as recorder:
        out = module(x)
        first = out[0] if isinstance(out, tuple) else out
        first.sum().backward()
    assert {"aten::addmm.out", "aten::mm.out", "aten::addmm", "aten::mm"} & recorder.ops
    assert _fused_ops(recorder.ops) == []


def test_recorder_sees_torch_fused_lstm_kernel():
    """The check above can fail: torch.nn.LSTM on CPU dispatches a fused kernel it would catch."""
    with _RecordOps() as recorder:
        torch.nn.LSTM(3, 4)(torch.randn(5, 2, 3))
    assert _fused_ops(recorder.ops) != []


def _fused_ops(ops):
    return sorted(op for op in ops if any(bad in op.split("::")[-1] for bad in FORBIDDEN_OPS))


# ---------------------------------------------------------------------------------------------
# CUDA: the same parity checks on a GPU


cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")


@pytest.mark.cuda
@cuda
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_sequence_matches_torch_cuda(kind, bidirectional):
    ours, ref = module_pair(kind, 4, 6, device="cuda", num_layers=2, bidirectional=bidirectional)
    x, state = make_inputs(kind, 3, 5, 4, 6, 2 * (1 + bidirectional), True, device="cuda")
    assert_parity(ours, ref, x, state)
    assert ours(x)[0].device.type == "cuda"


@pytest.mark.cuda
@cuda
@pytest.mark.parametrize("kind", KINDS)
def test_cell_matches_torch_cuda(kind):
    ours, ref = module_pair(kind, 4, 6, device="cuda", cell=True)
    x = torch.randn(3, 4, dtype=torch.float64, device="cuda")
    state = tuple(torch.randn(3, 6, dtype=torch.float64, device="cuda") for _ in range(2 if kind == "LSTM" else 1))
    assert_parity(ours, ref, x, state)


@pytest.mark.cuda
@cuda
def test_float32_cuda_close_to_torch():
    ours, ref = module_pair("LSTM", 8, 16, device="cuda", num_layers=2)
    ours.float(), ref.float()
    x = torch.randn(4, 30, 8, device="cuda")
    assert_close(ours(x)[0], ref(x)[0], 1e-5)


def test_warns_nothing_on_ordinary_use():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rnn.LSTM(2, 3, num_layers=2, dropout=0.1)(torch.randn(1, 2, 2))
