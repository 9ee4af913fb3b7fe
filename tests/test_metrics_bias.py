"""Bias amplification (Zhao et al. 2017) on hand-computed counts."""

import numpy as np
import pytest

from rnnlib.metrics import bias_amplification, bias_scores


def test_bias_scores_are_row_ratios():
    b = bias_scores([[8, 2], [3, 7]])
    np.testing.assert_allclose(b, [[0.8, 0.2], [0.3, 0.7]])


def test_amplification_hand_computed():
    # columns (female, male). o1 is female-biased in training (0.8), o2 male-biased (0.7),
    # o3 balanced (5/5) so it counts in |O| = 3 but contributes no term.
    train = [[8, 2], [3, 7], [5, 5]]
    predicted = [[9, 1], [1, 9], [10, 0]]
    # ((0.9 - 0.8) + (0.9 - 0.7)) / 3 = 0.1
    assert bias_amplification(train, predicted) == pytest.approx(0.1)


def test_amplification_negative_when_predictions_are_less_skewed():
    train = [[9, 1], [2, 8]]
    predicted = [[6, 4], [5, 5]]
    # ((0.6 - 0.9) + (0.5 - 0.8)) / 2 = -0.3
    assert bias_amplification(train, predicted) == pytest.approx(-0.3)


def test_amplification_zero_when_predictions_match_training_ratios():
    train = np.array([[30, 10], [1, 4], [7, 3]])
    assert bias_amplification(train, 10 * train) == pytest.approx(0.0, abs=1e-12)


def test_amplification_dict_input_matches_array_and_ignores_item_order():
    train = {"nurse": {"female": 9, "male": 1}, "carpenter": {"female": 1, "male": 9}}
    predicted = {"carpenter": {"female": 0, "male": 4}, "nurse": {"female": 4, "male": 0}}
    # genders sorted: (female, male). ((1 - 0.9) + (1 - 0.9)) / 2 = 0.1
    assert bias_amplification(train, predicted) == pytest.approx(0.1)
    assert bias_amplification([[9, 1], [1, 9]], [[4, 0], [0, 4]]) == pytest.approx(0.1)


def test_three_genders_threshold_is_one_third():
    train = [[4, 4, 2]]  # both 0.4 > 1/3 count
    predicted = [[5, 5, 0]]
    assert bias_amplification(train, predicted) == pytest.approx(0.2)


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="predicted_counts must have shape"):
        bias_amplification([[1, 2], [3, 4]], [[1, 2]])
    with pytest.raises(ValueError, match="counts must have at least one count per item"):
        bias_scores([[0, 0], [1, 1]])
    with pytest.raises(ValueError, match="train_counts must hold finite non-negative counts"):
        bias_amplification([[-1, 2]], [[1, 2]])
    with pytest.raises(ValueError, match="same items and genders"):
        bias_amplification({"a": {"f": 1, "m": 2}}, {"b": {"f": 1, "m": 2}})
    with pytest.raises(TypeError, match="both be dicts"):
        bias_amplification({"a": {"f": 1, "m": 2}}, [[1, 2]])


def test_parity_measures_of_reproduction_parity_and_flip():
    from rnnlib.metrics import parity_measures

    train = np.array([0.1, 0.3, 0.6, 0.9])
    same = parity_measures(train, train)
    assert same["slope"] == pytest.approx(1.0) and same["distance"] == pytest.approx(0.275)
    at_parity = parity_measures(train, np.full(4, 0.5))
    assert at_parity == {"distance": 0.0, "slope": 0.0, "mean": 0.5}
    # over-correction: the same distance from parity as the data, the slope negative
    flipped = parity_measures(train, 1 - train)
    assert flipped["slope"] == pytest.approx(-1.0) and flipped["distance"] == pytest.approx(0.275)
    # greedy decoding of a calibrated model: every item to 0 or 1, slope above 1 (amplification)
    greedy = parity_measures(train, (train > 0.5).astype(float))
    assert greedy["distance"] == 0.5 and greedy["slope"] > 1


@pytest.mark.parametrize("train, predicted, message", [
    ([0.2, 0.8], [0.5, 0.5, 0.5], "predicted_share must have shape (2,) like train_share, got (3,)"),
    ([0.5], [0.5], "train_share must have shape (O,) with O >= 2 items, got shape (1,)"),
    ([0.2, 0.8], [0.5, 1.5], "predicted_share must hold shares in [0, 1], got [0.5, 1.5]"),
    ([0.2, float("nan")], [0.5, 0.5], "train_share must hold shares in [0, 1]"),
    ([0.4, 0.4], [0.5, 0.6], "train_share must not be the same for every item"),
])
def test_parity_measures_reject_bad_shares(train, predicted, message):
    from rnnlib.metrics import parity_measures

    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[").replace("]", r"\]")):
        parity_measures(train, predicted)
