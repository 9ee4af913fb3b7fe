"""The compiled LSTM time loop (rnnlib/nn/csrc/lstm_loop.cpp) against the Python loop of fast.py.

The module-level parity tests (tests/test_nn_recurrent.py: against torch.nn, the readable cells
and finite differences) run whichever loop is in use, the compiled one where it is built (as in
CI); here the two loops are compared directly, and the build and the switches are checked.
"""

import os
import subprocess
import sys

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnlib.nn import compiled, fast

needs_compiled = pytest.mark.skipif(
    not compiled.lstm_loop_available(torch.empty(0)), reason=f"compiled loop not in use: {compiled.status()}"
)


def lstm_inputs(T, N, D, H, dtype, bias=True, seed=0):
    gen = torch.Generator().manual_seed(seed)
    shapes = [(T, N, D), (N, H), (N, H), (4 * H, D), (4 * H, H)] + ([(4 * H,), (4 * H,)] if bias else [])
    tensors = [torch.randn(*shape, generator=gen, dtype=dtype).requires_grad_() for shape in shapes]
    return tensors + ([] if bias else [None, None])


def outputs_and_grads(inputs, reverse, loss="weighted"):
    """(hs, c_T) and the gradients of a loss of them with respect to every input tensor."""
    hs, c_last = fast._LSTM.apply(*inputs, reverse)
    if loss == "weighted":  # every output and the final cell state matter
        gen = torch.Generator().manual_seed(1)
        value = (hs * torch.randn(hs.shape, generator=gen, dtype=hs.dtype)).sum() + (c_last * c_last).sum()
    else:  # sum(hs): autograd passes a broadcast gradient, and none for c_T
        value = hs.sum()
    leaves = [t for t in inputs if t is not None]
    return [hs, c_last, *torch.autograd.grad(value, leaves)]


def max_rel_diff(first, second):
    return max(((a - b).abs().max() / b.abs().max().clamp_min(1e-30)).item() for a, b in zip(first, second))


@needs_compiled
@settings(max_examples=25, deadline=None)
@given(T=st.integers(1, 6), N=st.integers(1, 5), D=st.integers(1, 4), H=st.integers(1, 9),
       reverse=st.booleans(), bias=st.booleans(), loss=st.sampled_from(["weighted", "sum"]))
def test_compiled_loop_equals_python_loop_float64(T, N, D, H, reverse, bias, loss):
    inputs = lstm_inputs(T, N, D, H, torch.float64, bias)
    with compiled.python_loop():
        expected = outputs_and_grads(inputs, reverse, loss)
    assert max_rel_diff(outputs_and_grads(inputs, reverse, loss), expected) <= 1e-12


@needs_compiled
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("shape", [(5, 32, 28, 256), (3, 7, 5, 20)])  # oneDNN's product (float32), any width
def test_compiled_loop_equals_python_loop_float32(shape, reverse):
    inputs = lstm_inputs(*shape, torch.float32)
    with compiled.python_loop():
        expected = outputs_and_grads(inputs, reverse)
    assert max_rel_diff(outputs_and_grads(inputs, reverse), expected) <= 1e-4


@needs_compiled
def test_backward_twice_with_retain_graph_gives_the_same_gradients():
    """The compiled backward reads the saved activations without overwriting them."""
    inputs = lstm_inputs(4, 3, 2, 5, torch.float64)
    hs, c_last = fast._LSTM.apply(*inputs, False)
    loss = hs.pow(2).sum() + c_last.sum()
    first = torch.autograd.grad(loss, inputs, retain_graph=True)
    second = torch.autograd.grad(loss, inputs)
    assert all(torch.equal(a, b) for a, b in zip(first, second))


@needs_compiled
def test_the_compiled_op_rejects_other_dtypes_by_name():
    gates = torch.zeros(2, 1, 4, dtype=torch.float16)
    state = torch.zeros(3, 1, 1, dtype=torch.float16)
    with pytest.raises(RuntimeError, match="float32 or float64 expected, got Half"):
        torch.ops.rnnlib.lstm_forward_loop(gates, state, state.clone(), torch.zeros(2, 1, 1, dtype=torch.float16),
                                           torch.zeros(4, 1, dtype=torch.float16), False)


@needs_compiled
def test_the_compiled_op_names_a_mismatched_shape():
    gates, state, tanh_c = torch.zeros(2, 1, 8), torch.zeros(3, 1, 2), torch.zeros(2, 1, 2)
    with pytest.raises(RuntimeError, match=r"weight_hh \[8, 3\] must be \(4H, H\) with H = 2"):
        torch.ops.rnnlib.lstm_forward_loop(gates, state, state.clone(), tanh_c, torch.zeros(8, 3), False)


