r"""Attention in NumPy: additive (Bahdanau) and dot-product, forward and backward, with a mask.

A query q (one per sequence, e.g. the decoder state) scores every position s of the keys,
the scores become weights by a softmax over the positions, and the context is the weighted
average of the values:

.. math::

    e_s = \mathrm{score}(q, k_s), \qquad
    \alpha = \mathrm{softmax}(e) \ \text{over kept positions}, \qquad
    c = \sum_s \alpha_s v_s

    \text{additive:}\quad e_s = v_a^\top \tanh(W_q q + W_k k_s) \qquad
    \text{dot-product:}\quad e_s = q \cdot k_s \ (/\sqrt{H} \text{ if scaled})

Shapes: query (N, Hq); keys (N, S, Hk); values (N, S, Hv) (often the keys themselves);
mask (N, S) boolean, True = keep, False = padding. A masked position gets exactly zero
weight (its score is set to -inf before the softmax), so it receives no gradient either.
Additive attention's params (``init_additive_params``), in ``nn.Linear``'s (out, in) layout::

    W_q (A, Hq)    W_k (A, Hk)    v (A,)      (A = attention size; no biases, as in Bahdanau et al.)

    context, weights, cache = dot_product_attention_forward(query, keys, values, mask=None, scaled=True)
    dquery, dkeys, dvalues = dot_product_attention_backward(dcontext, cache, dweights=None)
    context, weights, cache = additive_attention_forward(query, keys, values, params, mask=None)
    dquery, dkeys, dvalues, grads = additive_attention_backward(dcontext, cache, dweights=None)

context is (N, Hv), weights (N, S). ``dweights`` is an optional gradient w.r.t. the weights
(e.g. from an attention regulariser); the context's gradient always flows.
"""

import numpy as np

from rnnlib.scratch._checks import check_array
from rnnlib.validate import check_keys, check_positive_int, check_shape


def _check_inputs(query, keys, values, mask, query_size=None, key_size=None):
    """Shapes must agree: query (N, Hq), keys (N, S, Hk), values (N, S, Hv), mask (N, S)."""
    N, _ = check_array("query", query, ("N", "Hq" if query_size is None else query_size))
    _, S, _ = check_array("keys", keys, (N, "S", "Hk" if key_size is None else key_size))
    check_array("values", values, (N, S, "Hv"))
    if mask is None:
        return np.ones((N, S), dtype=bool)
    if not isinstance(mask, np.ndarray) or mask.dtype != bool:
        raise TypeError(f"mask must be a boolean NumPy array of shape ({N}, {S}) (True = keep), "
                        f"got {getattr(mask, 'dtype', type(mask).__name__)}")
    check_shape("mask", mask, (N, S))
    if not mask.any(axis=1).all():
        rows = np.flatnonzero(~mask.any(axis=1)).tolist()
        raise ValueError(f"mask must keep at least one position in every row, got rows {rows} all False")
    return mask


def _check_upstream(dcontext, dweights, cache_weights, cache_values):
    N, S = cache_weights.shape
    check_array("dcontext", dcontext, (N, cache_values.shape[-1]))
    if dweights is not None:
        check_array("dweights", dweights, (N, S))


def _masked_softmax(scores, mask):
    """softmax over the last axis, with exactly zero weight where mask is False."""
    scores = np.where(mask, scores, -np.inf)
    # shift by the largest kept score (exp never overflows; exp(-inf) = 0 at masked positions)
    exp = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


def _attend_forward(scores, values, mask):
    # α = softmax(e) over kept positions
    weights = _masked_softmax(scores, mask)
    # c = Σ_s α_s v_s
    context = np.einsum("ns,nsh->nh", weights, values)
    return context, weights


def _attend_backward(dcontext, dweights, weights, values):
    """Gradients of the context (and weights) w.r.t. the scores and the values."""
    # c = Σ_s α_s v_s  =>  dα_s = v_s · dc,  dv_s = α_s dc
    dalpha = np.einsum("nsh,nh->ns", values, dcontext)
    if dweights is not None:
        dalpha = dalpha + dweights
    dvalues = weights[:, :, None] * dcontext[:, None, :]
    # α = softmax(e)  =>  de_s = α_s (dα_s - Σ_r α_r dα_r)   (zero where α = 0, i.e. masked)
    dscores = weights * (dalpha - np.sum(weights * dalpha, axis=-1, keepdims=True))
    return dscores, dvalues


