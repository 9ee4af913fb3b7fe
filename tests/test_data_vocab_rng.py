"""rnnlib.data's one Vocab (and CharVocab, the same mapping over characters), and its one
convention for randomness: an argument named rng, a numpy Generator or an int seed."""

import numpy as np
import pytest
import torch

from rnnlib.data import (
    CharVocab,
    Seq2SeqBatches,
    Vocab,
    adding_problem,
    make_bias_corpus,
    make_scenes,
    reversal_pairs,
    reversal_splits,
    right_context_tagging,
    scene_splits,
    scene_vocab,
)
from rnnlib.validate import check_rng


def test_vocab_specials_encode_pad_and_decode():
    vocab = Vocab(["a", "b", "c"])
    assert vocab.itos == ["<pad>", "<bos>", "<eos>", "a", "b", "c"] and len(vocab) == 6
    assert vocab.encode(["c", "a"]) == [5, 3]
    assert vocab.encode(["c", "a"], bos_eos=True, max_len=6) == [Vocab.BOS, 5, 3, Vocab.EOS, Vocab.PAD, Vocab.PAD]
    assert vocab.decode([Vocab.BOS, 5, 3, Vocab.EOS, 4]) == ["c", "a"]  # stops at <eos>, skips <bos>
    assert vocab.decode(torch.tensor([4, 0, 4])) == ["b", "b"]
    with pytest.raises(ValueError, match="max_len must be at least 4"):
        vocab.encode(["c", "a"], bos_eos=True, max_len=3)
    with pytest.raises(ValueError, match=r"ids must be in \[0, 5\]"):
        vocab.decode([6])
    with pytest.raises(ValueError, match="specials must be"):
        Vocab(["a"], specials=("<pad>",))


def test_char_vocab_is_a_vocab_of_characters_without_specials():
    vocab = CharVocab("abcab")
    assert isinstance(vocab, Vocab) and vocab.itos == ["a", "b", "c"] and vocab.specials == ()
    assert vocab.decode(vocab.encode("cab")) == "cab"
    assert vocab.decode([0, 1, 2]) == "abc"  # ids 0-2 are characters here, not specials


def test_scene_and_reversal_vocabularies_are_vocabs():
    assert isinstance(scene_vocab(), Vocab) and scene_vocab().itos[:3] == ["<pad>", "<start>", "<end>"]
    _, vocab = reversal_pairs(3, 0)
    assert isinstance(vocab, Vocab) and vocab.itos[:3] == ["<pad>", "<bos>", "<eos>"]


def test_check_rng():
    generator = np.random.default_rng(0)
    assert check_rng(generator) is generator
    assert check_rng(7).random() == np.random.default_rng(7).random()
    with pytest.raises(ValueError, match="rng must be a numpy.random.Generator or an int seed >= 0, got -1"):
        check_rng(-1)
    with pytest.raises(TypeError, match="got bool True"):
        check_rng(True)
    with pytest.raises(TypeError, match="got float 1.5"):
        check_rng(1.5)


GENERATORS = {
    "adding_problem": lambda rng: adding_problem(4, 10, rng=rng)[0],
    "right_context_tagging": lambda rng: right_context_tagging(4, rng=rng).tokens,
    "reversal_splits": lambda rng: np.array([len(s) for s, _ in reversal_splits(20, 5, 5, rng=rng)[0]["train"]]),
    "scene_splits": lambda rng: scene_splits(4, 2, 2, 2, rng=rng)[0]["train"].images,
    "make_scenes": lambda rng: make_scenes(3, rng).images,
    "make_bias_corpus": lambda rng: np.array(make_bias_corpus(50, rng=rng).templates),
    "Seq2SeqBatches": lambda rng: np.concatenate(
        [b[0].ravel().numpy() for b in Seq2SeqBatches(reversal_pairs(30, 0)[0], reversal_pairs(30, 0)[1], 8, rng=rng)]),
}


@pytest.mark.parametrize("name", list(GENERATORS))
def test_every_data_function_takes_rng_as_a_generator_or_an_int(name):
    make = GENERATORS[name]
    assert np.array_equal(make(3), make(3))
    assert np.array_equal(make(np.random.default_rng(3)), make(np.random.default_rng(3)))
    assert not np.array_equal(make(3), make(4))
    generator = np.random.default_rng(5)
    assert not np.array_equal(make(generator), make(generator))  # a Generator's state advances
