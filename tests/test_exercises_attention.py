"""check_attention accepts masked scaled dot-product attention and names each common mistake.

The learners' functions are written out here, each with one mistake, independently of the
checker's planted variants; torch's scaled_dot_product_attention is an independent oracle.
"""

import numpy as np
import pytest
import torch

from rnnlib.exercises import check_attention


def learner_attention(query, keys, values, mask):
    scores = (keys @ query[:, :, None])[:, :, 0] / np.sqrt(query.shape[1])
    scores[~mask] = -np.inf
    weights = np.exp(scores - scores.max(axis=1, keepdims=True))
    weights /= weights.sum(axis=1, keepdims=True)
    return (weights[:, :, None] * values).sum(axis=1), weights


def torch_attention(query, keys, values, mask):
    q = torch.from_numpy(query)[:, None, :]  # (N, 1, H): one query per sequence
    k, v = torch.from_numpy(keys), torch.from_numpy(values)
    attn_mask = torch.from_numpy(mask)[:, None, :]  # True = take part in attention
    context = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
    scores = (q @ k.transpose(1, 2)) / np.sqrt(query.shape[1])
    weights = torch.softmax(scores.masked_fill(~attn_mask, -torch.inf), dim=-1)
    return context[:, 0].numpy(), weights[:, 0].numpy()


def test_accepts_correct_functions(capsys):
    assert check_attention(learner_attention) is True
    assert check_attention(torch_attention) is True
    assert capsys.readouterr().out.count("PASSED masked dot-product attention") == 2


def _softmax(scores, axis):
    exp = np.exp(scores - scores.max(axis=axis, keepdims=True))
    return exp / exp.sum(axis=axis, keepdims=True)


def no_mask(query, keys, values, mask):
    weights = _softmax(np.einsum("nsh,nh->ns", keys, query) / np.sqrt(query.shape[1]), axis=1)
    return np.einsum("ns,nsv->nv", weights, values), weights


def zero_fill(query, keys, values, mask):
    scores = np.einsum("nsh,nh->ns", keys, query) / np.sqrt(query.shape[1])
    weights = _softmax(scores * mask, axis=1)  # multiplying by the mask sets padded scores to 0
    return np.einsum("ns,nsv->nv", weights, values), weights


def mask_after_softmax(query, keys, values, mask):
    weights = _softmax(np.einsum("nsh,nh->ns", keys, query) / np.sqrt(query.shape[1]), axis=1)
    weights = np.where(mask, weights, 0.0)
    return np.einsum("ns,nsv->nv", weights, values), weights


def wrong_axis(query, keys, values, mask):
    scores = np.einsum("nsh,nh->ns", keys, query) / np.sqrt(query.shape[1])
    scores = np.where(mask, scores, -np.inf)
    with np.errstate(invalid="ignore"):
        weights = _softmax(scores, axis=0)
    return np.einsum("ns,nsv->nv", np.nan_to_num(weights), values), weights


def no_scale(query, keys, values, mask):
    scores = np.where(mask, np.einsum("nsh,nh->ns", keys, query), -np.inf)
    weights = _softmax(scores, axis=1)
    return np.einsum("ns,nsv->nv", weights, values), weights


@pytest.mark.parametrize(
    "fn, hint",
    [
        (no_mask, "the mask is ignored"),
        (zero_fill, "instead of -inf"),
        (mask_after_softmax, "zeroed after the softmax"),
        (wrong_axis, "wrong axis"),
        (no_scale, "not scaled"),
    ],
)
def test_names_each_mistake(fn, hint, capsys):
    with pytest.raises(AssertionError, match=hint):
        check_attention(fn)
    assert "FAILED masked dot-product attention" in capsys.readouterr().out


def test_unknown_mistake_gets_the_recipe():
    def off_by_a_bit(query, keys, values, mask):
        context, weights = learner_attention(query, keys, values, mask)
        return context + 1e-3, weights

    with pytest.raises(AssertionError, match=r"(?s)context differs.*Hint: compute e = keys @ q"):
        check_attention(off_by_a_bit, verbose=False)


def test_wrong_return_structure_and_non_callable():
    with pytest.raises(AssertionError, match=r"must return \(context, weights\)"):
        check_attention(lambda q, k, v, m: learner_attention(q, k, v, m)[0], verbose=False)
    with pytest.raises(TypeError, match="fn must be a function"):
        check_attention("attention")
