"""check_bias_amplification: passes a correct learner function, names each common mistake."""

import numpy as np
import pytest

from rnnlib.exercises import check_bias_amplification


def learner_correct(train_counts, predicted_counts):
    b_train = train_counts / train_counts.sum(axis=1, keepdims=True)
    b_pred = predicted_counts / predicted_counts.sum(axis=1, keepdims=True)
    total = 0.0
    for o in range(b_train.shape[0]):
        for g in range(b_train.shape[1]):
            if b_train[o, g] > 1 / b_train.shape[1]:
                total += b_pred[o, g] - b_train[o, g]
    return total / b_train.shape[0]


def _ratios(train_counts, predicted_counts):
    b_train = train_counts / train_counts.sum(axis=1, keepdims=True)
    b_pred = predicted_counts / predicted_counts.sum(axis=1, keepdims=True)
    return b_train, b_pred, b_train > 1 / b_train.shape[1]


def test_correct_function_passes(capsys):
    assert check_bias_amplification(learner_correct) is True
    assert "PASSED" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong,hint",
    [
        (lambda t, p: float(np.mean((lambda bt, bp, m: (bp - bt)[m])(*_ratios(t, p)))), "averaged over the biased"),
        (lambda t, p: float((lambda bt, bp, m: np.abs(bp - bt)[m].sum() / len(bt))(*_ratios(t, p))), "absolute"),
        (lambda t, p: float((lambda bt, bp, m: (bp - bt).sum() / len(bt))(*_ratios(t, p))), "summed over every gender"),
        (lambda t, p: float((p - t)[_ratios(t, p)[2]].sum() / len(t)), "raw counts"),
        (lambda t, p: float((lambda bt, bp, m: (bp - bt)[bp > 1 / bt.shape[1]].sum() / len(bt))(*_ratios(t, p))),
         "from the predictions"),
    ],
)
def test_common_mistakes_get_their_hint(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        check_bias_amplification(wrong, verbose=False)


def test_unrecognised_error_and_crash_are_reported():
    with pytest.raises(AssertionError, match="differs from the reference"):
        check_bias_amplification(lambda t, p: learner_correct(t, p) + 0.01, verbose=False)
    with pytest.raises(AssertionError, match="raised ZeroDivisionError"):
        check_bias_amplification(lambda t, p: 1 / 0, verbose=False)
    with pytest.raises(TypeError, match="fn must be a function"):
        check_bias_amplification("not a function")
