"""check_recurrent_flops: passes a correct count (checked against FlopCounterMode), names each mistake."""

import pytest
import torch

from rnnlib.energy import count_flops
from rnnlib.exercises import check_recurrent_flops

GATES = {"rnn": 1, "gru": 3, "lstm": 4}


def learner_correct(cell, input_size, hidden_size, num_layers=1, bidirectional=False):
    directions = 2 if bidirectional else 1
    total, d = 0, input_size
    for _ in range(num_layers):
        total += directions * 2 * GATES[cell] * hidden_size * (d + hidden_size)
        d = directions * hidden_size
    return total


def test_learner_formula_is_what_flop_counter_counts():
    # independent of rnnlib.energy: torch.nn.GRU counted by FlopCounterMode
    gru = torch.nn.GRU(10, 16, num_layers=2, bidirectional=True, batch_first=True)
    assert count_flops(gru, torch.randn(2, 5, 10)) == 2 * 5 * learner_correct("gru", 10, 16, 2, True)


def test_correct_function_passes(capsys):
    assert check_recurrent_flops(learner_correct) is True
    assert "PASSED" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong,hint",
    [
        (lambda c, d, h, n=1, b=False: learner_correct(c, d, h, n, b) // 2, "multiply-adds"),
        (lambda c, d, h, n=1, b=False: learner_correct(c, d, h, n, b) - (2 if b else 1) * n * 2 * GATES[c] * h * h,
         "hidden-to-hidden"),
        (lambda c, d, h, n=1, b=False: learner_correct("rnn", d, h, n, b), "one gate block"),
        (lambda c, d, h, n=1, b=False: learner_correct(c, d, h, n, False), "count both"),
    ],
)
def test_common_mistakes_get_their_hint(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        check_recurrent_flops(wrong, verbose=False)


def test_upper_layers_reading_h_is_recognised():
    def wrong(cell, d, h, n=1, b=False):
        k = 2 if b else 1
        return k * 2 * GATES[cell] * h * (d + h) + (n - 1) * k * 2 * GATES[cell] * h * (h + h)

    with pytest.raises(AssertionError, match="read both directions"):
        check_recurrent_flops(wrong, verbose=False)


def test_crash_is_reported():
    with pytest.raises(AssertionError, match="raised KeyError"):
        check_recurrent_flops(lambda c, d, h, n=1, b=False: {}[c], verbose=False)
