"""rnnlib.nn.decoding: greedy and beam search reject ids outside the vocabulary and logits that
leave nothing to emit, and never put a banned token in a hypothesis."""

import math

import pytest
import torch

from rnnlib.nn.decoding import beam_search, greedy_search


def constant_step(values, V=5):
    def step(y, state):
        return torch.full((y.shape[0], V), values), state, None
    return step


def ramp_step(y, state):
    return torch.arange(5.0).expand(y.shape[0], 5).clone(), state, None


def greedy(step, **ids):
    options = dict(batch_size=2, bos_id=1, eos_id=2, pad_id=0, max_len=3, device="cpu")
    options.update(ids)
    return greedy_search(step, torch.zeros(2, 3), **options)


def beam(step, **ids):
    options = dict(bos_id=1, eos_id=2, beam_size=3, max_len=4)
    options.update(ids)
    return beam_search(step, torch.zeros(1, 3), **options)


@pytest.mark.parametrize("search", [greedy, beam])
@pytest.mark.parametrize("value, message", [
    (-float("inf"), r"step returned logits that are -inf for every token at step 1 \(row 0\): no token can be emitted"),
    (float("nan"), "step returned NaN logits at step 1"),
])
def test_logits_that_leave_nothing_to_emit_are_an_error(search, value, message):
    # before: greedy emitted token 0 (argmax of all -inf), beam search returned a banned token with score NaN
    with pytest.raises(ValueError, match=message):
        search(constant_step(value))


@pytest.mark.parametrize("ids, message", [
    (dict(eos_id=5), r"eos_id must be a token id in \[0, 4\] \(the number of logits V=5\), got 5"),
    (dict(bos_id=-1), "bos_id must be an int >= 0, got -1"),
    (dict(eos_id=0), "eos_id and pad_id must be different token ids, got eos_id=0 and pad_id=0"),
    (dict(batch_size=0), "batch_size must be an int >= 1, got 0"),
])
def test_greedy_search_checks_its_ids(ids, message):
    with pytest.raises(ValueError, match=message):
        greedy(ramp_step, **ids)


def test_beam_search_checks_ids_and_the_shape_of_the_logits():
    with pytest.raises(ValueError, match=r"eos_id must be a token id in \[0, 4\]"):
        beam(ramp_step, eos_id=7)
    with pytest.raises(TypeError, match="bos_id must be an int, got str"):
        beam(ramp_step, bos_id="<bos>")
    with pytest.raises(ValueError, match=r"step must return logits of shape \(1, V\) \(one row per prefix\), got \(5,\)"):
        beam(lambda y, s: (torch.zeros(5), s, None))


def test_beam_search_never_keeps_a_banned_token():
    def step(y, state):  # token 3 is banned; only 4 tokens are allowed and the beam is 5 wide
        logits = torch.tensor([[0.0, 0.5, -1.0, -float("inf"), 1.0]]).expand(y.shape[0], 5).clone()
        return logits, state, None

    best = beam(step, beam_size=5)
    assert 3 not in best.tokens and math.isfinite(best.score)
