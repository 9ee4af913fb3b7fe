r"""A captioning model in NumPy (the CS231n exercise, built from ``rnnlib.scratch`` layers).

Given a feature vector per image (N, F) and its caption ids (N, L) =
``<start> y_1 .. y_n <end> <pad>...``, the model reads ``captions[:, :-1]`` and predicts
``captions[:, 1:]``:

.. math::

    h_0 = W_p f + b_p, \qquad x_t = E[y_{t-1}], \qquad
    h_t = \tanh(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh}), \qquad
    s_t = W_v h_t + b_v,

    L = \frac{1}{\sum_{t} m_t} \sum_t m_t \, \big(-\log \mathrm{softmax}(s_t)_{y_t}\big),
    \quad m_t = [y_t \ne \texttt{<pad>}].

Every piece is a forward/backward pair of ``rnnlib.scratch`` (``linear``, ``embedding``,
``rnn``, ``softmax_cross_entropy``); :func:`captioning_loss_backward` runs them backwards in
reverse order. ``params`` holds ``W_proj (H, F), b_proj (H,), W_embed (V, E), W_ih (H, E),
W_hh (H, H), b_ih (H,), b_hh (H,), W_vocab (V, H), b_vocab (V,)`` (PyTorch's layouts).
"""

import numpy as np

from rnnlib.scratch import layers, rnn
from rnnlib.scratch.params import init_params
from rnnlib.validate import check_integer, check_keys, check_positive_int, check_shape

__all__ = [
    "CAPTIONING_KEYS",
    "init_captioning_params",
    "captioning_loss_forward",
    "captioning_loss_backward",
    "captioning_loss",
    "captioning_greedy",
]

CAPTIONING_KEYS = ("W_proj", "b_proj", "W_embed", "W_ih", "W_hh", "b_ih", "b_hh", "W_vocab", "b_vocab")
_RNN_KEYS = ("W_ih", "W_hh", "b_ih", "b_hh")


def init_captioning_params(feature_size, vocab_size, embedding_dim, hidden_size, rng, dtype=np.float64):
    """Parameters with PyTorch's default initialisation (U(-1/sqrt(fan_in), 1/sqrt(fan_in)); embeddings N(0, 1))."""
    F = check_positive_int("feature_size", feature_size)
    V = check_positive_int("vocab_size", vocab_size)
    E = check_positive_int("embedding_dim", embedding_dim)
    H = check_positive_int("hidden_size", hidden_size)
    params = init_params("rnn", E, H, rng, dtype)

    def uniform(shape, fan_in):
        bound = 1.0 / np.sqrt(fan_in)
        return rng.uniform(-bound, bound, size=shape).astype(dtype)

    params.update(
        W_proj=uniform((H, F), F), b_proj=uniform((H,), F),
        W_embed=rng.standard_normal((V, E)).astype(dtype),
        W_vocab=uniform((V, H), H), b_vocab=uniform((V,), H),
    )
    return params


def _check(features, captions, params):
    check_keys("params", params, CAPTIONING_KEYS)
    check_shape("features", features, ("N", params["W_proj"].shape[1]))
    check_integer("captions", captions)
    check_shape("captions", captions, (features.shape[0], "L"), note="(one caption per feature row)")
    if captions.shape[1] < 2:
        raise ValueError(f"captions must hold at least <start> and one word (L >= 2), got shape {captions.shape}")


def captioning_loss_forward(features, captions, params, pad_id=0):
    """Masked mean cross-entropy of the caption words. Returns ``(loss, cache)``.

    features (N, F) float; captions (N, L) int with ``pad_id`` after ``<end>``.
    """
    _check(features, captions, params)
    captions_in, targets = captions[:, :-1], captions[:, 1:]
    mask = targets != pad_id
    if not mask.any():
        raise ValueError(f"captions must hold at least one word to predict after <start> (a token other than "
                         f"pad_id={pad_id}), got only padding")
    # h_0 = W_p f + b_p
    h0, proj_cache = layers.linear_forward(features, params["W_proj"], params["b_proj"])
    # x_t = E[y_{t-1}]
    x, embed_cache = layers.embedding_forward(captions_in, params["W_embed"])
    # h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
    hs, _, rnn_cache = rnn.forward(x, h0, {k: params[k] for k in _RNN_KEYS})
    # s_t = W_v h_t + b_v
    logits, vocab_cache = layers.linear_forward(hs, params["W_vocab"], params["b_vocab"])
    loss, dlogits = layers.softmax_cross_entropy(logits, targets, mask)
    return loss, (dlogits, proj_cache, embed_cache, rnn_cache, vocab_cache)


def captioning_loss_backward(dloss, cache):
    """Gradients of ``dloss * loss``: a dict with ``features`` and every key of params."""
    dlogits, proj_cache, embed_cache, rnn_cache, vocab_cache = cache
    dloss = float(np.asarray(dloss))
    grads = {}
    dhs, grads["W_vocab"], grads["b_vocab"] = layers.linear_backward(dloss * dlogits, vocab_cache)
    dx, dh0, rnn_grads = rnn.backward(dhs, rnn_cache)
    grads.update(rnn_grads)
    grads["W_embed"] = layers.embedding_backward(dx, embed_cache)
    grads["features"], grads["W_proj"], grads["b_proj"] = layers.linear_backward(dh0, proj_cache)
    return grads


def captioning_loss(features, captions, params, pad_id=0):
    """``(loss, grads)`` in one call (grads has the keys of params and ``features``)."""
    loss, cache = captioning_loss_forward(features, captions, params, pad_id)
    return loss, captioning_loss_backward(1.0, cache)


def captioning_greedy(features, params, bos_id=1, max_len=18):
    """Greedy captions: ids (N, max_len), the most probable word fed back at each step."""
    check_keys("params", params, CAPTIONING_KEYS)
    check_shape("features", features, ("N", params["W_proj"].shape[1]))
    check_positive_int("max_len", max_len)
    rnn_params = {k: params[k] for k in _RNN_KEYS}
    h, _ = layers.linear_forward(features, params["W_proj"], params["b_proj"])
    y = np.full(features.shape[0], bos_id)
    out = np.zeros((features.shape[0], max_len), dtype=np.int64)
    for t in range(max_len):
        x, _ = layers.embedding_forward(y, params["W_embed"])
        h, _, _ = rnn.step_forward(x, h, rnn_params)
        logits, _ = layers.linear_forward(h, params["W_vocab"], params["b_vocab"])
        y = out[:, t] = logits.argmax(axis=1)
    return out
