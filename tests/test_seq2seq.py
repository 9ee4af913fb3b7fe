"""rnnlib.nn.Seq2Seq: shapes, padding, masks, decoding (greedy, beam search) and that attention attends.

The independent checks: the encoder's annotations of a sequence are the same alone and in a
padded batch; beam search is compared with brute-force enumeration of every output sequence;
attention weights follow the encoder states when those are perturbed or permuted.
"""

import itertools

import pytest
import torch

from rnnlib.nn import Seq2Seq, length_mask, reverse_padded

V_SRC, V_TGT = 9, 7
ATTENTIONS = [None, "additive", "dot"]


def make_model(attention="additive", cell="gru", bidirectional=True, seed=0, **kwargs):
    torch.manual_seed(seed)
    model = Seq2Seq(V_SRC, V_TGT, embedding_dim=6, hidden_size=5, attention=attention, cell=cell,
                    bidirectional=bidirectional, **kwargs).double()
    return model.eval()


def batch(seed=0, N=4, S=7, T=5):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.tensor([S, 3, 5, 1][:N])
    src = torch.randint(3, V_SRC, (N, S), generator=g)
    src = src.masked_fill(~length_mask(lengths, S), 0)
    tgt_in = torch.randint(3, V_TGT, (N, T), generator=g)
    tgt_in[:, 0] = 1
    return src, lengths, tgt_in


@pytest.mark.parametrize("attention", ATTENTIONS)
@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_shapes(attention, cell):
    model = make_model(attention, cell)
    src, lengths, tgt_in = batch()
    logits, weights = model(src, lengths, tgt_in)
    assert logits.shape == (4, 5, V_TGT)
    assert (weights is None) == (attention is None)
    if weights is not None:
        assert weights.shape == (4, 5, 7)
    tokens, greedy_weights = model.greedy_decode(src, lengths, max_len=6)
    assert tokens.shape[0] == 4 and tokens.shape[1] <= 6
    if attention is not None:
        assert greedy_weights.shape == (4, tokens.shape[1], 7)
    encoded = model.encode(src, lengths)
    assert encoded.memory.shape == (4, 7, 10) and encoded.summary.shape == (4, 10)


def test_reverse_padded_reverses_within_length():
    x = torch.tensor([[1, 2, 3, 0], [4, 5, 0, 0]])
    out = reverse_padded(x, torch.tensor([3, 2]))
    assert out.tolist() == [[3, 2, 1, 0], [5, 4, 0, 0]]
    features = torch.randn(2, 4, 3)
    torch.testing.assert_close(reverse_padded(reverse_padded(features, torch.tensor([3, 2])), torch.tensor([3, 2])), features)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_encoder_ignores_padding(cell):
    """Each sequence encoded alone (no padding) == the same sequence inside a padded batch."""
    model = make_model("additive", cell)
    src, lengths, _ = batch()
    encoded = model.encode(src, lengths)
    for n in range(src.shape[0]):
        L = int(lengths[n])
        alone = model.encode(src[n : n + 1, :L], lengths[n : n + 1])
        torch.testing.assert_close(encoded.memory[n, :L], alone.memory[0])
        torch.testing.assert_close(encoded.summary[n], alone.summary[0])
    # the summary is [last forward state; backward state at the first token]
    torch.testing.assert_close(encoded.summary[1, :5], encoded.memory[1, 2, :5])
    torch.testing.assert_close(encoded.summary[1, 5:], encoded.memory[1, 0, 5:])


@pytest.mark.parametrize("attention", ["additive", "dot"])
def test_padding_gets_exactly_zero_weight_and_changes_nothing(attention):
    model = make_model(attention)
    src, lengths, tgt_in = batch()
    logits, weights = model(src, lengths, tgt_in)
    padding = ~length_mask(lengths, src.shape[1])
    assert (weights.masked_select(padding[:, None, :].expand_as(weights)) == 0).all()
    torch.testing.assert_close(weights.sum(-1), torch.ones(4, 5, dtype=weights.dtype))
    # more padding, or other ids at padded positions, leaves the outputs unchanged
    wider = torch.cat([src, torch.zeros(4, 3, dtype=src.dtype)], dim=1)
    garbage = wider.masked_fill(~length_mask(lengths, 10), 5)
    for other in (wider, garbage):
        other_logits, other_weights = model(other, lengths, tgt_in)
        torch.testing.assert_close(other_logits, logits)
        torch.testing.assert_close(other_weights[:, :, :7], weights)
        assert (other_weights[:, :, 7:] == 0).all()


