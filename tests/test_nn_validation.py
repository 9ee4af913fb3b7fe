"""Bad input to rnnlib.nn raises ValueError/TypeError naming the argument, what came and what was expected.

Also: the source of rnnlib.nn never calls torch's recurrent modules or fused RNN kernels.
"""

import ast
import pathlib
import re

import pytest
import torch

import rnnlib.nn as rnn


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda: rnn.LSTM(8.0, 4), TypeError, "input_size must be an int, got float 8.0"),
        (lambda: rnn.GRU(8, "4"), TypeError, "hidden_size must be an int, got str '4'"),
        (lambda: rnn.RNN(8, 0), ValueError, "hidden_size must be an int >= 1, got 0"),
        (lambda: rnn.LSTM(8, 4, num_layers=0), ValueError, "num_layers must be an int >= 1, got 0"),
        (lambda: rnn.RNN(8, 4, nonlinearity="sigmoid"), ValueError, "nonlinearity must be one of 'tanh', 'relu', got 'sigmoid'"),
        (lambda: rnn.RNNCell(8, 4, nonlinearity="gelu"), ValueError, "nonlinearity must be one of 'tanh', 'relu', got 'gelu'"),
        (lambda: rnn.LSTM(8, 4, num_layers=2, dropout=1.5), ValueError, r"dropout must be a number in \[0, 1\), got 1.5"),
        (lambda: rnn.GRU(8, 4, num_layers=2, dropout=-0.1), ValueError, r"dropout must be a number in \[0, 1\), got -0.1"),
        (lambda: rnn.LSTM(8, 4, bidirectional="yes"), TypeError, "bidirectional must be True or False, got str 'yes'"),
        (lambda: rnn.GRU(8, 4, batch_first=1), TypeError, "batch_first must be True or False, got int 1"),
        (lambda: rnn.LSTMCell(8, 4, bias=None), TypeError, "bias must be True or False, got NoneType None"),
        (lambda: rnn.LSTM(8, 4, nonlinearity="relu"), ValueError, "nonlinearity applies to RNN and RNNCell only"),
        (lambda: rnn.GRUCell(8, 4, nonlinearity="relu"), ValueError, "nonlinearity applies to RNN and RNNCell only"),
        (lambda: rnn.GRU(8, 4, impl="cuda"), ValueError, "impl must be one of 'fast', 'readable', got 'cuda'"),
    ],
)
def test_bad_constructor_arguments(make, error, message):
    with pytest.raises(error, match=message):
        make()


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_x_of_wrong_rank_or_feature_size(name):
    module = getattr(rnn, name)(8, 4)
    with pytest.raises(ValueError, match=re.escape(r"x must have shape (N, T, 8) (batch_first=True), got (5, 8)")):
        module(torch.randn(5, 8))
    with pytest.raises(ValueError, match=re.escape(r"x must have shape (N, T, 8) (batch_first=True), got (2, 5, 7)")):
        module(torch.randn(2, 5, 7))
    time_major = getattr(rnn, name)(8, 4, batch_first=False)
    with pytest.raises(ValueError, match=re.escape(r"x must have shape (T, N, 8) (batch_first=False), got (2, 5, 3, 8)")):
        time_major(torch.randn(2, 5, 3, 8))


def test_x_not_a_float_tensor():
    module = rnn.GRU(3, 4)
    with pytest.raises(TypeError, match="x must be a torch.Tensor, got ndarray"):
        import numpy as np

        module(np.zeros((2, 5, 3), dtype=np.float32))
    with pytest.raises(TypeError, match="x must have a floating-point dtype .* got torch.int64"):
        module(torch.zeros(2, 5, 3, dtype=torch.long))


def test_x_with_empty_sequence():
    with pytest.raises(ValueError, match=re.escape("x must have at least one sequence and one time step, got shape (2, 0, 3)")):
        rnn.LSTM(3, 4)(torch.zeros(2, 0, 3))


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"])
def test_dtype_mismatch_with_parameters(name):
    module = getattr(rnn, name)(3, 4)
    x = torch.randn(2, 3, dtype=torch.float64) if name.endswith("Cell") else torch.randn(2, 5, 3, dtype=torch.float64)
    with pytest.raises(TypeError, match=re.escape("x must have the same dtype as the parameters (torch.float32), got torch.float64")):
        module(x)


def test_state_dtype_mismatch():
    module = rnn.GRU(3, 4)
    with pytest.raises(TypeError, match=re.escape("state must have the same dtype as the parameters (torch.float32), got torch.float64")):
        module(torch.randn(2, 5, 3), torch.zeros(1, 2, 4, dtype=torch.float64))


