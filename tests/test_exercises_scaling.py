"""rnnlib.exercises.check_average_gradients accepts the right answer and names each planted mistake."""

import numpy as np
import pytest

from rnnlib.exercises import check_average_gradients


def average(grads_per_rank):
    return {k: sum(g[k] for g in grads_per_rank) / len(grads_per_rank) for k in grads_per_rank[0]}


def test_accepts_a_correct_average(capsys):
    assert check_average_gradients(average) is True
    assert "average_gradients" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (lambda ranks: {k: sum(g[k] for g in ranks) for k in ranks[0]}, "you summed the gradients"),
        (lambda ranks: dict(ranks[0]), "you returned rank 0's gradient"),
        (lambda ranks: {k: np.full_like(v, np.mean([g[k] for g in ranks])) for k, v in ranks[0].items()},
         "you averaged over the entries"),
    ],
)
def test_rejects_each_planted_mistake_with_its_hint(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        check_average_gradients(wrong, verbose=False)


def test_an_unrecognised_mistake_still_fails():
    with pytest.raises(AssertionError):
        check_average_gradients(lambda ranks: {k: 2 * v for k, v in average(ranks).items()}, verbose=False)
