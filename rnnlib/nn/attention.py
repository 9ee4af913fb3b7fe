r"""Attention over a sequence of keys, with a padding mask: additive (Bahdanau) and dot-product (Luong).

A query q scores every position s of the keys; a softmax over the kept positions turns the
scores into weights, and the context is the weighted average of the values:

.. math::

    e_s = \mathrm{score}(q, k_s), \qquad
    \alpha = \mathrm{softmax}(e) \text{ over positions with mask}_s = \text{True}, \qquad
    c = \sum_s \alpha_s v_s

    \text{additive (Bahdanau et al. 2015):}\quad e_s = v^\top \tanh(W_q q + W_k k_s) \qquad
    \text{dot-product (Luong et al. 2015):}\quad e_s = q \cdot k_s \ (/\sqrt{H} \text{ if scaled})

Shapes: query (N, Hq), or (N, Tq, Hq) for Tq queries at once; keys (N, S, Hk); values
(N, S, Hv), the keys themselves when None; mask (N, S) bool, True = keep, False = padding.
``forward`` returns ``(context, weights)``: (N, Hv) and (N, S), or (N, Tq, Hv) and (N, Tq, S).
A masked position gets exactly zero weight (its score is -inf before the softmax), so it
receives no gradient either; a row with every position masked is an error.

The additive module's parameters ``W_q`` (A, Hq), ``W_k`` (A, Hk), ``v`` (A,) have the names
and layout of ``rnnlib.scratch.attention``'s params, so weights move between the two.
"""

import math

import torch
from torch import nn

from rnnlib.validate import check_bool, check_positive_int, check_shape

__all__ = ["AdditiveAttention", "DotProductAttention"]


def _check_inputs(query, keys, values, mask, query_size=None, key_size=None, ref=None):
    """Validate shapes and dtypes; return (query as (N, Tq, Hq), values, whether query was 2-D)."""
    for name, t in (("query", query), ("keys", keys), ("values", values)):
        if t is not None and not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    Hq = "Hq" if query_size is None else query_size
    if query.dim() not in (2, 3) or (query_size is not None and query.shape[-1] != query_size):
        raise ValueError(f"query must have shape (N, {Hq}) or (N, Tq, {Hq}), got {tuple(query.shape)}")
    if not query.is_floating_point():
        raise TypeError(f"query must have a floating-point dtype, got {query.dtype}")
    N = query.shape[0]
    _, S, _ = check_shape("keys", keys, (N, "S", "Hk" if key_size is None else key_size), note=f"(N = {N} from query)")
    values = keys if values is None else values
    check_shape("values", values, (N, S, "Hv"), note=f"(N, S = {N}, {S} from keys)")
    ref_name, ref = ("the parameters", ref) if ref is not None else ("query", query)
    for name, t in (("query", query), ("keys", keys), ("values", values)):
        if t.dtype != ref.dtype:
            raise TypeError(f"{name} must have the same dtype as {ref_name} ({ref.dtype}), got {t.dtype}")
    if mask is not None:
        if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
            got = mask.dtype if isinstance(mask, torch.Tensor) else type(mask).__name__
            raise TypeError(f"mask must be a bool tensor of shape ({N}, {S}) (True = keep), got {got}")
        check_shape("mask", mask, (N, S), note="(N, S) from keys")
        empty = ~mask.any(dim=1)
        if empty.any():
            rows = torch.nonzero(empty).flatten().tolist()
            raise ValueError(f"mask must keep at least one position in every row, got rows {rows} all False")
    single = query.dim() == 2
    return (query.unsqueeze(1) if single else query), values, single


def _attend(scores, values, mask, single):
    """weights = masked softmax of scores (N, Tq, S); context = weights @ values (N, Tq, Hv)."""
    if mask is not None:
        # exp(-inf) = 0: a masked position gets exactly zero weight
        scores = scores.masked_fill(~mask.unsqueeze(1), float("-inf"))
    # alpha_ts = exp(e_ts) / sum_r exp(e_tr)
    weights = torch.softmax(scores, dim=-1)
    # c_t = sum_s alpha_ts v_s
    context = torch.bmm(weights, values)
    return (context.squeeze(1), weights.squeeze(1)) if single else (context, weights)


