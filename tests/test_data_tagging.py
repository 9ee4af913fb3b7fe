"""Right-context tagging: labels are a function of the future, not of the past."""

import collections

import numpy as np
import pytest

from rnnlib.data import tagging


def test_shapes_and_seeding():
    a = tagging.right_context_tagging(50, T=12, rng=3)
    b = tagging.right_context_tagging(50, T=12, rng=np.random.default_rng(3))
    c = tagging.right_context_tagging(50, T=12, rng=4)
    assert a.tokens.shape == a.tags.shape == a.ambiguous.shape == (50, 12)
    assert a.tokens.dtype == a.tags.dtype == np.int64
    np.testing.assert_array_equal(a.tokens, b.tokens)
    np.testing.assert_array_equal(a.tags, b.tags)
    assert not np.array_equal(a.tokens, c.tokens)
    assert a.tokens.min() >= 0 and a.tokens.max() < len(a.vocab)


def test_names_and_only_names_carry_entity_tags():
    data = tagging.right_context_tagging(300, T=20, rng=0)
    assert np.array_equal(data.tags > 0, data.ambiguous)
    assert 0.1 < data.ambiguous.mean() < 0.3
    # every type occurs about equally often
    counts = np.bincount(data.tags[data.ambiguous], minlength=4)[1:]
    assert counts.min() > 0.85 * counts.mean()


def _cue_after(data, i, t):
    """The first token after position t that is not a neutral word."""
    neutral = {data.vocab.index(w) for w in tagging.NEUTRAL}
    t += 1
    while data.tokens[i, t] in neutral:
        t += 1
    return data.vocab[data.tokens[i, t]], t


@pytest.mark.parametrize("max_gap", [1, 3])
def test_the_cue_determines_the_tag(max_gap):
    data = tagging.right_context_tagging(200, T=15, rng=1, max_gap=max_gap)
    cue_to_tag = {w: tag for tag, words in tagging.CUES.items() for w in words}
    gaps = set()
    for i, t in zip(*np.nonzero(data.ambiguous)):
        cue, where = _cue_after(data, i, t)
        gaps.add(where - t)
        assert cue_to_tag[cue] == data.tag_names[data.tags[i, t]]
    assert gaps == set(range(1, max_gap + 1))


def test_tags_are_not_predictable_from_the_past():
    # The best left-context predictor we can build from data -- the majority tag for each
    # (two previous tokens, name) context, fitted on one half and scored on the other -- is at
    # chance (1/3), while the same predictor given the next token is perfect (max_gap=1).
    data = tagging.right_context_tagging(6000, T=12, rng=7, max_gap=1)
    rows, cols = np.nonzero(data.ambiguous)
    past = [tuple(data.tokens[i, max(0, t - 2) : t + 1]) for i, t in zip(rows, cols)]
    future = [data.tokens[i, t + 1] for i, t in zip(rows, cols)]
    labels = data.tags[rows, cols]
    half = len(labels) // 2

    def majority_accuracy(keys):
        table = collections.defaultdict(collections.Counter)
        for key, label in zip(keys[:half], labels[:half]):
            table[key][label] += 1
        hits = [table[key].most_common(1)[0][0] == label if table[key] else False
                for key, label in zip(keys[half:], labels[half:])]
        return float(np.mean(hits))

    assert majority_accuracy(past) < 0.37
    assert majority_accuracy(future) == 1.0
    # and per name, each type is about equally likely
    for name in tagging.NAMES:
        at = data.tokens[rows, cols] == data.vocab.index(name)
        shares = np.bincount(labels[at], minlength=4)[1:] / at.sum()
        assert np.all(np.abs(shares - 1 / 3) < 0.06)


def test_decode():
    data = tagging.right_context_tagging(5, T=10, rng=0, mention_rate=1.0)
    text = data.decode(0)
    assert "/" in text and len(text.split()) == 10


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(n=0), ValueError, "n must be an int >= 1"),
        (dict(n=5, T=2, max_gap=2), ValueError, "T must be at least max_gap"),
        (dict(n=5, mention_rate=0.0), ValueError, "mention_rate must be a finite number in"),
        (dict(n=2.5), TypeError, "n must be an int"),
    ],
)
def test_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        tagging.right_context_tagging(**kwargs)


# ---- a grammar whose tags the left context, the right context, or both reveal ----

import itertools  # noqa: E402

from rnnlib.data.tagging import ENGLISH_GRAMMAR, MATCH_TAG_NAMES, TagGrammar, grammar_tagging, match_tagging  # noqa: E402

TINY = TagGrammar(
    states={
        ".": (".", {"a": 0.5, "b": 0.5}),
        "a": ("A", {"x": 0.7, ".": 0.3}),
        "b": ("B", {"y": 0.6, ".": 0.4}),
        "x": ("X", {".": 1.0}),
        "y": ("X", {".": 0.5, "a": 0.5}),
    },
    words={".": ["."], "A": ["p", "q"], "B": ["q", "r"], "X": ["s", "q"]},
)


