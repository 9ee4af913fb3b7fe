"""rnnlib.metrics against hand-computed values."""

import math

import numpy as np
import pytest
import torch

from rnnlib.metrics import accuracy, bits_per_token, perplexity


def test_perplexity_and_bits_of_a_uniform_model():
    vocab = 65
    nll = math.log(vocab)  # a uniform model's cross-entropy
    assert perplexity(nll) == pytest.approx(vocab)
    assert bits_per_token(nll) == pytest.approx(math.log2(vocab))


def test_accuracy_with_and_without_mask():
    pred = torch.tensor([[1, 2, 3], [4, 5, 6]])
    target = np.array([[1, 0, 3], [4, 5, 0]])
    assert accuracy(pred, target) == pytest.approx(4 / 6)
    mask = np.array([[True, True, False], [False, False, True]])
    assert accuracy(pred, target, mask) == pytest.approx(1 / 3)


def test_accuracy_rejects_mismatched_shapes_and_empty_masks():
    with pytest.raises(ValueError, match=r"predictions must have the same shape as targets \(3,\), got \(2,\)"):
        accuracy(np.zeros(2), np.zeros(3))
    with pytest.raises(ValueError, match="mask must keep at least one position"):
        accuracy(np.zeros(2), np.zeros(2), np.zeros(2, bool))


def test_bits_per_token_by_class():
    import math

    from rnnlib.metrics import bits_per_token_by_class

    nll = np.array([[math.log(2), 2 * math.log(2)], [3 * math.log(2), 0.0]])
    classes = np.array([[0, 1], [1, 0]])
    bits = bits_per_token_by_class(nll, classes, ["other", "bracket", "quote"])
    assert list(bits) == ["other", "bracket", "quote"]
    assert bits["other"] == pytest.approx(0.5) and bits["bracket"] == pytest.approx(2.5)
    assert math.isnan(bits["quote"])
    with pytest.raises(ValueError, match="classes must have the shape of nll"):
        bits_per_token_by_class(nll, classes[0], ["a", "b"])
    with pytest.raises(ValueError, match=r"classes must be ids in \[0, 0\]"):
        bits_per_token_by_class(nll, classes, ["a"])
