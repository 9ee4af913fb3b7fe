r"""Layers around the recurrent cells, each a forward/backward pair with a cache.

    out, cache = embedding_forward(ids, W)          dW = embedding_backward(dout, cache)
    out, cache = linear_forward(x, W, b)            dx, dW, db = linear_backward(dout, cache)
    loss, dlogits = softmax_cross_entropy(logits, targets, mask=None)

Weights use PyTorch's layout: ``nn.Embedding.weight`` (V, D) and ``nn.Linear.weight`` (M, D).
"""

import numpy as np

from rnnlib.scratch._checks import check_array
from rnnlib.validate import check_integer, check_shape


def sigmoid(x):
    r"""Logistic function :math:`\sigma(x) = 1 / (1 + e^{-x})`, accurate for every x (as torch's)."""
    # for x < -709, e^{-x} overflows to inf and 1 / (1 + inf) = 0, the correctly rounded value
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-x))


def embedding_forward(ids, W):
    """Look up rows of W: out[..., :] = W[ids[...]].

    ids: integer array of any shape S (e.g. (N,) or (N, T)) with values in [0, V);
    W (V, D). Returns ``(out, cache)`` with out of shape S + (D,).
    """
    W_shape = check_array("W", W, ("V", "D"))
    if not isinstance(ids, np.ndarray):
        raise TypeError(f"ids must be a NumPy integer array, got {type(ids).__name__}")
    check_integer("ids", ids)
    if ids.size and (ids.min() < 0 or ids.max() >= W_shape[0]):
        raise ValueError(f"ids must be in [0, {W_shape[0]}) (rows of W), got values in [{ids.min()}, {ids.max()}]")
    # out = W[ids]
    return W[ids], (ids, W.shape)


def embedding_backward(dout, cache):
    """dW (V, D): row v collects the gradient of every position whose id is v."""
    ids, W_shape = cache
    check_array("dout", dout, ids.shape + (W_shape[1],))
    dW = np.zeros(W_shape, dout.dtype)
    # the same row may be used many times: np.add.at accumulates repeated indices
    np.add.at(dW, ids, dout)
    return dW


def linear_forward(x, W, b=None):
    """Affine map out = x W^T + b on the last axis.

    x (N, D) or over time (N, T, D); W (M, D); b (M,) or None. Returns ``(out, cache)``,
    out (N, M) or (N, T, M).
    """
    M, D = check_array("W", W, ("M", "D"))
    over_time = isinstance(x, np.ndarray) and x.ndim == 3
    check_array("x", x, ("N", "T", D) if over_time else ("N", D))
    if b is not None:
        check_array("b", b, (M,))
    # out = x W^T + b
    out = x @ W.T
    if b is not None:
        out = out + b
    return out, (x, W, b is not None)


def linear_backward(dout, cache):
    """Returns ``(dx, dW, db)``; db is None when the forward had no bias."""
    x, W, has_bias = cache
    check_array("dout", dout, x.shape[:-1] + (W.shape[0],))
    dout2, x2 = dout.reshape(-1, W.shape[0]), x.reshape(-1, x.shape[-1])
    # out = x W^T + b  =>  dx = dout W,  dW = dout^T x (summed over rows and steps),  db = sum dout
    dx = dout @ W
    dW = dout2.T @ x2
    db = dout2.sum(axis=0) if has_bias else None
    return dx, dW, db


def softmax_cross_entropy(logits, targets, mask=None):
    r"""Mean cross-entropy of softmax(logits) over the unmasked tokens, and its gradient.

    .. math::

        L = \frac{1}{\sum_i m_i} \sum_i m_i \Big( \log \sum_c e^{z_{ic}} - z_{i, y_i} \Big),
        \qquad \frac{\partial L}{\partial z_{ic}} = \frac{m_i}{\sum_j m_j}\big(\mathrm{softmax}(z_i)_c - [c = y_i]\big)

    logits (N, C) or (N, T, C); targets integer (N,) or (N, T) in [0, C); mask boolean like
    targets (True = counts) or None (all count). Same value as
    ``torch.nn.functional.cross_entropy`` with masked targets set to ``ignore_index``.
    Returns ``(loss, dlogits)``, loss a float and dlogits shaped like logits.
    """
    over_time = isinstance(logits, np.ndarray) and logits.ndim == 3
    check_array("logits", logits, ("N", "T", "C") if over_time else ("N", "C"))
    lead, C = logits.shape[:-1], logits.shape[-1]
    if not isinstance(targets, np.ndarray):
        raise TypeError(f"targets must be a NumPy integer array of shape {lead}, got {type(targets).__name__}")
    check_integer("targets", targets)
    check_shape("targets", targets, lead)
    if mask is None:
        mask = np.ones(lead, dtype=bool)
    if not isinstance(mask, np.ndarray) or mask.dtype != bool:
        raise TypeError(f"mask must be a boolean NumPy array of shape {lead}, got {getattr(mask, 'dtype', type(mask).__name__)}")
    check_shape("mask", mask, lead)
    kept = targets[mask]
    if kept.size and (kept.min() < 0 or kept.max() >= C):
        raise ValueError(f"targets must be in [0, {C}) (number of classes), got values in [{kept.min()}, {kept.max()}]")
    count = int(mask.sum())
    if count == 0:
        raise ValueError("mask must keep at least one token, got a mask that is all False")

    # log softmax, shifted by the row maximum so that exp never overflows (logits of 1e4 are fine)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    safe_targets = np.where(mask, targets, 0)  # masked targets may hold any value (e.g. -100)
    # L = -(1 / count) sum_i m_i log p_{i, y_i}
    picked = np.take_along_axis(log_probs, safe_targets[..., None], axis=-1)[..., 0]
    loss = -np.sum(picked * mask) / count
    # dL/dz = m (softmax(z) - onehot(y)) / count
    onehot = np.arange(C) == safe_targets[..., None]
    dlogits = (np.exp(log_probs) - onehot) * (mask[..., None] / count)
    return float(loss), dlogits