@pytest.mark.parametrize("name", ["RNN", "GRU"])
def test_wrong_state_shape(name):
    module = getattr(rnn, name)(3, 4, num_layers=2, bidirectional=True)
    expected = "state must have shape (4, 2, 4) (num_layers * num_directions, N, hidden_size), got (2, 2, 4)"
    with pytest.raises(ValueError, match=re.escape(expected)):
        module(torch.randn(2, 5, 3), torch.zeros(2, 2, 4))
    # the batch size must be the one of x
    with pytest.raises(ValueError, match=re.escape("state must have shape (4, 2, 4)")):
        module(torch.randn(2, 5, 3), torch.zeros(4, 3, 4))


def test_gru_state_given_as_tuple():
    with pytest.raises(TypeError, match=re.escape("state must be a tensor h of shape (1, 2, 4) for GRU, got a tuple of length 2")):
        rnn.GRU(3, 4)(torch.randn(2, 5, 3), (torch.zeros(1, 2, 4), torch.zeros(1, 2, 4)))


def test_lstm_state_not_a_tuple():
    module = rnn.LSTM(3, 4)
    with pytest.raises(TypeError, match=re.escape("state must be a tuple (h, c) for LSTM, each of shape (1, 2, 4), got a Tensor")):
        module(torch.randn(2, 5, 3), torch.zeros(1, 2, 4))
    with pytest.raises(TypeError, match=re.escape("got a tuple of length 3")):
        module(torch.randn(2, 5, 3), (torch.zeros(1, 2, 4),) * 3)


def test_lstm_cell_state_of_wrong_shape():
    module = rnn.LSTMCell(3, 4)
    with pytest.raises(ValueError, match=re.escape("state[1] (c) must have shape (2, 4) (N = 2 from x), got (2, 5)")):
        module(torch.randn(2, 3), (torch.zeros(2, 4), torch.zeros(2, 5)))


def test_cell_x_of_wrong_shape():
    with pytest.raises(ValueError, match=re.escape("x must have shape (N, 3), got (2, 5, 3)")):
        rnn.GRUCell(3, 4)(torch.randn(2, 5, 3))


# ---------------------------------------------------------------------------------------------
# The source itself: no torch.nn.RNN/LSTM/GRU (or their cells), no torch._VF, no fused *_cell

NN_SOURCE = pathlib.Path(rnn.__file__).parent
FORBIDDEN_ATTRIBUTE = re.compile(r"^(RNN|LSTM|GRU)(Cell)?$|^_VF$|^(rnn_tanh|rnn_relu|lstm|gru)(_cell)?$|_cell$|^_thnn_fused|^mkldnn_rnn|^cudnn_rnn")
TORCH_NAMES = {"torch", "nn", "F", "functional", "_VF"}


def _root_name(node):
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def forbidden_uses(source):
    """Attribute uses like nn.LSTM / torch._VF.lstm / F.lstm_cell, and imports of them, in Python source."""
    hits = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and _root_name(node) in TORCH_NAMES and FORBIDDEN_ATTRIBUTE.search(node.attr):
            hits.append(ast.unparse(node))
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("torch"):
            hits += [f"from {node.module} import {a.name}" for a in node.names if FORBIDDEN_ATTRIBUTE.search(a.name)]
        if isinstance(node, ast.Import):
            hits += [a.name for a in node.names if "_VF" in a.name]
    return hits


def test_checker_catches_forbidden_calls():
    bad = "import torch\nfrom torch import nn\nfrom torch.nn import LSTM\nnn.GRU(1, 2)\ntorch._VF.lstm(x)\ntorch.nn.functional.gru_cell(x)\n"
    assert set(forbidden_uses(bad)) == {
        "from torch.nn import LSTM", "nn.GRU", "torch._VF", "torch._VF.lstm", "torch.nn.functional.gru_cell"
    }
    assert forbidden_uses("from rnnlib.nn import LSTM\nself.lstm = LSTM(3, 4)\nnn.Linear(3, 4)\n") == []


@pytest.mark.parametrize("path", sorted(NN_SOURCE.rglob("*.py")), ids=lambda p: p.name)
def test_rnnlib_nn_source_calls_no_torch_rnn(path):
    source = path.read_text()
    assert forbidden_uses(source) == []
    # also as plain text, in case of getattr(torch, "_VF") and the like
    assert "_VF" not in source


def test_own_modules_are_checked():
    names = {p.name for p in NN_SOURCE.rglob("*.py")}
    assert {"cells.py", "recurrent.py", "__init__.py"} <= names