def dot_product_attention_forward(query, keys, values, mask=None, scaled=True):
    """e_s = q · k_s / sqrt(H) (or without the scale if scaled=False). Needs Hq == Hk = H.

    Returns ``(context (N, Hv), weights (N, S), cache)``.
    """
    _, H = check_array("query", query, ("N", "H"))
    mask = _check_inputs(query, keys, values, mask, key_size=H)
    scale = 1 / np.sqrt(H) if scaled else 1.0
    # e_s = (q · k_s) * scale
    scores = np.einsum("nsh,nh->ns", keys, query) * scale
    context, weights = _attend_forward(scores, values, mask)
    return context, weights, (query, keys, values, weights, scale)


def dot_product_attention_backward(dcontext, cache, dweights=None):
    """Returns ``(dquery (N, H), dkeys (N, S, H), dvalues (N, S, Hv))``."""
    query, keys, values, weights, scale = cache
    _check_upstream(dcontext, dweights, weights, values)
    dscores, dvalues = _attend_backward(dcontext, dweights, weights, values)
    # e_s = scale q · k_s  =>  dq = scale Σ_s de_s k_s,  dk_s = scale de_s q
    dquery = scale * np.einsum("ns,nsh->nh", dscores, keys)
    dkeys = scale * dscores[:, :, None] * query[:, None, :]
    return dquery, dkeys, dvalues


def init_additive_params(query_size, key_size, attention_size, rng, dtype=np.float64):
    """W_q (A, Hq), W_k (A, Hk), v (A,) ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), like nn.Linear."""
    Hq = check_positive_int("query_size", query_size)
    Hk = check_positive_int("key_size", key_size)
    A = check_positive_int("attention_size", attention_size)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a np.random.Generator (np.random.default_rng(seed)), got {type(rng).__name__}")

    def uniform(shape, fan_in):
        bound = 1 / np.sqrt(fan_in)
        return rng.uniform(-bound, bound, size=shape).astype(dtype)

    return {"W_q": uniform((A, Hq), Hq), "W_k": uniform((A, Hk), Hk), "v": uniform((A,), A)}


def additive_attention_forward(query, keys, values, params, mask=None):
    """e_s = v^T tanh(W_q q + W_k k_s). Returns ``(context (N, Hv), weights (N, S), cache)``."""
    check_keys("params", params, ("W_q", "W_k", "v"))
    A, Hq = check_array("params['W_q']", params["W_q"], ("A", "Hq"))
    _, Hk = check_array("params['W_k']", params["W_k"], (A, "Hk"))
    check_array("params['v']", params["v"], (A,))
    mask = _check_inputs(query, keys, values, mask, query_size=Hq, key_size=Hk)
    # u_s = tanh(W_q q + W_k k_s): the query's projection is shared by every position s
    u = np.tanh((query @ params["W_q"].T)[:, None, :] + keys @ params["W_k"].T)
    # e_s = v^T u_s
    scores = u @ params["v"]
    context, weights = _attend_forward(scores, values, mask)
    return context, weights, (query, keys, values, weights, u, params)


def additive_attention_backward(dcontext, cache, dweights=None):
    """Returns ``(dquery, dkeys, dvalues, grads)``, grads a dict with keys W_q, W_k, v."""
    query, keys, values, weights, u, params = cache
    _check_upstream(dcontext, dweights, weights, values)
    dscores, dvalues = _attend_backward(dcontext, dweights, weights, values)
    # e_s = v^T u_s  =>  dv = Σ_{n,s} de_s u_s,  du_s = de_s v
    dv = np.einsum("ns,nsa->a", dscores, u)
    du = dscores[:, :, None] * params["v"]
    # u = tanh(a)  =>  da = du (1 - u²)
    da = du * (1 - u * u)
    # a_s = W_q q + W_k k_s  =>  the query's projection received Σ_s da_s
    dq_proj = da.sum(axis=1)
    dquery = dq_proj @ params["W_q"]
    dkeys = da @ params["W_k"]
    grads = {
        "W_q": dq_proj.T @ query,
        "W_k": da.reshape(-1, da.shape[-1]).T @ keys.reshape(-1, keys.shape[-1]),
        "v": dv,
    }
    return dquery, dkeys, dvalues, grads
