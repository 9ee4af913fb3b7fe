"""The reversal task: targets are the sources reversed, seeded and disjoint splits, padded batches."""

import numpy as np
import pytest
import torch

from rnnlib.data import BOS_ID, EOS_ID, PAD_ID, Seq2SeqBatches, Vocab, pad_sequences, reversal_pairs, reversal_splits


def test_pairs_are_reversals_with_lengths_and_symbols_in_range():
    pairs, vocab = reversal_pairs(500, np.random.default_rng(0), min_len=5, max_len=45, num_symbols=12)
    lengths = np.array([len(s) for s, _ in pairs])
    assert lengths.min() == 5 and lengths.max() == 45  # 500 draws cover both ends
    for source, target in pairs:
        assert target == list(reversed(source))
        assert set(source) <= set("abcdefghijkl")
    assert len(vocab) == 3 + 12 and vocab.itos[:3] == ["<pad>", "<bos>", "<eos>"]


def test_seeded_and_disjoint_splits():
    a, _ = reversal_splits(300, 50, 80, rng=3, min_len=2, max_len=3, num_symbols=4)
    b, _ = reversal_splits(300, 50, 80, rng=3, min_len=2, max_len=3, num_symbols=4)
    assert a == b
    # with only 4**2 + 4**3 = 80 possible sources, later splits must drop repeats
    train = {tuple(s) for s, _ in a["train"]}
    val = {tuple(s) for s, _ in a["val"]}
    test = {tuple(s) for s, _ in a["test"]}
    assert not (train & val) and not (train & test) and not (val & test)
    assert len(a["train"]) == 300 and len(a["test"]) < 80


def test_vocab_round_trip_and_errors():
    vocab = Vocab("xyz")
    ids = vocab.encode(list("zyx"))
    assert ids == [5, 4, 3]
    assert vocab.decode(ids + [EOS_ID, 3, PAD_ID]) == list("zyx")  # stops at <eos>
    with pytest.raises(ValueError, match="unknown tokens"):
        vocab.encode(["w"])
    with pytest.raises(ValueError, match="distinct"):
        Vocab("xx")


def test_pad_sequences():
    array, lengths = pad_sequences([[4, 5, 6], [7]])
    np.testing.assert_array_equal(array, [[4, 5, 6], [7, PAD_ID, PAD_ID]])
    np.testing.assert_array_equal(lengths, [3, 1])
    with pytest.raises(ValueError, match="non-empty"):
        pad_sequences([[1], []])


def test_batches_teacher_forcing_layout_and_each_example_once_per_pass():
    pairs, vocab = reversal_pairs(103, np.random.default_rng(1), min_len=3, max_len=20, num_symbols=6)
    batches = Seq2SeqBatches(pairs, vocab, batch_size=10, rng=0)
    assert len(batches) == 11
    seen = []
    for src, src_len, tgt_in, tgt_out in batches:
        assert src.dtype == torch.int64 and src.shape[0] == tgt_in.shape[0] <= 10
        assert int(src_len.max()) == src.shape[1]
        # bucketing: lengths in a batch are close (sorted, then cut into batches)
        assert int(src_len.max() - src_len.min()) <= 6
        for n in range(src.shape[0]):
            length = int(src_len[n])
            source = src[n, :length].tolist()
            assert (src[n, length:] == PAD_ID).all()
            target = source[::-1]
            assert tgt_in[n, : length + 1].tolist() == [BOS_ID] + target
            assert tgt_out[n, : length + 1].tolist() == target + [EOS_ID]
            assert (tgt_out[n, length + 1 :] == PAD_ID).all()
            seen.append(tuple(source))
    assert sorted(seen) == sorted(tuple(vocab.encode(s)) for s, _ in pairs)
    # a second pass has a new order; a new object with the same rng seed replays the first
    first = [b[0].tolist() for b in Seq2SeqBatches(pairs, vocab, 10, rng=0)]
    second = [b[0].tolist() for b in batches]
    assert first != second
    assert first == [b[0].tolist() for b in Seq2SeqBatches(pairs, vocab, 10, rng=0)]


def test_argument_errors():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="max_len must be >= min_len"):
        reversal_pairs(5, rng, min_len=6, max_len=5)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator or an int seed"):
        reversal_pairs(5, None)
    with pytest.raises(ValueError, match="num_symbols must be <= 52"):
        reversal_pairs(5, rng, num_symbols=60)
    with pytest.raises(ValueError, match="pairs must be a non-empty"):
        Seq2SeqBatches([], Vocab("ab"), 4)