def test_only_float32_and_float64_cpu_tensors_use_the_compiled_loop():
    assert not compiled.lstm_loop_available(torch.empty(0, dtype=torch.bfloat16))
    assert not compiled.lstm_loop_available(torch.empty(0, dtype=torch.float16))
    with compiled.python_loop():
        assert not compiled.lstm_loop_available(torch.empty(0))
        assert compiled.status().startswith("Python (compiled loop not used: inside python_loop()")
    # the context manager restores what was there
    assert compiled.status() != "Python (compiled loop not used: inside python_loop())"


def test_the_loop_is_compiled_wherever_a_compiler_is_found():
    """`make venv` builds it; CI (with g++) must therefore run the compiled loop, not fall back."""
    if any(os.environ.get(var) for var in ("ATEN_CPU_CAPABILITY", "RNNLIB_COMPILED")):
        pytest.skip("the environment switches the compiled loop off")
    if compiled._compiler() is None:
        pytest.skip("no C++ compiler here: rnnlib uses the Python loop")
    assert compiled.status() == "compiled (csrc/lstm_loop.cpp)"


@pytest.mark.parametrize("variable, value", [("RNNLIB_COMPILED", "0"), ("ATEN_CPU_CAPABILITY", "default")])
def test_environment_switches_select_the_python_loop(variable, value):
    switches = ("RNNLIB_COMPILED", "ATEN_CPU_CAPABILITY")
    env = {name: setting for name, setting in os.environ.items() if name not in switches} | {variable: value}
    out = subprocess.run([sys.executable, "-c", "import rnnlib.nn.compiled as c; print(c.status())"],
                         env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert out == f"Python (compiled loop not used: {variable}={value} is set)"


@pytest.fixture
def scratch_build(tmp_path, monkeypatch):
    """compiled.build() pointed at a copy of the source in a temporary directory."""
    source = tmp_path / "csrc" / "lstm_loop.cpp"
    source.parent.mkdir()
    source.write_text(compiled.SOURCE.read_text())
    monkeypatch.setattr(compiled, "SOURCE", source)
    monkeypatch.setattr(compiled, "BUILD_DIR", source.parent / "build")
    return source


def test_a_failed_build_says_why_and_leaves_no_library(scratch_build):
    if compiled._compiler() is None:
        pytest.skip("no C++ compiler here")
    scratch_build.write_text(scratch_build.read_text() + "\nthis is not C++;\n")
    with pytest.raises(RuntimeError, match="building the compiled LSTM loop failed"):
        compiled.build(verbose=False)
    assert list(compiled.BUILD_DIR.iterdir()) == []  # neither the library nor a temporary file


def test_an_unusable_compiler_is_named(scratch_build, monkeypatch):
    monkeypatch.setenv("CXX", "no-such-compiler-here")
    with pytest.raises(RuntimeError, match="CXX='no-such-compiler-here' is set but is not an executable"):
        compiled.build(verbose=False)
    assert not compiled.library_path().exists()


def test_the_library_name_follows_the_source_and_torch(scratch_build):
    before = compiled.library_path()
    assert torch.__version__.replace("+", "_") in before.name
    scratch_build.write_text(scratch_build.read_text() + "\n// changed\n")
    assert compiled.library_path() != before  # a changed source is never loaded from a stale build


@needs_compiled
def test_either_backward_loop_reads_what_the_compiled_forward_saved():
    """Backward picks its loop when it runs (under torch's FLOP counter it must be the Python
    one, whatever ran the forward): both read the same saved activations."""
    inputs = lstm_inputs(4, 3, 2, 5, torch.float64)
    hs, c_last = fast._LSTM.apply(*inputs, True)  # compiled forward
    with compiled.python_loop():
        mixed = torch.autograd.grad(hs.sum() + c_last.sum(), inputs)
        hs, c_last = fast._LSTM.apply(*inputs, True)
        python = torch.autograd.grad(hs.sum() + c_last.sum(), inputs)
    assert max_rel_diff(mixed, python) <= 1e-12


@needs_compiled
def test_torch_flop_counter_sees_every_product_of_the_lstm():
    """Under a TorchDispatchMode the Python loop runs, so the per-step products are counted."""
    from torch.utils.flop_counter import FlopCounterMode

    T, N, D, H = 5, 3, 7, 11
    inputs = lstm_inputs(T, N, D, H, torch.float32)
    with FlopCounterMode(display=False) as counter:
        fast._LSTM.apply(*inputs, False)
    assert counter.get_total_flops() == 2 * T * N * 4 * H * (D + H)
