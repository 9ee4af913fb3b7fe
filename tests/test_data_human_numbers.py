"""Human numbers: spelling, the counts fastbook reports, the sequential split, stateful batches."""

import collections

import numpy as np
import pytest
import torch

from rnnlib.data import human_numbers as hn


@pytest.mark.parametrize(
    "n, words",
    [
        (1, "one"),
        (9, "nine"),
        (10, "ten"),
        (13, "thirteen"),
        (19, "nineteen"),
        (20, "twenty"),
        (21, "twenty one"),
        (40, "forty"),
        (99, "ninety nine"),
        (100, "one hundred"),
        (101, "one hundred one"),
        (110, "one hundred ten"),
        (115, "one hundred fifteen"),
        (1000, "one thousand"),
        (1001, "one thousand one"),
        (2019, "two thousand nineteen"),
        (4507, "four thousand five hundred seven"),
        (8100, "eight thousand one hundred"),
        (9999, "nine thousand nine hundred ninety nine"),
    ],
)
def test_number_to_words(n, words):
    assert hn.number_to_words(n) == words


@pytest.mark.parametrize("bad", [0, 10000, -3])
def test_number_to_words_range(bad):
    with pytest.raises(ValueError, match=r"n must be an integer in \[1, 9999\]"):
        hn.number_to_words(bad)


def test_number_to_words_type():
    with pytest.raises(TypeError, match="n must be an int"):
        hn.number_to_words(3.0)


def _words_to_number(words):
    """An independent parser (inverse of the speller) built from a value table."""
    values = {w: i + 1 for i, w in enumerate("one two three four five six seven eight nine".split())}
    values.update({w: i + 10 for i, w in enumerate(
        "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split())})
    values.update({w: 10 * (i + 2) for i, w in enumerate(
        "twenty thirty forty fifty sixty seventy eighty ninety".split())})
    total, current = 0, 0
    for w in words.split():
        if w == "thousand":
            total += current * 1000
            current = 0
        elif w == "hundred":
            current *= 100
        else:
            current += values[w]
    return total + current


def test_every_line_parses_back():
    lines = hn.human_numbers_lines()
    numbers = [_words_to_number(line) for line in lines]
    # fastai's train.txt holds 1..7999 and valid.txt 8001..9999: 8000 is in neither file
    assert numbers == [n for n in range(1, 10000) if n != 8000]
    assert len(set(lines)) == len(lines) == 9998


def test_tokens_and_vocab_match_fastbook():
    data = hn.load_human_numbers()
    assert len(data.tokens) == 63095  # fastbook ch. 12: len(tokens) == 63095
    assert len(data.vocab) == 30
    assert data.vocab[:4] == ["one", ".", "two", "three"]
    assert data.vocab[-2:] == ["hundred", "thousand"]
    assert " ".join(data.tokens[:6]) == "one . two . three ."
    assert " ".join(data.tokens[-6:]) == "nine thousand nine hundred ninety nine"
    assert data.decode(data.ids[:5]) == "one . two . three"
    assert data.ids.dtype == np.int64
    assert [data.vocab[i] for i in data.ids] == data.tokens


def test_most_frequent_token_baseline_is_fastbooks():
    # fastbook's 3-token windows: the most frequent validation target is "thousand", 0.1517 of them
    data = hn.load_human_numbers()
    nums = data.ids
    targets = [nums[i + 3] for i in range(0, len(nums) - 4, 3)]
    valid = targets[int(len(targets) * 0.8):]
    token, count = collections.Counter(valid).most_common(1)[0]
    assert data.vocab[token] == "thousand"
    assert count / len(valid) == pytest.approx(0.151652, abs=1e-6)


def test_windows_are_shifted_by_one():
    ids = np.arange(50)
    X, Y = hn.next_token_windows(ids, 16)
    # starts 0, 16, 32 (32 < 50 - 17); Y is X shifted by one
    assert X.shape == Y.shape == (3, 16)
    np.testing.assert_array_equal(X[1], np.arange(16, 32))
    np.testing.assert_array_equal(Y, X + 1)


def test_windows_bad_input():
    with pytest.raises(ValueError, match="ids must be a 1-D array"):
        hn.next_token_windows(np.zeros((2, 3), dtype=np.int64), 2)
    with pytest.raises(ValueError, match="more than seq_len"):
        hn.next_token_windows(np.arange(5), 16)


def test_split_is_sequential():
    data = hn.load_human_numbers()
    X, Y = hn.next_token_windows(data.ids, 16)
    (Xt, Yt), (Xv, Yv) = hn.sequential_split(X, Y)
    assert len(Xt) == int(0.8 * len(X)) and len(Xt) + len(Xv) == len(X)
    # training text is the start of the stream and validation text its continuation
    np.testing.assert_array_equal(np.concatenate([Xt.ravel(), Xv.ravel()]), X.ravel())
    assert Xv[0, 0] == Yt[-1, -1]  # windows are contiguous across the cut
    # validation numbers are all in the eight- and nine-thousands
    text_valid = data.decode(Xv.ravel())
    assert "seven thousand" not in text_valid and "nine thousand nine hundred" in text_valid
    with pytest.raises(ValueError, match="train_fraction"):
        hn.sequential_split(X, Y, 1.5)


def test_stateful_batches_continue_each_row():
    X = np.arange(10 * 4).reshape(10, 4)
    Y = X + 1
    batches = hn.stateful_batches(X, Y, batch_size=3)
    assert len(batches) == 3  # 10 // 3
    for (x0, _), (x1, _) in zip(batches, batches[1:]):
        # row j of the next batch starts right where row j of this batch ended
        torch.testing.assert_close(x1[:, 0], x0[:, -1] + 1)
    assert batches[0][0].dtype == torch.int64 and batches[0][0].shape == (3, 4)
    torch.testing.assert_close(batches[0][1], batches[0][0] + 1)
    with pytest.raises(ValueError, match="batch_size must be at most"):
        hn.stateful_batches(X, Y, batch_size=11)
