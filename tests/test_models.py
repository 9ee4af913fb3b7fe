"""rnnlib.nn.models: CharLM and SequenceRegressor (shapes, math, bad input, sampling, training)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnnlib.nn.models import CharLM, SequenceRegressor
from rnnlib.train import fit




def _numpy_char_rnn(model, ids):
    """Reference forward of a one-hot, one-layer tanh CharLM, written step by step in NumPy."""
    p = {k: v.detach().double().numpy() for k, v in model.state_dict().items()}
    N, T = ids.shape
    h = np.zeros((N, model.hidden_size))
    logits = np.empty((N, T, model.vocab_size))
    for t in range(T):
        # one-hot x_t times W_ih^T is column x_t of W_ih
        h = np.tanh(p["rnn.weight_ih_l0"][:, ids[:, t]].T + p["rnn.bias_ih_l0"] + h @ p["rnn.weight_hh_l0"].T + p["rnn.bias_hh_l0"])
        logits[:, t] = h @ p["head.weight"].T + p["head.bias"]
    return logits


def test_one_hot_char_rnn_matches_the_recurrence_written_out():
    torch.manual_seed(0)
    model = CharLM(7, 5).double()
    ids = torch.randint(0, 7, (3, 6))
    logits, h = model(ids)
    expected = _numpy_char_rnn(model, ids.numpy())
    np.testing.assert_allclose(logits.detach().numpy(), expected, rtol=1e-10, atol=1e-12)
    assert h.shape == (1, 3, 5)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("embedding_dim", [None, 4])
def test_char_lm_shapes_and_state_carry_over(cell, embedding_dim):
    torch.manual_seed(0)
    model = CharLM(11, 8, cell=cell, num_layers=2, embedding_dim=embedding_dim).double()
    ids = torch.randint(0, 11, (3, 10))
    logits, state = model(ids)
    assert logits.shape == (3, 10, 11)
    hidden = state[0] if cell == "lstm" else state
    assert hidden.shape == (2, 3, 8)
    if cell == "lstm":
        assert isinstance(state, tuple) and state[1].shape == (2, 3, 8)
    # reading the sequence in two halves, carrying the state, is the same as reading it at once
    first, state_half = model(ids[:, :4])
    second, state_end = model(ids[:, 4:], state_half)
    torch.testing.assert_close(torch.cat([first, second], 1), logits)
    torch.testing.assert_close(state_end, state)


def test_char_lm_one_hot_versus_embedding_parameter_count():
    one_hot = CharLM(10, 6)
    embedded = CharLM(10, 6, embedding_dim=3)
    assert one_hot.rnn.weight_ih_l0.shape == (6, 10)
    assert embedded.rnn.weight_ih_l0.shape == (6, 3)
    assert embedded.embedding.weight.shape == (10, 3)
    assert one_hot.embedding is None


def test_char_lm_rejects_bad_input():
    model = CharLM(5, 4)
    with pytest.raises(TypeError, match="x must have an integer dtype"):
        model(torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"x must have shape \(N, T\).*got \(6,\)"):
        model(torch.zeros(6, dtype=torch.long))
    with pytest.raises(ValueError, match=r"token ids in \[0, 4\].*got values in \[0, 5\]"):
        model(torch.tensor([[0, 5]]))
    with pytest.raises(ValueError, match=r"state must have shape \(1, 2, 4\).*got \(2, 4\)"):
        model(torch.zeros(2, 3, dtype=torch.long), torch.zeros(2, 4))
    lstm = CharLM(5, 4, cell="lstm")
    with pytest.raises(TypeError, match=r"state must be a tuple \(h, c\)"):
        lstm(torch.zeros(2, 3, dtype=torch.long), torch.zeros(1, 2, 4))
    with pytest.raises(ValueError, match="cell must be one of 'rnn', 'lstm', 'gru', got 'transformer'"):
        CharLM(5, 4, cell="transformer")
    with pytest.raises(ValueError, match="dropout must be a number in"):
        CharLM(5, 4, dropout=1.5)
    with pytest.raises(TypeError, match="vocab_size must be an int"):
        CharLM(5.0, 4)


def test_sampling_is_seeded_deterministic_and_restores_mode():
    torch.manual_seed(0)
    model = CharLM(6, 8)
    model.train()
    draws = [model.sample([1, 2], 30, generator=torch.Generator().manual_seed(s)) for s in (3, 3, 4)]
    assert draws[0] == draws[1]
    assert draws[0] != draws[2]
    assert len(draws[0]) == 30 and all(0 <= t < 6 for t in draws[0])
    assert model.training
    assert model.sample(torch.tensor([0]), 0) == []


def test_greedy_sampling_follows_the_argmax_of_the_model():
    torch.manual_seed(1)
    model = CharLM(6, 8, cell="gru", embedding_dim=3)
    out = model.sample([4, 1], 5, temperature=0)
    ids = [4, 1]
    for _ in range(5):
        logits, _ = model(torch.tensor([ids]))
        ids.append(int(logits[0, -1].argmax()))
    assert out == ids[2:]


def test_low_temperature_sharpens_the_distribution():
    torch.manual_seed(0)
    model = CharLM(4, 8)
    greedy = model.sample([0], 40, temperature=0)
    cold = model.sample([0], 40, temperature=1e-3, generator=torch.Generator().manual_seed(0))
    assert cold == greedy


def test_sample_rejects_bad_arguments():
    model = CharLM(5, 4)
    with pytest.raises(ValueError, match="prefix_ids must hold at least one token id"):
        model.sample([], 3)
    with pytest.raises(TypeError, match="prefix_ids must have an integer dtype"):
        model.sample([0.5], 3)
    with pytest.raises(ValueError, match="temperature must be a finite number >= 0, got -1"):
        model.sample([0], 3, temperature=-1)
    with pytest.raises(ValueError, match="length must be an int >= 0"):
        model.sample([0], -2)
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        model.sample([0], 2, generator=0)


def _next_char_loss(model, batch):
    x, y = batch
    logits, _ = model(x)
    return F.cross_entropy(logits.flatten(0, 1), y.flatten())


def test_char_lm_overfits_a_periodic_string(one_thread):
    period = torch.tensor([0, 1, 2, 3, 2, 1])
    text = period.repeat(20)
    x = torch.stack([text[i : i + 12] for i in range(0, 96, 3)])
    y = torch.stack([text[i + 1 : i + 13] for i in range(0, 96, 3)])
    model = CharLM(4, 16, embedding_dim=8)
    history = fit(model, torch.utils.data.TensorDataset(x, y), _next_char_loss,
                  optimizer=torch.optim.Adam(model.parameters(), lr=0.02), epochs=60, batch_size=16,
                  progress=False, device="cpu", seed=0)
    assert history.train_loss[0] == pytest.approx(np.log(4), abs=0.3)
    # after "2" the next character depends on the one before it: the state must carry context
    assert history.train_loss[-1] < 0.05
    assert model.sample([0, 1, 2, 3], 8, temperature=0) == [2, 1, 0, 1, 2, 3, 2, 1]


def test_sequence_regressor_matches_last_hidden_state_written_out():
    torch.manual_seed(0)
    model = SequenceRegressor(2, 5, output_size=3).double()
    x = torch.randn(4, 7, 2, dtype=torch.float64)
    p = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    h = np.zeros((4, 5))
    for t in range(7):
        h = np.tanh(x[:, t].numpy() @ p["rnn.weight_ih_l0"].T + p["rnn.bias_ih_l0"] + h @ p["rnn.weight_hh_l0"].T + p["rnn.bias_hh_l0"])
    expected = h @ p["head.weight"].T + p["head.bias"]
    np.testing.assert_allclose(model(x).detach().numpy(), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_sequence_regressor_shapes(cell):
    model = SequenceRegressor(3, 6, cell=cell, num_layers=2, output_size=2)
    assert model(torch.randn(5, 9, 3)).shape == (5, 2)


def test_sequence_regressor_rejects_bad_input():
    model = SequenceRegressor(1, 4)
    with pytest.raises(ValueError, match=r"x must have shape \(N, T, 1\) \(batch_first\), got \(5, 8\)"):
        model(torch.randn(5, 8))
    with pytest.raises(TypeError, match="x must have a floating-point dtype"):
        model(torch.ones(5, 8, 1, dtype=torch.long))
    with pytest.raises(TypeError, match="x must have the model's dtype"):
        model(torch.ones(5, 8, 1, dtype=torch.float64))
    with pytest.raises(ValueError, match="nonlinearity applies to cell='rnn' only"):
        SequenceRegressor(1, 4, cell="lstm", nonlinearity="relu")
    with pytest.raises(ValueError, match="nonlinearity must be one of 'tanh', 'relu', got 'sigmoid'"):
        SequenceRegressor(1, 4, nonlinearity="sigmoid")


def test_sequence_regressor_learns_the_mean_of_a_sequence(one_thread):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(256, 6, 1, generator=g)
    y = x.mean(dim=1)
    model = SequenceRegressor(1, 16)

    def mse(model, batch):
        return F.mse_loss(model(batch[0]), batch[1])

    history = fit(model, torch.utils.data.TensorDataset(x, y), mse,
                  optimizer=torch.optim.Adam(model.parameters(), lr=0.01), epochs=40, batch_size=32,
                  progress=False, device="cpu", seed=0)
    # predicting the overall mean would leave the variance of the mean of 6 uniforms, 1/72
    assert history.train_loss[-1] < 0.1 / 72


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_models_run_on_cuda_and_a_cpu_generator_gives_the_cpu_samples():
    torch.manual_seed(0)
    model = CharLM(6, 8, cell="lstm").double()
    cpu_draw = model.sample([1, 2], 20, generator=torch.Generator().manual_seed(0))
    model.cuda()
    logits, (h, c) = model(torch.tensor([[1, 2]], device="cuda"))
    assert logits.device.type == h.device.type == "cuda"
    assert model.sample([1, 2], 20, generator=torch.Generator().manual_seed(0)) == cpu_draw
    regressor = SequenceRegressor(1, 4, cell="gru").cuda()
    assert regressor(torch.zeros(2, 5, 1, device="cuda")).device.type == "cuda"