class AdditiveAttention(nn.Module):
    """Bahdanau attention: e_s = v^T tanh(W_q q + W_k k_s) (no biases, as in the paper).

    Args:
        query_size: Hq, the size of a query (e.g. the decoder state).
        key_size: Hk, the size of a key (e.g. an encoder annotation).
        hidden_size: A, the size of the score's hidden layer.
    """

    def __init__(self, query_size, key_size, hidden_size, device=None, dtype=None):
        super().__init__()
        self.query_size = check_positive_int("query_size", query_size)
        self.key_size = check_positive_int("key_size", key_size)
        self.hidden_size = check_positive_int("hidden_size", hidden_size)
        factory = {"device": device, "dtype": dtype}
        self.W_q = nn.Parameter(torch.empty(self.hidden_size, self.query_size, **factory))
        self.W_k = nn.Parameter(torch.empty(self.hidden_size, self.key_size, **factory))
        self.v = nn.Parameter(torch.empty(self.hidden_size, **factory))
        self.reset_parameters()

    def reset_parameters(self):
        """U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for each weight, as nn.Linear and rnnlib.scratch do."""
        for weight, fan_in in ((self.W_q, self.query_size), (self.W_k, self.key_size), (self.v, self.hidden_size)):
            bound = 1.0 / math.sqrt(fan_in)
            nn.init.uniform_(weight, -bound, bound)

    def extra_repr(self):
        return f"query_size={self.query_size}, key_size={self.key_size}, hidden_size={self.hidden_size}"

    def project_keys(self, keys):
        """W_k k_s for every key: (N, S, Hk) -> (N, S, A).

        It does not depend on the query, so a decoder that asks a new query of the same keys at
        every step computes it once per sequence and passes it to :meth:`forward` as
        ``projected_keys`` (Bahdanau et al. 2015, appendix A.1.2).
        """
        check_shape("keys", keys, ("N", "S", self.key_size))
        return keys @ self.W_k.t()

    def forward(self, query, keys, values=None, mask=None, projected_keys=None):
        """Returns (context, weights); see the module docstring for shapes.

        ``projected_keys`` (N, S, A): :meth:`project_keys` of ``keys``, computed once beforehand;
        None computes it here.
        """
        q, values, single = _check_inputs(query, keys, values, mask, self.query_size, self.key_size, ref=self.W_q)
        if projected_keys is None:
            projected_keys = self.project_keys(keys)
        else:
            check_shape("projected_keys", projected_keys, (*keys.shape[:2], self.hidden_size), note="(N, S, A): project_keys(keys)")
        # u_ts = tanh(W_q q_t + W_k k_s): each projection computed once, combined by broadcasting
        u = torch.tanh((q @ self.W_q.t()).unsqueeze(2) + projected_keys.unsqueeze(1))  # (N, Tq, S, A)
        # e_ts = v^T u_ts
        scores = u @ self.v
        return _attend(scores, values, mask, single)


class DotProductAttention(nn.Module):
    """Luong's dot score e_s = q . k_s, divided by sqrt(H) when ``scaled`` (Vaswani et al. 2017).

    No parameters; the query and the keys must have the same size H.
    """

    def __init__(self, scaled=True):
        super().__init__()
        self.scaled = check_bool("scaled", scaled)

    def extra_repr(self):
        return f"scaled={self.scaled}"

    def forward(self, query, keys, values=None, mask=None):
        """Returns (context, weights); see the module docstring for shapes."""
        if isinstance(query, torch.Tensor) and isinstance(keys, torch.Tensor) and keys.dim() == 3:
            if query.shape[-1] != keys.shape[-1]:
                raise ValueError(
                    f"keys must have the query's size {query.shape[-1]} in their last dimension for "
                    f"dot-product attention, got keys of shape {tuple(keys.shape)}"
                )
        q, values, single = _check_inputs(query, keys, values, mask)
        # e_ts = q_t . k_s  (/ sqrt(H): keeps the scores' variance near 1 for unit-variance inputs)
        scores = torch.bmm(q, keys.transpose(1, 2))
        if self.scaled:
            scores = scores / math.sqrt(keys.shape[-1])
        return _attend(scores, values, mask, single)
