"""rnnlib.metrics.anti_diagonal_share on hand-built attention maps."""

import numpy as np
import pytest
import torch

from rnnlib.metrics import anti_diagonal_share


def one_hot_maps(rows, S):
    """weights (1, len(rows), S) with all weight of step t on position rows[t]."""
    weights = np.zeros((1, len(rows), S))
    weights[0, np.arange(len(rows)), rows] = 1.0
    return weights


def test_a_perfect_reversal_alignment_scores_one():
    weights = one_hot_maps([3, 2, 1, 0, 0], S=4)  # 4 letters, then <eos> (not counted)
    assert anti_diagonal_share(weights, np.array([4]), tolerance=0) == 1.0


def test_tolerance_counts_steps_one_position_off():
    weights = one_hot_maps([3, 1, 0, 0], S=4)  # steps 1 and 2 are one position off
    assert anti_diagonal_share(weights, np.array([4]), tolerance=0) == pytest.approx(2 / 4)
    assert anti_diagonal_share(weights, np.array([4]), tolerance=1) == 1.0


def test_padding_is_ignored_and_torch_is_accepted():
    weights = np.zeros((2, 4, 4))
    weights[0] = one_hot_maps([1, 0, 3, 3], S=4)[0]  # length 2: only the first two steps count
    weights[1] = one_hot_maps([0, 1, 2, 3], S=4)[0]  # length 4, the main diagonal: 0 exactly on it
    share = anti_diagonal_share(torch.from_numpy(weights), torch.tensor([2, 4]), tolerance=0)
    # second sequence: steps t = 0..3 look at t, the anti-diagonal wants 3 - t: none on it
    assert share == pytest.approx(2 / 6)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match=r"weights must have shape \(N, T, S\), got \(4, 4\)"):
        anti_diagonal_share(np.zeros((4, 4)), np.array([4]))
    with pytest.raises(ValueError, match=r"src_lengths must lie in \[1, 4\]"):
        anti_diagonal_share(np.zeros((1, 4, 4)), np.array([5]))
    with pytest.raises(ValueError, match="src_lengths must be integers of shape"):
        anti_diagonal_share(np.zeros((1, 4, 4)), np.array([4.0]))
    with pytest.raises(ValueError, match="tolerance must be a non-negative int, got -1"):
        anti_diagonal_share(np.zeros((1, 4, 4)), np.array([4]), tolerance=-1)
