"""Parameter exchange with torch and PyTorch's default initialisation."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from rnnlib.scratch import init_params, params_from_torch, params_to_torch, stacked_params_from_torch

GATES = {"rnn": 1, "lstm": 4, "gru": 3}
TORCH_LAYERS = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}


def test_importing_scratch_does_not_import_torch():
    code = "import rnnlib.scratch, sys; assert 'torch' not in sys.modules, 'torch was imported'"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("cell", list(GATES))
def test_params_from_torch_copies_every_layer_and_direction(cell):
    module = TORCH_LAYERS[cell](3, 5, num_layers=2, bidirectional=True, batch_first=True)
    for layer in range(2):
        for reverse in (False, True):
            params = params_from_torch(module, layer, reverse)
            suffix = f"_l{layer}" + ("_reverse" if reverse else "")
            assert params["W_ih"].shape == (GATES[cell] * 5, 3 if layer == 0 else 10)
            for key, name in [("W_ih", "weight_ih"), ("W_hh", "weight_hh"), ("b_ih", "bias_ih"), ("b_hh", "bias_hh")]:
                assert params[key].dtype == np.float64
                np.testing.assert_array_equal(params[key], getattr(module, name + suffix).detach().double().numpy())
    # a copy: changing it leaves the module alone
    params = params_from_torch(module)
    params["W_hh"][:] = 0
    assert module.weight_hh_l0.abs().sum() > 0


def test_params_from_torch_cell_and_no_bias():
    cell = torch.nn.LSTMCell(4, 2)
    params = params_from_torch(cell)
    np.testing.assert_array_equal(params["W_hh"], cell.weight_hh.detach().numpy())
    no_bias = torch.nn.GRU(4, 2, bias=False)
    params = params_from_torch(no_bias)
    assert params["b_ih"].shape == (6,) and not params["b_ih"].any()


@pytest.mark.parametrize("cell", list(GATES))
def test_params_round_trip(cell):
    rng = np.random.default_rng(0)
    module = TORCH_LAYERS[cell](3, 4, num_layers=2, bidirectional=True, dtype=torch.float64)
    params = init_params(cell, 8, 4, rng)
    returned = params_to_torch(params, module, layer=1, reverse=True)
    assert returned is module
    back = params_from_torch(module, layer=1, reverse=True)
    for key in params:
        np.testing.assert_array_equal(back[key], params[key])
    # other layers untouched
    assert not np.array_equal(params_from_torch(module, 1)["W_hh"], params["W_hh"])


def test_params_to_torch_rejects_wrong_shape_and_nonzero_bias():
    module = torch.nn.RNN(3, 4)
    params = init_params("rnn", 3, 5, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"params\['W_ih'\] must have shape \(4, 3\).*got \(5, 3\)"):
        params_to_torch(params, module)
    no_bias = torch.nn.RNN(3, 4, bias=False)
    params = init_params("rnn", 3, 4, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"params\['b_ih'\] must be zero for a module built with bias=False"):
        params_to_torch(params, no_bias)


def test_stacked_params_from_torch_layout():
    module = torch.nn.GRU(3, 4, num_layers=3, bidirectional=True)
    layers = stacked_params_from_torch(module)
    assert len(layers) == 3 and all(len(pair) == 2 for pair in layers)
    np.testing.assert_array_equal(layers[2][1]["W_ih"], module.weight_ih_l2_reverse.detach().numpy())
    assert len(stacked_params_from_torch(torch.nn.LSTM(3, 4, num_layers=2))) == 2


def test_bad_layer_and_direction():
    module = torch.nn.LSTM(3, 4, num_layers=2)
    with pytest.raises(ValueError, match=r"layer must be in \[0, 2\) for a module with num_layers=2, got 2"):
        params_from_torch(module, layer=2)
    with pytest.raises(ValueError, match="reverse=True needs a bidirectional module"):
        params_from_torch(module, reverse=True)
    with pytest.raises(ValueError, match="a cell module has one layer"):
        params_from_torch(torch.nn.GRUCell(3, 4), layer=1)
    with pytest.raises(TypeError, match="module must be a torch.nn.Module.*got dict"):
        params_from_torch({"W_ih": 1})


@pytest.mark.parametrize("cell", list(GATES))
def test_init_params_shapes_bounds_and_distribution(cell):
    D, H = 7, 64  # >= 4000 values per cell: the bands below are > 5 standard errors wide
    params = init_params(cell, D, H, np.random.default_rng(0))
    G = GATES[cell]
    assert {k: v.shape for k, v in params.items()} == {
        "W_ih": (G * H, D), "W_hh": (G * H, H), "b_ih": (G * H,), "b_hh": (G * H,)}
    bound = 1 / np.sqrt(H)
    values = np.concatenate([v.ravel() for v in params.values()])
    assert np.abs(values).max() <= bound
    # U(-k, k) has mean 0 and variance k^2 / 3 (several thousand samples: a loose band)
    assert abs(values.mean()) < 0.05 * bound
    assert values.var() == pytest.approx(bound**2 / 3, rel=0.1)
    # same statistics as torch's own init
    torch_values = torch.cat([p.detach().ravel() for p in TORCH_LAYERS[cell](D, H).parameters()]).numpy()
    assert np.abs(torch_values).max() <= bound
    assert values.var() == pytest.approx(torch_values.var(), rel=0.15)


def test_init_params_bad_arguments():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"cell must be one of 'rnn', 'lstm', 'gru'.*got 'transformer'"):
        init_params("transformer", 3, 4, rng)
    with pytest.raises(ValueError, match="hidden_size must be an int >= 1, got 0"):
        init_params("rnn", 3, 0, rng)
    with pytest.raises(TypeError, match="rng must be a np.random.Generator.*got int"):
        init_params("rnn", 3, 4, 0)
    assert init_params("gru", 3, 4, rng, dtype=np.float32)["W_ih"].dtype == np.float32
    # the cell module itself names the cell too
    from rnnlib.scratch import lstm
    assert init_params(lstm, 3, 4, rng)["W_hh"].shape == (16, 4)
