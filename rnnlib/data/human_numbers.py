"""Human numbers: the numbers 1 to 9,999 written in English words, for next-word prediction.

This regenerates the ``HUMAN_NUMBERS`` dataset of fastai that chapter 12 of *Deep Learning for
Coders* (fastbook, Howard & Gugger 2020) uses to build a language model from scratch. fastai
ships two files, ``train.txt`` with 1 .. 7,999 and ``valid.txt`` with 8,001 .. 9,999 (8,000 is in
neither), one number per line, spelled without "and" or hyphens (``nine thousand nine hundred
ninety nine``). fastbook joins all lines with ``" . "`` and splits on spaces::

    one . two . three . ... . nine thousand nine hundred ninety nine

which gives 63,095 tokens over a vocabulary of 30 words (in order of first appearance:
``one . two three ... ninety hundred thousand``). The text is then cut into windows that are
split *sequentially*: the first 80 % for training, the last 20 % (the numbers from about 8,000 on)
for validation, so the validation text is numbers the model has never seen.

Everything here is deterministic; no download.
"""

import numbers
from dataclasses import dataclass

import numpy as np

from rnnlib.validate import check_number, check_positive_int

__all__ = [
    "number_to_words",
    "human_numbers_lines",
    "HumanNumbers",
    "load_human_numbers",
    "next_token_windows",
    "sequential_split",
    "stateful_batches",
]

_ONES = "one two three four five six seven eight nine".split()
_TEENS = "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()

SEPARATOR = "."


def number_to_words(n):
    """Spell ``n`` (1 <= n <= 9999) as fastai's human numbers do: ``4507 -> "four thousand five hundred seven"``."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"n must be an int, got {type(n).__name__} {n!r}")
    if not 1 <= n <= 9999:
        raise ValueError(f"n must be an integer in [1, 9999], got {n!r}")
    words = []
    if n >= 1000:
        words += [_ONES[n // 1000 - 1], "thousand"]
        n %= 1000
    if n >= 100:
        words += [_ONES[n // 100 - 1], "hundred"]
        n %= 100
    if n >= 20:
        words.append(_TENS[n // 10 - 2])
        n %= 10
    if n >= 10:
        words.append(_TEENS[n - 10])
    elif n >= 1:
        words.append(_ONES[n - 1])
    return " ".join(words)


def human_numbers_lines():
    """The lines of fastai's ``train.txt`` then ``valid.txt``: 1 .. 7,999 and 8,001 .. 9,999 in words."""
    return [number_to_words(n) for n in range(1, 10000) if n != 8000]


@dataclass
class HumanNumbers:
    """The tokenised text.

    Attributes:
        tokens: list of word tokens (``"."`` separates numbers), 63,095 of them.
        vocab: list of the distinct tokens in order of first appearance (30; ``vocab[1] == "."``).
        stoi: dict token -> index into ``vocab``.
        ids: int64 array (len(tokens),) of token indices.
    """

    tokens: list
    vocab: list
    stoi: dict
    ids: np.ndarray

    def decode(self, ids):
        """Token indices -> the space-joined words."""
        return " ".join(self.vocab[int(i)] for i in np.asarray(ids).ravel())


def load_human_numbers():
    """Tokenise the human numbers exactly as fastbook does: ``" . ".join(lines).split(" ")``."""
    tokens = f" {SEPARATOR} ".join(human_numbers_lines()).split(" ")
    vocab = list(dict.fromkeys(tokens))
    stoi = {token: index for index, token in enumerate(vocab)}
    ids = np.array([stoi[token] for token in tokens], dtype=np.int64)
    return HumanNumbers(tokens=tokens, vocab=vocab, stoi=stoi, ids=ids)


def next_token_windows(ids, seq_len):
    """Non-overlapping windows for next-token prediction, as fastbook's ``LMModel4`` uses them.

    Window k is ``x = ids[k*L : k*L + L]`` and its target ``y = ids[k*L + 1 : k*L + L + 1]``
    (the same tokens shifted by one), for every k with ``k*L < len(ids) - L - 1``.

    Returns:
        (X, Y): int64 arrays of shape (num_windows, seq_len).
    """
    ids = np.asarray(ids)
    if ids.ndim != 1:
        raise ValueError(f"ids must be a 1-D array of token indices, got shape {ids.shape}")
    check_positive_int("seq_len", seq_len)
    starts = np.arange(0, len(ids) - seq_len - 1, seq_len)
    if len(starts) == 0:
        raise ValueError(f"ids must hold more than seq_len + 1 = {seq_len + 1} tokens, got {len(ids)}")
    offsets = np.arange(seq_len)
    X = ids[starts[:, None] + offsets]
    Y = ids[starts[:, None] + offsets + 1]
    return X.astype(np.int64), Y.astype(np.int64)


def sequential_split(X, Y, train_fraction=0.8):
    """First ``train_fraction`` of the windows for training, the rest for validation (no shuffling).

    Returns ``(X_train, Y_train), (X_valid, Y_valid)``; the cut is ``int(len(X) * train_fraction)``.
    """
    if len(X) != len(Y):
        raise ValueError(f"X and Y must have the same number of windows, got {len(X)} and {len(Y)}")
    check_number("train_fraction", train_fraction, 0, 1, low_open=True, high_open=True)
    cut = int(len(X) * train_fraction)
    if cut == 0 or cut == len(X):
        raise ValueError(f"train_fraction={train_fraction} leaves an empty part of {len(X)} windows")
    return (X[:cut], Y[:cut]), (X[cut:], Y[cut:])


def stateful_batches(X, Y, batch_size):
    """Batches for a *stateful* language model (fastbook's ``group_chunks``).

    The windows are dealt into ``batch_size`` contiguous streams of ``m = len(X) // batch_size``
    windows each; batch ``i`` holds window ``i + m*j`` in row ``j``. So row ``j`` of batch ``i + 1``
    is the text that directly follows row ``j`` of batch ``i``, and the hidden state at the end of
    one batch is the right initial state for the next (detached). The ``len(X) % batch_size``
    windows that do not fill a stream are dropped.

    Returns:
        list of ``m`` pairs ``(x, y)`` of int64 torch tensors of shape (batch_size, seq_len).
    """
    import torch

    check_positive_int("batch_size", batch_size)
    m = len(X) // batch_size
    if m == 0:
        raise ValueError(f"batch_size must be at most the number of windows {len(X)}, got {batch_size}")
    index = np.arange(m)[:, None] + m * np.arange(batch_size)[None, :]  # (m, batch_size)
    X_t = torch.as_tensor(np.asarray(X)[index])
    Y_t = torch.as_tensor(np.asarray(Y)[index])
    return [(X_t[i], Y_t[i]) for i in range(m)]