def _brute_force_posteriors(grammar, tokens, seen):
    """p(tag_t | the first ``seen`` tokens), by summing over every state sequence."""
    S, T = len(grammar.state_names), len(tokens)
    posterior = np.zeros((T, len(grammar.tag_names)))
    for states in itertools.product(range(S), repeat=T):
        p = grammar.initial[states[0]]
        for t in range(T):
            if t > 0:
                p *= grammar.transitions[states[t - 1], states[t]]
            if t < seen:
                p *= grammar.emissions[states[t], tokens[t]]
        for t in range(T):
            posterior[t, grammar.state_tags[states[t]]] += p
    return posterior / posterior.sum(axis=1, keepdims=True)


def test_posteriors_equal_brute_force_enumeration():
    data = TINY.sample(6, 5, rng=0)
    for row in data.tokens:
        full = TINY.tag_posteriors(row[None], lookahead=None)[0]
        np.testing.assert_allclose(full, _brute_force_posteriors(TINY, row, 5), atol=1e-12)
        for d in (0, 1, 2):
            causal = TINY.tag_posteriors(row[None], lookahead=d)[0]
            for t in range(5):
                expected = _brute_force_posteriors(TINY, row, min(t + d + 1, 5))[t]
                np.testing.assert_allclose(causal[t], expected, atol=1e-12)
        np.testing.assert_allclose(TINY.tag_posteriors(row[None], lookahead=4)[0], full, atol=1e-12)


def test_sampling_follows_the_grammar():
    data = grammar_tagging(4000, T=12, rng=5)
    assert data.tokens.shape == data.tags.shape == data.ambiguous.shape == (4000, 12)
    assert data.tag_names == ENGLISH_GRAMMAR.tag_names and data.vocab == ENGLISH_GRAMMAR.vocab
    np.testing.assert_array_equal(grammar_tagging(4000, T=12, rng=np.random.default_rng(5)).tokens, data.tokens)
    assert not np.array_equal(grammar_tagging(4000, T=12, rng=6).tokens, data.tokens)
    # every word is one its tag can emit
    emits = {(int(t), int(w)) for s, t in enumerate(ENGLISH_GRAMMAR.state_tags)
             for w in np.flatnonzero(ENGLISH_GRAMMAR.emissions[s])}
    assert all((int(t), int(w)) in emits for t, w in zip(data.tags.ravel(), data.tokens.ravel()))
    # sentences start as the grammar says: the first tag's frequencies match p(first tag)
    first = np.bincount(data.tags[:, 0], minlength=len(data.tag_names)) / len(data.tags)
    expected = np.zeros(len(data.tag_names))
    np.add.at(expected, ENGLISH_GRAMMAR.state_tags, ENGLISH_GRAMMAR.initial)
    np.testing.assert_allclose(first, expected, atol=0.03)
    words = data.decode(0).split()
    assert len(words) == 12 and all("/" in word for word in words)  # no tag is "O": every word shows its tag


def test_english_grammar_needs_both_contexts():
    data = grammar_tagging(2000, T=24, rng=0)
    accuracy = {}
    for d in (0, 1, None):
        predicted = ENGLISH_GRAMMAR.tag_posteriors(data.tokens, lookahead=d).argmax(-1)
        accuracy[d] = float((predicted == data.tags)[data.ambiguous].mean())
    # about a third of the words are ambiguous; the left context resolves most, not all of them
    assert 0.25 < data.ambiguous.mean() < 0.45
    assert accuracy[0] < 0.88 and accuracy[1] > accuracy[0] + 0.1 and accuracy[None] > 0.98


@pytest.mark.parametrize(
    "states, words, match",
    [
        ({".": (".", {".": 0.5})}, {".": ["."]}, "sum to 1"),
        ({".": (".", {"z": 1.0})}, {".": ["."]}, "unknown state 'z'"),
        ({".": (".", {".": 1.0})}, {}, "at least one word"),
    ],
)
def test_grammar_bad_input(states, words, match):
    with pytest.raises(ValueError, match=match):
        TagGrammar(states, words)


def test_posteriors_bad_input():
    with pytest.raises(ValueError, match="tokens must be word ids"):
        ENGLISH_GRAMMAR.tag_posteriors(np.full((2, 3), 999))
    with pytest.raises(ValueError, match="tokens must be an integer array of shape"):
        ENGLISH_GRAMMAR.tag_posteriors(np.zeros(3, dtype=np.int64))


def test_match_tags_are_the_equality_of_the_neighbours():
    data = match_tagging(3000, T=16, rng=2)
    assert data.tag_names == MATCH_TAG_NAMES
    rows, cols = np.nonzero(data.ambiguous)
    assert np.all(data.tags[~data.ambiguous] == 0) and np.all(data.tags[rows, cols] > 0)
    left, right = data.tokens[rows, cols - 1], data.tokens[rows, cols + 1]
    np.testing.assert_array_equal(data.tags[rows, cols] == 1, left == right)
    same = data.tags[rows, cols] == 1
    assert abs(same.mean() - 0.5) < 0.03
    # neither neighbour alone predicts the tag: SAME is about as frequent after every word
    for word in range(4):
        assert abs(same[left == word].mean() - 0.5) < 0.06
        assert abs(same[right == word].mean() - 0.5) < 0.06


@pytest.mark.parametrize(
    "kwargs, match",
    [(dict(T=2), "T must be at least 3"), (dict(n_words=1), "n_words must be in 2..8"),
     (dict(marker_rate=0.0), "marker_rate must be in")],
)
def test_match_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        match_tagging(5, **kwargs)
