"""check_clip_grad_norm accepts correct clipping (in place, torch's semantics) and names each mistake.

The learners' functions are written out here, each with one mistake, independently of the
checker's planted variants.
"""

import numpy as np
import pytest
import torch

from rnnlib.exercises import check_clip_grad_norm
from rnnlib.scratch import optim


def learner_clip(grads, max_norm):
    total = np.sqrt(sum((g**2).sum() for g in grads.values()))
    if total > max_norm:
        for g in grads.values():
            g *= max_norm / total
    return total


def torch_clip(grads, max_norm):
    # torch as an independent oracle: clip_grad_norm_ on tensors sharing the arrays' memory
    tensors = [torch.from_numpy(g) for g in grads.values()]
    for t in tensors:
        t.grad = t.clone()
    total = torch.nn.utils.clip_grad_norm_(tensors, max_norm)
    for t, g in zip(tensors, grads.values()):
        g[...] = t.grad.numpy()
    return float(total)


def test_accepts_reference_learner_and_torch(capsys):
    assert check_clip_grad_norm(optim.clip_grad_norm) is True
    assert check_clip_grad_norm(learner_clip) is True
    assert check_clip_grad_norm(torch_clip) is True
    out = capsys.readouterr().out
    assert out.count("PASSED clip_grad_norm") == 3


def clip_each_entry(grads, max_norm):
    total = np.sqrt(sum((g**2).sum() for g in grads.values()))
    for g in grads.values():
        np.clip(g, -max_norm, max_norm, out=g)
    return total


def scale_always(grads, max_norm):
    total = np.sqrt(sum((g**2).sum() for g in grads.values()))
    for g in grads.values():
        g *= max_norm / total
    return total


def per_tensor(grads, max_norm):
    total = np.sqrt(sum((g**2).sum() for g in grads.values()))
    for g in grads.values():
        norm = np.linalg.norm(g)
        if norm > max_norm:
            g *= max_norm / norm
    return total


def sum_of_norms(grads, max_norm):
    total = sum(np.linalg.norm(g) for g in grads.values())
    if total > max_norm:
        for g in grads.values():
            g *= max_norm / total
    return total


def norm_after(grads, max_norm):
    learner_clip(grads, max_norm)
    return np.sqrt(sum((g**2).sum() for g in grads.values()))


@pytest.mark.parametrize(
    "fn, hint",
    [
        (clip_each_entry, "clip_grad_value"),
        (scale_always, "below max_norm"),
        (per_tensor, "its own norm"),
        (sum_of_norms, "sum of the arrays' norms"),
        (norm_after, "norm after clipping"),
    ],
)
def test_names_each_mistake(fn, hint):
    with pytest.raises(AssertionError, match="Hint: your output matches a common mistake") as info:
        check_clip_grad_norm(fn, verbose=False)
    assert hint in str(info.value)


def test_other_failures_are_explained():
    def returns_new_dict(grads, max_norm):
        return {k: g * 0.5 for k, g in grads.items()}

    with pytest.raises(AssertionError, match="in place"):
        check_clip_grad_norm(returns_new_dict, verbose=False)

    def forgets_to_clip(grads, max_norm):
        return np.sqrt(sum((g**2).sum() for g in grads.values()))

    with pytest.raises(AssertionError, match="differs from the reference") as info:
        check_clip_grad_norm(forgets_to_clip, verbose=False)
    assert "min(1, max_norm / total_norm)" in str(info.value)

    def crashes(grads, max_norm):
        raise KeyError("W")

    with pytest.raises(AssertionError, match="raised KeyError"):
        check_clip_grad_norm(crashes, verbose=False)
    with pytest.raises(TypeError, match="fn must be a function"):
        check_clip_grad_norm(3)
