"""rnnlib.nn.captioning: shapes, attention weights, beam 1 == greedy, the image reaches the decoder."""

import pytest
import torch

from rnnlib.nn.captioning import CaptionModel, CNNEncoder, caption_loss
from rnnlib.nn.decoding import beam_search

V, N = 12, 3


@pytest.fixture(params=[True, False], ids=["attention", "baseline"])
def model(request):
    torch.manual_seed(0)
    return CaptionModel(V, embedding_dim=8, hidden_size=16, attention=request.param, channels=(4, 8, 8)).double()


def images(seed=0, n=N):
    return torch.rand(n, 3, 32, 32, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_encoder_grid():
    features = CNNEncoder((4, 6, 8))(torch.rand(2, 3, 32, 16))
    assert features.shape == (2, 4 * 2, 8)
    with pytest.raises(ValueError, match="divisible by 8"):
        CNNEncoder()(torch.rand(2, 3, 30, 32))
    with pytest.raises(ValueError, match="images"):
        CNNEncoder()(torch.rand(2, 1, 32, 32))


def test_forward_shapes_and_weights(model):
    captions = torch.randint(0, V, (N, 7))
    logits, weights = model(images(), captions)
    assert logits.shape == (N, 7, V)
    if model.use_attention:
        assert weights.shape == (N, 7, 16)
        torch.testing.assert_close(weights.sum(-1), torch.ones(N, 7, dtype=torch.float64))
        assert (weights >= 0).all()
    else:
        assert weights is None
    loss = caption_loss(model, (images(), captions))
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())


def test_teacher_forcing_equals_stepping(model):
    # forward's logits at step t equal decode_step's fed with the same words: one recurrence
    captions = torch.randint(0, V, (N, 5))
    logits, _ = model(images(), captions)
    features = model.encode(images())
    state = model.initial_state(features)
    for t in range(5):
        step_logits, state, _ = model.decode_step(captions[:, t], state, features)
        torch.testing.assert_close(step_logits, logits[:, t])


def test_beam_one_is_greedy(model):
    tokens, weights = model.greedy_decode(images(1), max_len=9)
    beams = model.beam_search(images(1), beam_size=1, max_len=9)
    for n, hyp in enumerate(beams):
        greedy = tokens[n].tolist()
        greedy = greedy[: greedy.index(model.eos_id) + 1] if model.eos_id in greedy else greedy
        assert hyp.tokens == greedy
        if model.use_attention:
            torch.testing.assert_close(hyp.weights, weights[n, : len(greedy)])


def test_beam_search_is_exact_with_a_full_beam():
    # toy step: a fixed bigram table; with a beam as wide as the number of live prefixes (3^3),
    # the search is exhaustive, so it finds the best of every sequence up to max_len, enumerated
    torch.manual_seed(1)
    table = torch.randn(4, 4)

    def step(y, state):
        return table[y], state + 0, None

    best = beam_search(step, torch.zeros(1, 1), bos_id=1, eos_id=2, beam_size=27, max_len=4)
    log_p = torch.log_softmax(table, 1)
    import itertools

    candidates = []
    for length in range(1, 5):
        for seq in itertools.product(range(4), repeat=length):
            if 2 in seq[:-1]:
                continue
            if length < 4 and seq[-1] != 2:
                continue
            prev, score = 1, 0.0
            for tok in seq:
                score += float(log_p[prev, tok])
                prev = tok
            candidates.append((score, list(seq)))
    score, seq = max(candidates)
    assert best.tokens == seq and best.score == pytest.approx(score, abs=1e-5)


def test_image_changes_the_attention_context():
    torch.manual_seed(0)
    model = CaptionModel(V, embedding_dim=8, hidden_size=16, attention=True, channels=(4, 8, 8)).double()
    features_a, features_b = model.encode(images(0)), model.encode(images(5))
    state = model.initial_state(features_a)
    context_a, alpha_a = model.attention(state[0], features_a)
    context_b, alpha_b = model.attention(state[0], features_b)
    assert not torch.allclose(alpha_a, alpha_b)
    assert not torch.allclose(context_a, context_b)
    # and the context is the weighted average of the grid
    torch.testing.assert_close(context_a, torch.einsum("ns,nsc->nc", alpha_a, features_a))


