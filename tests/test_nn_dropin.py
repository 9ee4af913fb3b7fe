"""rnnlib.nn as a drop-in for torch.nn beyond plain calls: in-place use of the outputs, and
torch.autocast (bfloat16 on CPU), each tested side by side with torch.nn, for both impls."""

import pytest
import torch

import rnnlib.nn as rnn

NAMES = ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"]
IMPLS = ["fast", "readable"]


def pair(name, dtype, impl, **kwargs):
    """(ours, torch's) with the same weights."""
    torch.manual_seed(0)
    ref = getattr(torch.nn, name)(5, 7, **({} if name.endswith("Cell") else {"batch_first": True}), **kwargs)
    ours = getattr(rnn, name)(5, 7, impl=impl, **kwargs)
    ours.load_state_dict(ref.state_dict())
    return ours.to(dtype), ref.to(dtype)


def inputs(name, dtype):
    gen = torch.Generator().manual_seed(1)
    shape = (3, 5) if name.endswith("Cell") else (3, 4, 5)
    return torch.randn(shape, generator=gen, dtype=dtype)


def tensors(out):
    """The output tensors of a module call, flattened: h, (h, c), (output, h_n) or (output, (h_n, c_n))."""
    if isinstance(out, torch.Tensor):
        return [out]
    return [t for item in out for t in tensors(item)]


def under_bf16_autocast(module, x, *state):
    """The output tensors of ``module(x, *state)`` under ``torch.autocast("cpu", bfloat16)``.

    torch.nn's LSTM runs oneDNN's LSTM primitive in bfloat16 only on CPUs that oneDNN gives a
    bfloat16 kernel (AVX-512; not under ``ONEDNN_MAX_CPU_ISA=SSE41``, ``make robust``'s other CPU).
    Elsewhere it raises "could not create a primitive descriptor" or falls back to float32, so its
    reference there is its float32 answer rounded to bfloat16, the dtype it returns where it can.
    """
    if isinstance(module, torch.nn.LSTM) and not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        return [out.to(torch.bfloat16) for out in tensors(module(x.float(), *state))]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        return tensors(module(x, *state))


def changed_in_place(module, x, changes):
    """Call module, change its outputs in place (``changes``: one function per output), then
    return the outputs and the gradients of a loss of them w.r.t. x and the parameters."""
    outs = tensors(module(x))
    for out, change in zip(outs, changes):
        change(out)
    loss = sum((out * (k + 1)).pow(2).sum() for k, out in enumerate(outs))
    return outs, torch.autograd.grad(loss, [x, *module.parameters()])


CHANGES = {
    "out.mul_(2)": lambda out: out.mul_(2),
    "out.add_(1)": lambda out: out.add_(1),
    "out[0].zero_()": lambda out: out[0].zero_(),
}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("change", list(CHANGES))
@pytest.mark.parametrize("which", [0, -1], ids=["first output", "last output"])
def test_outputs_can_be_changed_in_place(name, impl, change, which):
    """Wherever torch.nn lets an output be changed in place before backward, so does rnnlib.nn,
    with the same values and gradients (e.g. out.mul_(2) on RNN's output, h.add_(1) on LSTMCell's h)."""
    ours, ref = pair(name, torch.float64, impl, **({} if name.endswith("Cell") else {"num_layers": 2}))
    x = inputs(name, torch.float64).requires_grad_(True)
    n_outputs = len(tensors(ref(x)))
    changes = [lambda out: None] * n_outputs
    changes[which] = CHANGES[change]
    try:
        expected = changed_in_place(ref, x, changes)
    except RuntimeError as error:  # torch.nn refuses it too (e.g. RNNCell: tanh saved its output)
        assert "modified by an inplace operation" in str(error)
        return
    got = changed_in_place(ours, x, changes)
    for a, b in zip(got[0] + list(got[1]), expected[0] + list(expected[1])):
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-12)


def test_the_reported_cases_work():
    """The two cases of the report: out.mul_(2) on an RNN output, h.add_(1) on an LSTMCell output."""
    out, _ = rnn.RNN(3, 4)(torch.randn(2, 5, 3))
    out.mul_(2).sum().backward()
    h, c = rnn.LSTMCell(3, 4)(torch.randn(2, 3))
    h.add_(1).sum().backward()


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("impl", IMPLS)
def test_autocast_bfloat16_on_cpu_like_torch(name, impl):
    """Under torch.autocast("cpu", bfloat16) our modules run, give torch.nn's values to bfloat16
    precision, and backpropagate float32 gradients into the float32 parameters."""
    ours, ref = pair(name, torch.float32, impl)
    x = inputs(name, torch.float32)
    outputs, grads, dtypes = [], [], []
    for module in (ours, ref):
        outs = under_bf16_autocast(module, x)
        dtypes.append([out.dtype for out in outs])
        sum(out.float().sum() for out in outs).backward()
        outputs.append([out.float() for out in outs])
        grads.append([p.grad for p in module.parameters()])
    assert dtypes[0] == dtypes[1], dtypes  # bfloat16 for RNN, LSTM and RNNCell, float32 for the others, as torch.nn
    for a, b in zip(*outputs):
        assert (a - b).abs().max() < 0.05
    for a, b in zip(*grads):
        assert a.dtype == torch.float32
        assert (a - b).norm() <= 0.05 * b.norm() + 1e-3


@pytest.mark.parametrize("name", NAMES)
def test_autocast_accepts_bfloat16_input_and_float32_state(name):
    ours, ref = pair(name, torch.float32, "fast")
    x = inputs(name, torch.float32).bfloat16()
    h = torch.zeros((3, 7) if name.endswith("Cell") else (1, 3, 7))
    state = (h, h) if name.startswith("LSTM") else h
    for a, b in zip(under_bf16_autocast(ours, x, state), under_bf16_autocast(ref, x, state)):
        assert a.dtype == b.dtype, (a.dtype, b.dtype)
        assert (a.float() - b.float()).abs().max() < 0.05


@pytest.mark.parametrize("name", NAMES)
def test_bfloat16_input_without_autocast_is_a_clear_error(name):
    ours, _ = pair(name, torch.float32, "fast")
    with pytest.raises(TypeError, match=r"x must have the same dtype as the parameters \(torch.float32\), got torch.bfloat16"):
        ours(inputs(name, torch.float32).bfloat16())
