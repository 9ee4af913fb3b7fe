"""Greedy and beam search, written once for every decoder in rnnlib (translation, captioning).

A decoder exposes one step, ``step(y_prev, state) -> (logits, state, weights)``, for k rows at
once; :func:`greedy_search` and :func:`beam_search` do the rest. The logits a step returns are
checked at every step: NaN, or a row where every token is banned (-inf), raises a ValueError
instead of emitting an arbitrary token, and the special ids must lie in the vocabulary.
"""

from dataclasses import dataclass

import torch

from rnnlib.layout import hidden
from rnnlib.validate import check_positive_int, check_special_ids

__all__ = ["Hypothesis", "greedy_search", "beam_search"]


@dataclass
class Hypothesis:
    """One finished beam: ``tokens`` (without ``<bos>``, ending with ``<eos>`` unless cut at
    ``max_len``), ``score`` = the sum of its tokens' log-probabilities, and the per-step
    attention ``weights`` (len(tokens), S) or None."""

    tokens: list
    score: float
    weights: torch.Tensor = None


def _select_rows(state, rows):
    return tuple(s[rows] for s in state) if isinstance(state, tuple) else state[rows]


def _stack(weights):
    return torch.stack(weights) if weights else None


def _check_logits(logits, rows, t, distinct, **ids):
    """The step's logits must be (rows, V), hold no NaN and leave at least one token per row; the
    special ids must lie in [0, V)."""
    if not isinstance(logits, torch.Tensor) or logits.dim() != 2 or logits.shape[0] != rows:
        got = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise ValueError(f"step must return logits of shape ({rows}, V) (one row per prefix), got {got} at step {t}")
    V = logits.shape[1]
    check_special_ids(V, "the number of logits V", distinct, **ids)
    if torch.isnan(logits).any():
        raise ValueError(f"step returned NaN logits at step {t}: nothing can be decoded from them")
    banned = torch.isneginf(logits).all(dim=1)
    if banned.any():
        raise ValueError(f"step returned logits that are -inf for every token at step {t} (row "
                         f"{int(banned.nonzero()[0])}): no token can be emitted")


@torch.no_grad()
def greedy_search(step, state, *, batch_size, bos_id, eos_id, pad_id, max_len, device):
    """Greedy decoding of a batch: the most probable token at each step, :math:`y_t = \\arg\\max_v p(v \\mid y_{<t}, x)`.

    Args:
        step: ``step(y_prev (N,), state) -> (logits (N, V), state, weights (N, S) or None)``.
        state: the decoder's initial state for the batch: a tensor (N, H) or a tuple of them.
        batch_size: N.
        bos_id, eos_id, pad_id: start, end and padding token ids, in the vocabulary; ``eos_id``
            must differ from ``pad_id``.
        max_len: the most steps to take.
        device: where the token tensors live.

    Returns:
        tokens (N, L) int64, each row ending at its ``<eos>`` and padded with ``pad_id`` after it,
        and the attention weights (N, L, S) (None when ``step`` returns none); L <= max_len: the
        search stops when every row has produced ``<eos>``.
    """
    check_positive_int("batch_size", batch_size)
    check_positive_int("max_len", max_len)
    check_special_ids(distinct=("eos_id", "pad_id"), bos_id=bos_id, eos_id=eos_id, pad_id=pad_id)
    y = torch.full((batch_size,), bos_id, dtype=torch.long, device=device)
    done = torch.zeros(batch_size, dtype=torch.bool, device=device)
    tokens, weights = [], []
    for t in range(1, max_len + 1):
        logits, state, alpha = step(y, state)
        _check_logits(logits, batch_size, t, ("eos_id", "pad_id"), bos_id=bos_id, eos_id=eos_id, pad_id=pad_id)
        y = logits.argmax(dim=1)
        tokens.append(torch.where(done, torch.full_like(y, pad_id), y))
        weights.append(alpha)
        done = done | (y == eos_id)
        if bool(done.all()):
            break
    weights = None if weights[0] is None else torch.stack(weights, dim=1)
    return torch.stack(tokens, dim=1), weights


