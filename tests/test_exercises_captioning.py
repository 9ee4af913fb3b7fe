"""check_caption_loss accepts a correct masked temporal softmax loss and names each mistake.

The learners' functions are written here independently, each with one mistake; torch is the oracle.
"""

import numpy as np
import pytest
import torch

from rnnlib.exercises import check_caption_loss


def learner_loss(logits, targets, mask):
    N, T, V = logits.shape
    z = logits.reshape(N * T, V)
    z = z - z.max(axis=1, keepdims=True)
    log_probs = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    probs = np.exp(log_probs)
    y, m = targets.reshape(-1), mask.reshape(-1)
    count = m.sum()
    loss = -np.sum(m * log_probs[np.arange(N * T), y]) / count
    dz = probs.copy()
    dz[np.arange(N * T), y] -= 1
    dz *= m[:, None] / count
    return loss, dz.reshape(N, T, V)


def torch_loss(logits, targets, mask):
    z = torch.tensor(logits, requires_grad=True)
    y = torch.tensor(np.where(mask, targets, -100))
    loss = torch.nn.functional.cross_entropy(z.reshape(-1, z.shape[-1]), y.reshape(-1), ignore_index=-100)
    loss.backward()
    return loss.item(), z.grad.numpy()


def cs231n_loss(logits, targets, mask):
    loss, d = learner_loss(logits, targets, mask)
    return loss * mask.sum() / logits.shape[0], d * mask.sum() / logits.shape[0]


def unmasked_loss(logits, targets, mask):
    return learner_loss(logits, targets, np.ones_like(mask))


def unshifted_loss(logits, targets, mask):
    # no max subtraction: exp(500 * ...) overflows on the large-logit case
    N, T, V = logits.shape
    with np.errstate(all="ignore"):
        e = np.exp(logits)
        probs = e / e.sum(axis=-1, keepdims=True)
        picked = np.take_along_axis(probs, targets[..., None], -1)[..., 0]
        loss = -np.sum(mask * np.log(picked)) / mask.sum()
    d = probs - (np.arange(V) == targets[..., None])
    return loss, d * mask[..., None] / mask.sum()


def test_accepts_correct_learner_and_torch(capsys):
    assert check_caption_loss(learner_loss) is True
    assert check_caption_loss(torch_loss) is True
    assert capsys.readouterr().out.count("PASSED temporal softmax loss") == 2


@pytest.mark.parametrize(
    "fn, hint",
    [(cs231n_loss, "number of captions"), (unmasked_loss, "padding was counted")],
)
def test_names_the_mistake(fn, hint):
    with pytest.raises(AssertionError, match=hint):
        check_caption_loss(fn, verbose=False)


def test_overflow_is_caught():
    with pytest.raises(AssertionError, match="size 500"):
        check_caption_loss(unshifted_loss, verbose=False)
