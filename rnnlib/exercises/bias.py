"""Checker for chapter 8: bias amplification (Zhao et al. 2017) on the learner's own code.

.. math::

    b(o, g) = \\frac{c(o, g)}{\\sum_{g'} c(o, g')}, \\qquad
    \\mathrm{BA} = \\frac{1}{|O|} \\sum_{g} \\sum_{o \\,:\\, b^*(o, g) > 1/|G|} \\bigl(\\tilde b(o, g) - b^*(o, g)\\bigr)

with :math:`b^*` from the training counts and :math:`\\tilde b` from the predicted counts.
"""

import numpy as np

from rnnlib.exercises._checking import Case, Mistake, check_function
from rnnlib.metrics import bias_amplification, bias_scores

__all__ = ["check_bias_amplification"]


def _reference(train_counts, predicted_counts):
    return bias_amplification(train_counts, predicted_counts)


def _parts(train_counts, predicted_counts):
    b_train = bias_scores(train_counts)
    b_pred = bias_scores(predicted_counts)
    biased = b_train > 1.0 / b_train.shape[1]
    return b_train, b_pred, biased


def _mean_over_biased_pairs(train_counts, predicted_counts):
    b_train, b_pred, biased = _parts(train_counts, predicted_counts)
    return float((b_pred - b_train)[biased].mean())


def _absolute_differences(train_counts, predicted_counts):
    b_train, b_pred, biased = _parts(train_counts, predicted_counts)
    return float(np.abs(b_pred - b_train)[biased].sum() / b_train.shape[0])


def _every_gender(train_counts, predicted_counts):
    b_train, b_pred, _ = _parts(train_counts, predicted_counts)
    return float((b_pred - b_train).sum() / b_train.shape[0])


def _raw_counts(train_counts, predicted_counts):
    train = np.asarray(train_counts, dtype=float)
    predicted = np.asarray(predicted_counts, dtype=float)
    biased = bias_scores(train) > 1.0 / train.shape[1]
    return float((predicted - train)[biased].sum() / train.shape[0])


def _biased_by_predictions(train_counts, predicted_counts):
    b_train, b_pred, _ = _parts(train_counts, predicted_counts)
    biased = b_pred > 1.0 / b_pred.shape[1]
    return float((b_pred - b_train)[biased].sum() / b_train.shape[0])


def _fixed():
    # (female, male) counts for three occupations; the last is balanced in training
    train = np.array([[8.0, 2.0], [3.0, 7.0], [5.0, 5.0]])
    predicted = np.array([[9.0, 1.0], [1.0, 9.0], [10.0, 0.0]])
    return (train, predicted), {}


def _random(seed, items, genders):
    def make():
        rng = np.random.default_rng(seed)
        train = rng.integers(1, 60, size=(items, genders)).astype(float)
        predicted = rng.integers(0, 60, size=(items, genders)).astype(float)
        predicted[:, 0] += 1  # every item needs at least one prediction
        return (train, predicted), {}

    return make


def check_bias_amplification(fn, verbose=True):
    """Check ``fn(train_counts, predicted_counts) -> float`` against :func:`rnnlib.metrics.bias_amplification`.

    Both arguments are float arrays of shape ``(O, G)``: counts per item (occupation) and gender,
    in the training data and in the model's predictions. Hints recognise averaging over the biased
    pairs instead of dividing by :math:`|O|`, absolute differences, summing over every gender,
    raw counts instead of ratios, and choosing the biased gender from the predictions.
    """
    return check_function(
        "bias_amplification (Zhao et al. 2017)",
        fn,
        reference=_reference,
        cases=[
            Case("fixed counts of 3 occupations", _fixed),
            Case("random counts, 40 occupations x 2 genders", _random(0, 40, 2)),
            Case("random counts, 12 items x 3 groups", _random(1, 12, 3)),
        ],
        output_names=("amplification",),
        mistakes=[
            Mistake(
                "you averaged over the biased (occupation, gender) pairs: the sum is divided by |O|, "
                "the number of occupations, biased or not",
                _mean_over_biased_pairs,
            ),
            Mistake(
                "you took absolute differences: amplification is signed, b~(o, g) - b*(o, g), so a model "
                "less skewed than its data scores below 0",
                _absolute_differences,
            ),
            Mistake(
                "you summed over every gender: only the gender(s) g with b*(o, g) > 1/|G| count for each "
                "occupation (with two genders the full sum is always 0)",
                _every_gender,
            ),
            Mistake(
                "you subtracted raw counts: turn counts into ratios first, b(o, g) = c(o, g) / sum over g' of c(o, g')",
                _raw_counts,
            ),
            Mistake(
                "you chose the biased gender from the predictions: it is the gender that the *training* "
                "ratio b*(o, g) favours",
                _biased_by_predictions,
            ),
        ],
        verbose=verbose,
    )
