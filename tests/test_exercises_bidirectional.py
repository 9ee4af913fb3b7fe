"""check_bidirectional_forward: accepts a correct layer, names each planted mistake."""

import numpy as np
import pytest

from rnnlib.exercises import check_bidirectional_forward


def make_learner(flip_back=True, reverse_input=True, forward_first=True, own_weights=True):
    """A learner's bidirectional layer written by hand, with a chosen mistake."""

    def bidirectional(cell, x, params, params_reverse):
        forward, _, _ = cell.forward(x, None, params)
        reverse_in = x[:, ::-1] if reverse_input else x
        reverse, _, _ = cell.forward(reverse_in, None, params_reverse if own_weights else params)
        if flip_back and reverse_input:
            reverse = reverse[:, ::-1]
        halves = [forward, reverse] if forward_first else [reverse, forward]
        return np.concatenate(halves, axis=-1)

    return bidirectional


def test_accepts_a_correct_layer(capsys):
    assert check_bidirectional_forward(make_learner()) is True
    assert "PASSED bidirectional forward" in capsys.readouterr().out


@pytest.mark.parametrize(
    "learner, hint",
    [
        (make_learner(flip_back=False), "flip its outputs back"),
        (make_learner(reverse_input=False), "must read the sequence from the end"),
        (make_learner(forward_first=False), "the halves are swapped"),
        (make_learner(own_weights=False), "use params_reverse"),
    ],
)
def test_names_each_mistake(learner, hint):
    with pytest.raises(AssertionError, match="bidirectional forward") as info:
        check_bidirectional_forward(learner, verbose=False)
    assert hint in str(info.value).split("Hint:")[1]


def test_wrong_shape_is_reported():
    def forward_only(cell, x, params, params_reverse):
        return cell.forward(x, None, params)[0]

    with pytest.raises(AssertionError, match=r"hs has shape \(2, 4, 3\), expected \(2, 4, 6\)"):
        check_bidirectional_forward(forward_only, verbose=False)
