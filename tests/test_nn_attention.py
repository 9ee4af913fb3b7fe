"""rnnlib.nn attention: softmax weights, exact zeros under the mask, context = weights @ values,
gradients (finite differences), agreement with rnnlib.scratch and torch's scaled dot-product
attention, and bad-input messages."""

import math
import re

import numpy as np
import pytest
import torch
from torch.nn import functional as F

import rnnlib.nn as rnn
from rnnlib.scratch import attention as scratch_attention




def make_batch(N=3, S=5, Hq=4, Hk=6, Hv=2, Tq=None, seed=0, device="cpu"):
    gen = torch.Generator().manual_seed(seed)
    qshape = (N, Hq) if Tq is None else (N, Tq, Hq)
    query = torch.randn(qshape, generator=gen, dtype=torch.float64)
    keys = torch.randn(N, S, Hk, generator=gen, dtype=torch.float64)
    values = torch.randn(N, S, Hv, generator=gen, dtype=torch.float64)
    lengths = torch.tensor([S, 1] + [max(1, S - 2)] * (N - 2))[:N]
    mask = torch.arange(S)[None, :] < lengths[:, None]  # padding masks of different lengths
    return [t.to(device) for t in (query, keys, values, mask)]


def modules(Hq=4, Hk=6):
    torch.manual_seed(0)
    return {
        "additive": rnn.AdditiveAttention(Hq, Hk, 5).double(),
        "dot": rnn.DotProductAttention(scaled=True),
        "dot_unscaled": rnn.DotProductAttention(scaled=False),
    }


def inputs_for(kind, **kwargs):
    if kind.startswith("dot"):
        kwargs.setdefault("Hq", 6)
    return make_batch(**kwargs)


@pytest.mark.parametrize("kind", ["additive", "dot", "dot_unscaled"])
@pytest.mark.parametrize("Tq", [None, 4])
def test_weights_are_a_masked_distribution_and_context_their_average(kind, Tq):
    module = modules()[kind]
    query, keys, values, mask = inputs_for(kind, Tq=Tq)
    context, weights = module(query, keys, values, mask=mask)
    N, S = mask.shape
    assert weights.shape == ((N, S) if Tq is None else (N, Tq, S))
    assert context.shape == ((N, 2) if Tq is None else (N, Tq, 2))
    assert torch.allclose(weights.sum(-1), torch.ones((), dtype=torch.float64), atol=1e-14)
    assert (weights >= 0).all()
    masked = ~mask if Tq is None else (~mask).unsqueeze(1).expand_as(weights)
    assert (weights[masked] == 0).all()  # exactly zero, not just small
    assert (weights[~masked] > 0).all()
    weights, context = weights.detach(), context.detach()
    expected = np.einsum("ns,nsh->nh" if Tq is None else "nts,nsh->nth", weights.numpy(), values.numpy())
    assert np.abs(context.numpy() - expected).max() <= 1e-14
    # the sequence whose length is 1 puts all its weight on position 0
    first = weights[1] if Tq is None else weights[1, 0]
    assert first[0] == 1


@pytest.mark.parametrize("kind", ["additive", "dot"])
def test_many_queries_equal_one_query_at_a_time(kind):
    module = modules()[kind]
    query, keys, values, mask = inputs_for(kind, Tq=3)
    context, weights = module(query, keys, values, mask)
    for t in range(3):
        c_t, w_t = module(query[:, t], keys, values, mask)
        assert (c_t - context[:, t]).abs().max() <= 1e-14
        assert (w_t - weights[:, t]).abs().max() <= 1e-14


def test_additive_matches_rnnlib_scratch():
    module = modules()["additive"]
    query, keys, values, mask = make_batch()
    params = {k: v.detach().numpy() for k, v in module.state_dict().items()}
    assert set(params) == {"W_q", "W_k", "v"}
    ctx_ref, w_ref, _ = scratch_attention.additive_attention_forward(
        query.numpy(), keys.numpy(), values.numpy(), params, mask=mask.numpy()
    )
    context, weights = module(query, keys, values, mask=mask)
    assert np.abs(context.detach().numpy() - ctx_ref).max() <= 1e-12
    assert np.abs(weights.detach().numpy() - w_ref).max() <= 1e-12