@pytest.mark.parametrize("attention", ["additive", "dot"])
def test_decoder_attends_to_encoder_outputs(attention):
    """Changing the encoder outputs changes the weights, the context and the prediction.

    A decoder whose "attention" weights are computed from its own state and input alone (the
    bug of a popular tutorial) fails the first and the last check: its weights ignore the
    annotations, so they neither move when one annotation changes nor follow a permutation.
    """
    model = make_model(attention)
    src, lengths, _ = batch()
    encoded = model.encode(src, lengths)
    state = model.initial_state(encoded)
    y = torch.full((4,), 1)
    context, weights = model.context(state, encoded)
    logits, _, _ = model.decode_step(y, state, encoded)

    changed = type(encoded)(**vars(encoded))
    changed.memory = encoded.memory.clone()
    changed.memory[:, 0] += 1.0  # position 0 is a real token in every sequence
    projection = model.key_projection if attention == "dot" else model.attention.project_keys
    changed.keys = projection(changed.memory)
    context2, weights2 = model.context(state, changed)
    logits2, _, _ = model.decode_step(y, state, changed)
    for a, b in ((context, context2), (logits, logits2)):
        assert (a - b).abs().amax(dim=-1).min() > 1e-6  # changed in every sequence of the batch
    # the weights change wherever there is a choice (the fourth source has a single token)
    assert (weights - weights2)[:3].abs().amax(dim=-1).min() > 1e-6
    assert (weights[3] == weights2[3]).all() and weights[3, 0] == 1

    # content-based addressing: permuting the annotations permutes the weights, keeps the context
    perm = torch.tensor([2, 0, 1])
    first = type(encoded)(encoded.memory[:1, :3], encoded.mask[:1, :3], encoded.summary[:1], encoded.keys[:1, :3])
    permuted = type(encoded)(first.memory[:, perm], first.mask[:, perm], first.summary, first.keys[:, perm])
    c1, w1 = model.context(state[:1], first)
    c2, w2 = model.context(state[:1], permuted)
    torch.testing.assert_close(w2, w1[:, perm])
    torch.testing.assert_close(c2, c1)


def test_changing_one_source_token_changes_the_prediction_through_attention():
    model = make_model("additive")
    src, lengths, tgt_in = batch()
    logits, weights = model(src, lengths, tgt_in)
    other = src.clone()
    other[0, 3] = 3 if src[0, 3] != 3 else 4
    logits2, weights2 = model(other, lengths, tgt_in)
    assert not torch.allclose(logits[0], logits2[0]) and not torch.allclose(weights[0], weights2[0])
    torch.testing.assert_close(logits[1:], logits2[1:])  # the other sequences are untouched


def _score(model, src, lengths, tokens):
    """log p(tokens | src) by teacher forcing, with <pad>/<bos> excluded as in decoding."""
    tgt_in = torch.tensor([[model.bos_id] + tokens[:-1]])
    logits, _ = model(src, lengths, tgt_in)
    logits[..., [model.pad_id, model.bos_id]] = -float("inf")
    log_probs = torch.log_softmax(logits[0], dim=-1)
    return float(log_probs[torch.arange(len(tokens)), torch.tensor(tokens)].sum().detach())


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_beam_of_one_is_greedy(attention):
    model = make_model(attention, seed=1)
    src, lengths, _ = batch(seed=2)
    tokens, _ = model.greedy_decode(src, lengths, max_len=6)
    hyps = model.beam_search(src, lengths, beam_size=1, max_len=6)
    for n, hyp in enumerate(hyps):
        row = tokens[n].tolist()
        greedy = row[: row.index(model.eos_id) + 1] if model.eos_id in row else row
        assert hyp.tokens == greedy
        assert hyp.score == pytest.approx(_score(model, src[n : n + 1], lengths[n : n + 1], greedy), abs=1e-9)


