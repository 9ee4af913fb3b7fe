"""SequenceTagger: shapes, causality of the one-way model, use of the future by the two-way one."""

import pytest
import torch

from rnnlib.nn import SequenceTagger


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_shapes(cell, bidirectional):
    torch.manual_seed(0)
    model = SequenceTagger(12, 4, 8, cell=cell, bidirectional=bidirectional, num_layers=2)
    x = torch.randint(0, 12, (3, 7))
    logits = model(x)
    assert logits.shape == (3, 7, 4)
    assert model.predict(x).shape == (3, 7)
    assert model.head.in_features == (16 if bidirectional else 8)


def _dependence_on_later_tokens(model, t):
    """Gradient norm of the logits at position t w.r.t. the embeddings of tokens after t."""
    x = torch.randint(0, 10, (2, 9))
    emb = model.embedding(x).detach().requires_grad_(True)
    hs, _ = model.rnn(emb)
    model.head(hs)[:, t].sum().backward()
    return emb.grad[:, t + 1 :].abs().sum().item(), emb.grad[:, : t + 1].abs().sum().item()


@pytest.mark.parametrize("num_layers", [1, 2])
def test_one_way_tagger_is_causal_and_two_way_is_not(num_layers):
    torch.manual_seed(1)
    one_way = SequenceTagger(10, 3, 6, cell="lstm", bidirectional=False, num_layers=num_layers)
    future, past = _dependence_on_later_tokens(one_way, t=4)
    assert future == 0.0 and past > 0.0
    two_way = SequenceTagger(10, 3, 6, cell="lstm", bidirectional=True, num_layers=num_layers)
    future, past = _dependence_on_later_tokens(two_way, t=4)
    assert future > 0.0 and past > 0.0


def test_two_way_matches_torch_bidirectional_lstm():
    # with weights copied into torch.nn.LSTM the tagger's logits are torch's
    torch.manual_seed(2)
    model = SequenceTagger(10, 3, 5, cell="lstm", bidirectional=True, num_layers=2).double()
    reference = torch.nn.LSTM(5, 5, num_layers=2, batch_first=True, bidirectional=True).double()
    reference.load_state_dict(model.rnn.state_dict(), strict=True)
    x = torch.randint(0, 10, (4, 6))
    expected = model.head(reference(model.embedding(x))[0])
    torch.testing.assert_close(model(x), expected)


@pytest.mark.parametrize(
    "x, error, match",
    [
        (torch.zeros(2, 3), TypeError, "x must have an integer dtype"),
        (torch.zeros(2, 3, 1, dtype=torch.int64), ValueError, "x must have shape"),
        (torch.full((2, 3), 12), ValueError, r"token ids in \[0, 9\]"),
        (torch.zeros(2, 0, dtype=torch.int64), ValueError, "at least one time step"),
    ],
)
def test_bad_input(x, error, match):
    model = SequenceTagger(10, 3, 4)
    with pytest.raises(error, match=match):
        model(x)


def test_bad_arguments():
    with pytest.raises(ValueError, match="cell must be one of"):
        SequenceTagger(10, 3, 4, cell="transformer")
    with pytest.raises(TypeError, match="bidirectional must be a bool"):
        SequenceTagger(10, 3, 4, bidirectional="yes")
    with pytest.raises(ValueError, match="hidden_size must be an int >= 1"):
        SequenceTagger(10, 3, 0)