@pytest.mark.parametrize("scaled", [True, False])
def test_dot_product_matches_torch_sdpa(scaled):
    query, keys, values, mask = make_batch(Hq=6)
    context, weights = rnn.DotProductAttention(scaled=scaled)(query, keys, values, mask=mask)
    ref = F.scaled_dot_product_attention(
        query[:, None, None, :], keys[:, None], values[:, None], attn_mask=mask[:, None, None, :],
        scale=None if scaled else 1.0,
    )[:, 0, 0]
    assert (context - ref).abs().max() <= 1e-12
    ctx_s, w_s, _ = scratch_attention.dot_product_attention_forward(
        query.numpy(), keys.numpy(), values.numpy(), mask=mask.numpy(), scaled=scaled
    )
    assert np.abs(weights.numpy() - w_s).max() <= 1e-12


def test_values_default_to_keys():
    module = rnn.DotProductAttention()
    query, keys, _, mask = make_batch(Hq=6)
    a = module(query, keys, mask=mask)
    b = module(query, keys, keys, mask=mask)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


@pytest.mark.parametrize("kind", ["additive", "dot"])
def test_context_depends_on_kept_keys_and_values_only(kind):
    module = modules()[kind]
    query, keys, values, mask = inputs_for(kind)
    context, _ = module(query, keys, values, mask)
    # change a kept key and a kept value: the context moves
    keys2, values2 = keys.clone(), values.clone()
    keys2[0, 0] += 1.0
    assert (module(query, keys2, values, mask)[0][0] - context[0]).abs().max() > 1e-6
    values2[0, 0] += 1.0
    assert (module(query, keys, values2, mask)[0][0] - context[0]).abs().max() > 1e-6
    # change a padded (masked) position of row 1: nothing moves
    keys3, values3 = keys.clone(), values.clone()
    keys3[1, -1] = 1e6
    values3[1, -1] = 1e6
    assert torch.equal(module(query, keys3, values3, mask)[0], context)


@pytest.mark.parametrize("kind", ["additive", "dot", "dot_unscaled"])
@pytest.mark.parametrize("Tq", [None, 2])
def test_gradcheck(kind, Tq):
    module = modules()[kind]
    query, keys, values, mask = inputs_for(kind, N=2, S=4, Tq=Tq)
    names = [n for n, _ in module.named_parameters()]
    params = [p.detach().clone().requires_grad_(True) for p in module.parameters()]
    tensors = [t.clone().requires_grad_(True) for t in (query, keys, values)]

    def f(query, keys, values, *weights):
        return torch.func.functional_call(module, dict(zip(names, weights)), (query, keys, values), {"mask": mask})

    assert torch.autograd.gradcheck(f, (*tensors, *params), eps=1e-6, atol=1e-8, rtol=1e-6)


def test_masked_positions_get_no_gradient():
    module = modules()["additive"]
    query, keys, values, mask = make_batch()
    keys.requires_grad_(True), values.requires_grad_(True)
    context, weights = module(query, keys, values, mask)
    (context.sum() + weights.pow(2).sum()).backward()
    assert (keys.grad[~mask] == 0).all() and (values.grad[~mask] == 0).all()
    assert torch.isfinite(keys.grad).all()


def test_default_init_bounds_and_float32():
    module = rnn.AdditiveAttention(4, 9, 16)
    assert module.W_q.abs().max() <= 1 / math.sqrt(4)
    assert module.W_k.abs().max() <= 1 / math.sqrt(9)
    assert module.v.abs().max() <= 1 / math.sqrt(16)
    context, weights = module(torch.randn(2, 4), torch.randn(2, 7, 9))
    assert context.dtype == torch.float32 and context.shape == (2, 9) and weights.shape == (2, 7)


# ---------------------------------------------------------------------------------------------
# Bad input


def test_fully_masked_row_is_an_error():
    query, keys, values, mask = make_batch(Hq=6)
    mask[2] = False
    with pytest.raises(ValueError, match=re.escape("mask must keep at least one position in every row, got rows [2] all False")):
        rnn.DotProductAttention()(query, keys, values, mask=mask)