def test_bad_input():
    with pytest.raises(TypeError, match="attention"):
        CaptionModel(V, attention="yes")
    model = CaptionModel(V)
    with pytest.raises(ValueError, match="captions_in"):
        model(torch.rand(2, 3, 32, 32), torch.zeros(3, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="beam_size"):
        model.beam_search(torch.rand(1, 3, 32, 32), beam_size=0, max_len=3)


def test_ids_are_checked_and_an_all_padding_batch_has_zero_loss():
    torch.manual_seed(0)
    model = CaptionModel(V, embedding_dim=4, hidden_size=8, channels=(4, 4, 4))
    with pytest.raises(ValueError, match=r"captions_in must hold token ids in \[0, 11\]"):
        model(torch.rand(1, 3, 32, 32), torch.tensor([[1, 3, V]]))
    with pytest.raises(ValueError, match=r"captions must hold token ids in \[0, 11\]"):
        caption_loss(model, (torch.rand(1, 3, 32, 32), torch.tensor([[1, -3, 2]])))
    with pytest.raises(ValueError, match="eos_id and pad_id must be different token ids"):
        CaptionModel(V, eos_id=0)
    with pytest.raises(ValueError, match=r"bos_id must be a token id in \[0, 11\]"):
        CaptionModel(V, bos_id=V)
    # captions that are all padding after <start>: nothing to predict, so the loss is 0, not 0 / 0
    loss = caption_loss(model, (torch.rand(2, 3, 32, 32), torch.tensor([[1, 0, 0], [1, 0, 0]])))
    loss.backward()
    assert loss.item() == 0.0 and all(torch.count_nonzero(p.grad) == 0 for p in model.parameters() if p.grad is not None)


def test_grid_summary_reads_where_each_feature_is():
    """summary="grid": the initial state sees every cell (moving a feature changes it); "mean" cannot."""
    torch.manual_seed(0)
    features = torch.randn(2, 16, 32)
    moved = features.clone()
    moved[:, [0, 5]] = features[:, [5, 0]]  # the same features, two cells swapped: the same mean
    for summary, changes in (("mean", False), ("grid", True)):
        model = CaptionModel(10, summary=summary)
        assert model.init_h.in_features == (32 if summary == "mean" else 16 * 32)
        (h, c), (h2, c2) = model.initial_state(features), model.initial_state(moved)
        assert h.shape == c.shape == (2, 64)
        assert bool(((h - h2).abs().max() > 1e-6)) == changes
        images = torch.rand(2, 3, 32, 32)
        logits, _ = model(images, torch.ones(2, 5, dtype=torch.long))
        assert logits.shape == (2, 5, 10)


def test_grid_summary_checks_its_arguments_and_the_grid():
    with pytest.raises(ValueError, match="summary must be one of 'mean', 'grid', got 'flat'"):
        CaptionModel(10, summary="flat")
    with pytest.raises(ValueError, match="grid_cells must be an int >= 1, got 0"):
        CaptionModel(10, summary="grid", grid_cells=0)
    model = CaptionModel(10, summary="grid")
    with pytest.raises(ValueError, match=r"features must have shape \(N, 16, C\) \(grid_cells=16\), got \(2, 64, 32\)"):
        model.initial_state(torch.randn(2, 64, 32))


def test_without_attention_the_context_is_one_vector_from_the_whole_grid():
    """attention=False: z = tanh(W_z vec(a) + b_z), the same at every step, and it sees every cell."""
    torch.manual_seed(0)
    model = CaptionModel(10, attention=False)
    features = torch.randn(2, 16, 32)
    moved = features.clone()
    moved[:, [0, 5]] = features[:, [5, 0]]
    z = model.fixed_context(features)
    assert z.shape == (2, 32) and (z - model.fixed_context(moved)).abs().max() > 1e-6
    state = model.initial_state(features)
    y = torch.tensor([1, 1])
    _, state1, alpha = model.decode_step(y, state, features)
    assert alpha is None
    # the step reads [E y; z]: replacing z by the same vector recomputed gives the same step
    embedded = model.embedding(y)
    expected = model.cell(torch.cat([embedded, z], dim=1), state)
    torch.testing.assert_close(state1[0], expected[0])
    with pytest.raises(ValueError, match=r"features must have shape \(N, 16, C\)"):
        model.fixed_context(torch.randn(2, 4, 32))


@pytest.mark.parametrize("attention", [True, False])
def test_in_eval_mode_an_image_is_captioned_the_same_alone_or_in_a_batch(attention):
    """Batch norm uses running statistics in eval mode: no dependence on the rest of the batch."""
    torch.manual_seed(0)
    model = CaptionModel(10, embedding_dim=8, hidden_size=16, attention=attention, channels=(4, 8, 8)).double()
    images = torch.rand(4, 3, 32, 32, dtype=torch.float64)
    model(images, torch.ones(4, 3, dtype=torch.long))  # one training-mode pass updates the running statistics
    model.eval()
    alone, _ = model.greedy_decode(images[:1], max_len=6)
    together, _ = model.greedy_decode(images, max_len=6)
    assert torch.equal(alone[0], together[0, : alone.shape[1]])
