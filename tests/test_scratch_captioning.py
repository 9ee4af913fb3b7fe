"""rnnlib.scratch.captioning: loss and every gradient against finite differences and torch autograd."""

import numpy as np
import pytest
import torch

from rnnlib.scratch import check_gradients
from rnnlib.scratch.captioning import (
    CAPTIONING_KEYS,
    captioning_greedy,
    captioning_loss,
    captioning_loss_backward,
    captioning_loss_forward,
    init_captioning_params,
)

N, F, V, E, H, L = 3, 5, 7, 4, 6, 6


def make(seed=0):
    rng = np.random.default_rng(seed)
    params = init_captioning_params(F, V, E, H, rng)
    features = rng.standard_normal((N, F))
    captions = np.array([[1, 3, 4, 2, 0, 0], [1, 5, 6, 3, 4, 2], [1, 2, 0, 0, 0, 0]])
    return features, captions, params


def test_gradients_match_finite_differences():
    features, captions, params = make()

    def forward(features, **params):
        return captioning_loss_forward(features, captions, params)

    errors = check_gradients(forward, captioning_loss_backward, {"features": features, **params})
    assert set(errors) == {"features", *CAPTIONING_KEYS}
    assert max(errors.values()) < 1e-7, errors


def test_loss_and_gradients_match_torch():
    features, captions, params = make(1)
    loss, grads = captioning_loss(features, captions, params)
    t = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    f = torch.tensor(features, requires_grad=True)
    ids = torch.tensor(captions)
    h = f @ t["W_proj"].T + t["b_proj"]
    x = t["W_embed"][ids[:, :-1]]
    logits = []
    for step in range(L - 1):
        h = torch.tanh(x[:, step] @ t["W_ih"].T + t["b_ih"] + h @ t["W_hh"].T + t["b_hh"])
        logits.append(h @ t["W_vocab"].T + t["b_vocab"])
    expected = torch.nn.functional.cross_entropy(torch.stack(logits, 1).reshape(-1, V), ids[:, 1:].reshape(-1), ignore_index=0)
    expected.backward()
    assert loss == pytest.approx(expected.item(), rel=1e-12)
    np.testing.assert_allclose(grads["features"], f.grad.numpy(), atol=1e-12)
    for k in CAPTIONING_KEYS:
        np.testing.assert_allclose(grads[k], t[k].grad.numpy(), atol=1e-12, err_msg=k)


def test_padding_does_not_count():
    features, captions, params = make(2)
    # the first caption ends at position 3: cutting its padding leaves the loss unchanged
    short = captioning_loss(features[:1], captions[:1, :4], params)[0]
    long = captioning_loss(features[:1], captions[:1], params)[0]
    assert short == pytest.approx(long, rel=1e-12)


def test_greedy_shapes_and_bad_input():
    features, captions, params = make()
    assert captioning_greedy(features, params, max_len=5).shape == (N, 5)
    with pytest.raises(ValueError, match="features"):
        captioning_loss(features[:, :2], captions, params)
    with pytest.raises(ValueError, match="captions"):
        captioning_loss(features, captions[:2], params)