@pytest.mark.parametrize("attention", [None, "additive"])
def test_beam_search_finds_the_best_sequence_by_enumeration(attention):
    """Target vocabulary: pad, bos, eos and 2 symbols; every output of at most 3 tokens is scored."""
    torch.manual_seed(0)
    model = Seq2Seq(V_SRC, 5, embedding_dim=4, hidden_size=3, attention=attention).double().eval()
    # sharpen the output layer so that sequences differ clearly in probability
    with torch.no_grad():
        model.output.weight.mul_(4.0)
    src, lengths, _ = batch(seed=3)
    max_len, symbols, eos = 3, [3, 4], model.eos_id
    for n in range(src.shape[0]):
        s, l = src[n : n + 1], lengths[n : n + 1]
        candidates = [[eos]]
        for k in range(1, max_len):
            candidates += [list(p) + [eos] for p in itertools.product(symbols, repeat=k)]
        candidates += [list(p) for p in itertools.product(symbols, repeat=max_len)]
        scores = {tuple(c): _score(model, s, l, c) for c in candidates}
        best = max(scores, key=scores.get)
        exact = model.beam_search(s, l, beam_size=2**max_len, max_len=max_len)[0]
        assert tuple(exact.tokens) == best
        assert exact.score == pytest.approx(scores[best], abs=1e-9)
        small = model.beam_search(s, l, beam_size=2, max_len=max_len)[0]
        assert small.score == pytest.approx(scores[tuple(small.tokens)], abs=1e-9)
        assert small.score <= scores[best] + 1e-12


def test_beam_search_weights_have_one_row_per_token():
    model = make_model("additive")
    src, lengths, _ = batch()
    hyp = model.beam_search(src[:2], lengths[:2], beam_size=3, max_len=4)[1]
    assert hyp.weights.shape == (len(hyp.tokens), 7)
    assert (hyp.weights[:, 3:] == 0).all()  # the second source has 3 tokens


def test_training_reduces_the_loss():
    from rnnlib.train import fit

    torch.manual_seed(0)
    model = Seq2Seq(V_SRC, V_SRC, embedding_dim=8, hidden_size=8, attention="additive")
    g = torch.Generator().manual_seed(0)
    src = torch.randint(3, V_SRC, (32, 4), generator=g)
    lengths = torch.full((32,), 4)
    target = src.flip(1)
    tgt_in = torch.cat([torch.ones(32, 1, dtype=torch.long), target], 1)
    tgt_out = torch.cat([target, torch.full((32, 1), 2)], 1)

    def loss_fn(model, b):
        logits, _ = model(b[0], b[1], b[2])
        return torch.nn.functional.cross_entropy(logits.flatten(0, 1), b[3].flatten(), ignore_index=0)

    history = fit(model, [(src, lengths, tgt_in, tgt_out)], loss_fn, optimizer=torch.optim.Adam(model.parameters(), 0.03),
                  epochs=40, progress=False, device="cpu")
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]


def test_bad_input_is_named():
    model = make_model()
    src, lengths, tgt_in = batch()
    with pytest.raises(TypeError, match="src must have an integer dtype"):
        model(src.double(), lengths, tgt_in)
    with pytest.raises(ValueError, match=r"src_lengths must lie in \[1, 7\]"):
        model(src, lengths + 1, tgt_in)
    with pytest.raises(ValueError, match="src_lengths must have shape"):
        model(src, lengths[:2], tgt_in)
    with pytest.raises(ValueError, match="tgt_in must have shape"):
        model(src, lengths, tgt_in[:2])
    with pytest.raises(ValueError, match="attention must be one of"):
        Seq2Seq(5, 5, attention="multiplicative")
    with pytest.raises(ValueError, match="beam_size must be an int >= 1"):
        model.beam_search(src, lengths, beam_size=0, max_len=3)


def test_token_ids_and_special_ids_are_checked():
    model = make_model()
    src, lengths, tgt_in = batch()
    bad_src = src.clone()
    bad_src[0, 0] = model.src_vocab_size  # used to reach nn.Embedding as "index out of range in self"
    with pytest.raises(ValueError, match=r"src must hold token ids in \[0, \d+\]"):
        model(bad_src, lengths, tgt_in)
    with pytest.raises(ValueError, match=r"src must hold token ids"):
        model.greedy_decode(bad_src, lengths, max_len=3)
    bad_tgt = tgt_in.clone()
    bad_tgt[1, 1] = -1
    with pytest.raises(ValueError, match=r"tgt_in must hold token ids in \[0, \d+\]"):
        model(src, lengths, bad_tgt)
    with pytest.raises(ValueError, match=r"bos_id must be a token id in \[0, 4\] \(tgt_vocab_size=5\), got 5"):
        Seq2Seq(5, 5, bos_id=5)
    with pytest.raises(ValueError, match="eos_id and pad_id must be different token ids"):
        Seq2Seq(5, 5, eos_id=0)  # decoding would never end: <eos> would read as padding
    with pytest.raises(TypeError, match="pad_id must be an int"):
        Seq2Seq(5, 5, pad_id=0.0)