@torch.no_grad()
def beam_search(step, state, *, bos_id, eos_id, beam_size, max_len):
    """Beam search over any decoder step function, for one input; returns the best :class:`Hypothesis`.

    Args:
        step: ``step(y_prev (k,), state) -> (logits (k, V), state, weights (k, S) or None)``: one
            decoder step for k live prefixes at once (the function expands whatever it reads,
            such as encoder outputs or image features, to k rows, and sets the logits of tokens
            that must never be emitted to -inf).
        state: the decoder's initial state for one input: a tensor (1, H) or a tuple of them.
        bos_id, eos_id: start and end token ids, in the vocabulary.

    A step whose logits hold NaN, or are -inf for every token of a prefix, raises ValueError; a
    banned token (logit -inf) is never part of a hypothesis.

    At each step every live prefix is extended by every token and the ``beam_size`` highest-scoring
    extensions are kept (score = sum of log-probabilities, :math:`\\sum_t \\log p(y_t \\mid y_{<t}, x)`).
    An extension that ends in ``<eos>`` is finished and leaves the beam. The search stops when no
    live prefix is left or none can beat the best finished one (scores only decrease as tokens are
    added), or after ``max_len`` steps, when the live prefixes are finished as they are.
    With ``beam_size=1`` it is greedy decoding; with a beam as wide as the number of prefixes it
    is exact.
    """
    check_positive_int("beam_size", beam_size)
    check_positive_int("max_len", max_len)
    check_special_ids(distinct=(), bos_id=bos_id, eos_id=eos_id)
    first = hidden(state)
    device = first.device
    prefixes, prefix_weights = [[]], [[]]
    scores = torch.zeros(1, dtype=first.dtype, device=device)
    y = torch.full((1,), bos_id, dtype=torch.long, device=device)
    finished = []
    for t in range(1, max_len + 1):
        logits, state, alpha = step(y, state)
        _check_logits(logits, len(prefixes), t, (), bos_id=bos_id, eos_id=eos_id)
        V = logits.shape[1]
        candidates = (scores[:, None] + torch.log_softmax(logits, dim=1)).flatten()  # (k * V,)
        # a banned token (logit -inf) has score -inf: it is never kept, even when fewer than
        # beam_size candidates are left
        allowed = int(torch.isfinite(candidates).sum())
        top_scores, top_index = candidates.topk(min(beam_size, allowed))
        keep_rows, keep_tokens, keep_scores = [], [], []
        for score, index in zip(top_scores.tolist(), top_index.tolist()):
            row, token = divmod(index, V)
            if token == eos_id:  # finished: it leaves the beam, which shrinks
                weights = prefix_weights[row] + ([] if alpha is None else [alpha[row]])
                finished.append(Hypothesis(prefixes[row] + [token], score, _stack(weights)))
            else:
                keep_rows.append(row)
                keep_tokens.append(token)
                keep_scores.append(score)
        if not keep_rows:
            prefixes = []
            break
        prefix_weights = [prefix_weights[r] + ([] if alpha is None else [alpha[r]]) for r in keep_rows]
        prefixes = [prefixes[r] + [t] for r, t in zip(keep_rows, keep_tokens)]
        scores = torch.tensor(keep_scores, dtype=scores.dtype, device=device)
        state = _select_rows(state, torch.tensor(keep_rows, device=device))
        y = torch.tensor(keep_tokens, dtype=torch.long, device=device)
        if max((h.score for h in finished), default=-float("inf")) >= float(scores.max()):
            prefixes = []
            break
    finished += [Hypothesis(p, float(s), _stack(w)) for p, s, w in zip(prefixes, scores.tolist(), prefix_weights)]
    return max(finished, key=lambda h: h.score)
