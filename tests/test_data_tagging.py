"""Right-context tagging: labels are a function of the future, not of the past."""

import collections

import numpy as np
import pytest

from rnnlib.data import tagging


def test_shapes_and_seeding():
    a = tagging.right_context_tagging(50, T=12, rng=3)
    b = tagging.right_context_tagging(50, T=12, rng=np.random.default_rng(3))
    c = tagging.right_context_tagging(50, T=12, rng=4)
    assert a.tokens.shape == a.tags.shape == a.is_name.shape == (50, 12)
    assert a.tokens.dtype == a.tags.dtype == np.int64
    np.testing.assert_array_equal(a.tokens, b.tokens)
    np.testing.assert_array_equal(a.tags, b.tags)
    assert not np.array_equal(a.tokens, c.tokens)
    assert a.tokens.min() >= 0 and a.tokens.max() < len(a.vocab)


def test_names_and_only_names_carry_entity_tags():
    data = tagging.right_context_tagging(300, T=20, rng=0)
    assert np.array_equal(data.tags > 0, data.is_name)
    assert 0.1 < data.is_name.mean() < 0.3
    # every type occurs about equally often
    counts = np.bincount(data.tags[data.is_name], minlength=4)[1:]
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
    for i, t in zip(*np.nonzero(data.is_name)):
        cue, where = _cue_after(data, i, t)
        gaps.add(where - t)
        assert cue_to_tag[cue] == data.tag_names[data.tags[i, t]]
    assert gaps == set(range(1, max_gap + 1))


def test_tags_are_not_predictable_from_the_past():
    # The best left-context predictor we can build from data -- the majority tag for each
    # (two previous tokens, name) context, fitted on one half and scored on the other -- is at
    # chance (1/3), while the same predictor given the next token is perfect (max_gap=1).
    data = tagging.right_context_tagging(6000, T=12, rng=7, max_gap=1)
    rows, cols = np.nonzero(data.is_name)
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