def test_mask_of_wrong_shape_or_dtype():
    query, keys, values, mask = make_batch()
    module = modules()["additive"]
    with pytest.raises(ValueError, match=re.escape("mask must have shape (3, 5) (N, S) from keys, got (3, 4)")):
        module(query, keys, values, mask=mask[:, :4])
    with pytest.raises(TypeError, match=re.escape("mask must be a bool tensor of shape (3, 5) (True = keep), got torch.int64")):
        module(query, keys, values, mask=mask.long())


def test_query_and_keys_of_wrong_shape():
    module = modules()["additive"]  # query_size 4, key_size 6
    query, keys, values, mask = make_batch()
    with pytest.raises(ValueError, match=re.escape("query must have shape (N, 4) or (N, Tq, 4), got (3, 5)")):
        module(torch.zeros(3, 5, dtype=torch.float64), keys)
    with pytest.raises(ValueError, match=re.escape("keys must have shape (3, S, 6) (N = 3 from query), got (2, 5, 6)")):
        module(query, keys[:2])
    with pytest.raises(ValueError, match=re.escape("values must have shape (3, 5, Hv) (N, S = 3, 5 from keys), got (3, 4, 2)")):
        module(query, keys, values[:, :4])
    with pytest.raises(ValueError, match=re.escape("keys must have the query's size 4 in their last dimension for dot-product attention, got keys of shape (3, 5, 6)")):
        rnn.DotProductAttention()(query, keys)


def test_dtype_mismatch():
    module = rnn.AdditiveAttention(4, 6, 5)  # float32
    query, keys, values, _ = make_batch()
    with pytest.raises(TypeError, match=re.escape("query must have the same dtype as the parameters (torch.float32), got torch.float64")):
        module(query, keys)
    with pytest.raises(TypeError, match=re.escape("values must have the same dtype as query (torch.float64), got torch.float32")):
        rnn.DotProductAttention()(torch.randn(3, 6, dtype=torch.float64), keys, values.float())


def test_bad_constructor_arguments():
    with pytest.raises(TypeError, match="hidden_size must be an int, got float 5.0"):
        rnn.AdditiveAttention(4, 6, 5.0)
    with pytest.raises(ValueError, match="query_size must be an int >= 1, got 0"):
        rnn.AdditiveAttention(0, 6, 5)
    with pytest.raises(TypeError, match="scaled must be True or False, got str 'yes'"):
        rnn.DotProductAttention(scaled="yes")


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
@pytest.mark.parametrize("kind", ["additive", "dot"])
def test_cuda_matches_cpu(kind):
    module = modules()[kind]
    query, keys, values, mask = inputs_for(kind)
    context, weights = module(query, keys, values, mask)
    context_gpu, weights_gpu = module.to("cuda")(*(t.to("cuda") for t in (query, keys, values)), mask=mask.to("cuda"))
    assert context_gpu.device.type == "cuda"
    assert (context_gpu.cpu() - context).abs().max() <= 1e-12
    assert (weights_gpu.cpu() == 0).eq(weights == 0).all()


def test_additive_with_keys_projected_beforehand_equals_projecting_inside():
    """project_keys once, then many queries: the same context and weights as without it."""
    torch.manual_seed(0)
    attention = rnn.AdditiveAttention(5, 6, 4).double()
    query, keys = torch.randn(3, 7, 5, dtype=torch.float64), torch.randn(3, 9, 6, dtype=torch.float64)
    values = torch.randn(3, 9, 2, dtype=torch.float64)
    mask = torch.arange(9)[None, :] < torch.tensor([9, 4, 1])[:, None]
    projected = attention.project_keys(keys)
    assert projected.shape == (3, 9, 4)
    for a, b in zip(attention(query, keys, values, mask), attention(query, keys, values, mask, projected_keys=projected)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-15)
    with pytest.raises(ValueError, match=r"projected_keys must have shape \(3, 9, 4\)"):
        attention(query, keys, values, mask, projected_keys=keys)
    with pytest.raises(ValueError, match=r"keys must have shape \(N, S, 6\)"):
        attention.project_keys(query)
