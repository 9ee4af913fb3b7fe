"""The skewed template corpus: skew knob, determinism, counterfactual augmentation."""

import numpy as np
import pytest

from rnnlib.data import (
    BIAS_TEMPLATES,
    OCCUPATION_FEMALE_SHARE,
    bias_prompts,
    counterfactual_augment,
    make_bias_corpus,
    skewed_share,
    swap_gender,
)


def test_share_table_is_the_bls_figures():
    assert len(OCCUPATION_FEMALE_SHARE) == 40
    assert OCCUPATION_FEMALE_SHARE["nurse"] == 0.90
    assert OCCUPATION_FEMALE_SHARE["carpenter"] == 0.02
    assert all(0 < p < 1 for p in OCCUPATION_FEMALE_SHARE.values())


def test_skewed_share_knob():
    p = np.array([0.02, 0.3, 0.5, 0.9])
    np.testing.assert_allclose(skewed_share(p, 0.0), 0.5)
    np.testing.assert_allclose(skewed_share(p, 1.0), p)
    # alpha = 2 squares the odds: p / (1 - p) = 9 -> 81, i.e. 81 / 82
    assert skewed_share(0.9, 2.0) == pytest.approx(81 / 82)
    exaggerated = skewed_share(p, 3.0)
    assert np.all(np.abs(exaggerated - 0.5) >= np.abs(p - 0.5))
    with pytest.raises(ValueError, match="alpha must be a finite number >= 0"):
        skewed_share(0.5, -1.0)
    with pytest.raises(ValueError, match="share must lie strictly between 0 and 1"):
        skewed_share(1.0, 1.0)


def test_corpus_is_seeded_and_follows_the_shares():
    a = make_bias_corpus(20000, alpha=1.0, rng=3)
    b = make_bias_corpus(20000, alpha=1.0, rng=3)
    assert a.sentences == b.sentences
    assert make_bias_corpus(200, rng=4).sentences != a.sentences[:200]
    counts = a.counts()
    for occupation, share in OCCUPATION_FEMALE_SHARE.items():
        n = counts[occupation]["female"] + counts[occupation]["male"]
        rate = counts[occupation]["female"] / n
        # binomial standard error at n ~ 500 is at most 0.023
        assert abs(rate - share) < 0.08, occupation


def test_corpus_sentences_put_the_right_pronoun():
    corpus = make_bias_corpus(300, alpha=2.0, rng=0)
    for sentence, occupation, gender, t in zip(corpus.sentences, corpus.occupations, corpus.genders, corpus.templates):
        assert sentence.startswith(f"the {occupation} ")
        words = sentence.split()
        female = {"she", "her"} & set(words)
        male = {"he", "his", "him"} & set(words)
        assert bool(female) == (gender == "female") and bool(male) == (gender == "male")
    assert set(corpus.templates) == set(range(len(BIAS_TEMPLATES)))


def test_alpha_zero_is_balanced_and_large_alpha_is_nearly_deterministic():
    balanced = make_bias_corpus(12000, alpha=0.0, rng=1)
    female = sum(g == "female" for g in balanced.genders) / len(balanced)
    assert abs(female - 0.5) < 0.02
    extreme = make_bias_corpus(4000, alpha=20.0, rng=1)
    for occupation, gender in zip(extreme.occupations, extreme.genders):
        if abs(OCCUPATION_FEMALE_SHARE[occupation] - 0.5) > 0.1:
            assert gender == ("female" if OCCUPATION_FEMALE_SHARE[occupation] > 0.5 else "male")


def test_swap_gender_resolves_her_by_role():
    assert swap_gender("the nurse said that she would arrive soon") == "the nurse said that he would arrive soon"
    assert swap_gender("the cook finished his work early") == "the cook finished her work early"
    assert swap_gender("the cook asked a friend to call her tomorrow", role="object") == (
        "the cook asked a friend to call him tomorrow"
    )
    assert swap_gender("the cook lost her keys again", role="possessive") == "the cook lost his keys again"
    with pytest.raises(ValueError, match="role must be one of"):
        swap_gender("she", role="dative")


def test_counterfactual_augmentation_balances_every_occupation():
    corpus = make_bias_corpus(3000, alpha=1.0, rng=0)
    augmented = counterfactual_augment(corpus)
    assert len(augmented) == 2 * len(corpus)
    assert augmented.sentences[: len(corpus)] == corpus.sentences
    for occupation, c in augmented.counts().items():
        assert c["female"] == c["male"], occupation
    # swapping twice gives the original sentence back
    twice = counterfactual_augment(make_bias_corpus(50, rng=2))
    for s, t, back in zip(twice.sentences[50:], twice.templates[50:], twice.sentences[:50]):
        assert swap_gender(s, BIAS_TEMPLATES[t][1]) == back
    with pytest.raises(TypeError, match="corpus must be a BiasCorpus"):
        counterfactual_augment(["the nurse said that she"])


def test_prompts_cover_every_template_and_occupation():
    prompts = bias_prompts()
    assert len(prompts) == len(BIAS_TEMPLATES) * len(OCCUPATION_FEMALE_SHARE)
    first = prompts[0]
    assert first["prompt"] == f"the {first['occupation']} said that"
    assert first["choices"] == {"female": "she", "male": "he"}


def test_vocabulary_and_encoding_shift_by_one_word():
    from rnnlib.data import BOS, IGNORE_INDEX, build_vocabulary, encode_sentences

    corpus = make_bias_corpus(100, rng=0)
    vocab = build_vocabulary(corpus, counterfactual_augment(corpus))
    assert vocab[0] == BOS and {"she", "he", "his", "him", "her", "nurse"} <= set(vocab)
    inputs, targets = encode_sentences(["the nurse lost her keys again", "the cook said that he would arrive soon"], vocab)
    assert inputs.shape == targets.shape == (2, 8)
    words = [vocab[i] for i in targets[0, :6]]
    assert words == "the nurse lost her keys again".split()
    assert list(targets[0, 6:]) == [IGNORE_INDEX, IGNORE_INDEX]
    assert inputs[0, 0] == 0 and list(inputs[0, 1:6]) == list(targets[0, :5])
    assert encode_sentences(["the nurse"], vocab, length=5)[0].shape == (1, 5)
    with pytest.raises(ValueError, match="unknown words"):
        encode_sentences(["the astronaut said"], vocab)
    with pytest.raises(ValueError, match="length must be at least"):
        encode_sentences(["the nurse lost her keys"], vocab, length=2)
    with pytest.raises(TypeError, match="corpora must be one or more BiasCorpus"):
        build_vocabulary(["the nurse"])
