"""rnnlib.seed_everything and the seed family chosen by RNNLIB_SEED; rnnlib.get_device's choice."""

import random

import numpy as np
import pytest
import torch

from rnnlib.device import effective_seed, get_device, seed_everything


def draws(seed):
    rng = seed_everything(seed)
    return random.random(), float(np.random.rand()), float(torch.rand(())), float(rng.random())


def test_same_seed_same_draws_everywhere(monkeypatch):
    monkeypatch.delenv("RNNLIB_SEED", raising=False)
    assert draws(3) == draws(3)
    assert draws(3) != draws(4)


def test_unset_and_zero_family_keep_the_written_seed(monkeypatch):
    monkeypatch.delenv("RNNLIB_SEED", raising=False)
    assert effective_seed(7) == 7
    unset = draws(7)
    monkeypatch.setenv("RNNLIB_SEED", "0")
    assert effective_seed(7) == 7
    assert draws(7) == unset


def test_another_family_changes_every_generator_and_keeps_seeds_apart(monkeypatch):
    monkeypatch.delenv("RNNLIB_SEED", raising=False)
    book = draws(0)
    monkeypatch.setenv("RNNLIB_SEED", "1")
    family_1 = draws(0)
    # every source of randomness moves, not just one of them
    assert all(a != b for a, b in zip(book, family_1))
    # distinct seeds in one notebook stay distinct within a family, and families differ
    assert effective_seed(0) != effective_seed(1)
    monkeypatch.setenv("RNNLIB_SEED", "2")
    assert effective_seed(0) != 0
    assert draws(0) != family_1
    # reproducible: the same family gives the same draws
    assert draws(0) == draws(0)


def test_family_seed_fits_torch_and_samplers(monkeypatch):
    monkeypatch.setenv("RNNLIB_SEED", "12345")
    for seed in (0, 1, 2**64 - 1):
        mixed = effective_seed(seed)
        assert 0 <= mixed < 2**63
        torch.Generator().manual_seed(mixed + 1000)  # a sampler adds its epoch


@pytest.mark.parametrize("seed", [-1, 2**64])
def test_seed_out_of_range_is_named(seed):
    with pytest.raises(ValueError, match=r"seed must be an int in \[0, 2\*\*64 - 1\], got"):
        seed_everything(seed)


@pytest.mark.parametrize("seed", [1.5, "3", True, None])
def test_seed_of_wrong_type_is_named(seed):
    with pytest.raises(TypeError, match="seed must be an int"):
        seed_everything(seed)


@pytest.mark.parametrize("value", ["one", "-3", "1.5"])
def test_bad_family_variable_is_named(monkeypatch, value):
    monkeypatch.setenv("RNNLIB_SEED", value)
    with pytest.raises(ValueError, match="RNNLIB_SEED"):
        seed_everything(0)


def test_fit_data_order_follows_the_family(monkeypatch):
    from rnnlib.train import fit

    data = torch.utils.data.TensorDataset(torch.arange(16.0).unsqueeze(1))
    seen = {}

    def record(family):
        if family is None:
            monkeypatch.delenv("RNNLIB_SEED", raising=False)
        else:
            monkeypatch.setenv("RNNLIB_SEED", family)
        model = torch.nn.Linear(1, 1)
        order = []

        def loss_fn(model, batch):
            order.extend(batch[0].flatten().tolist())
            return model(batch[0]).sum() * 0.0

        fit(model, data, loss_fn, optimizer=torch.optim.SGD(model.parameters(), lr=0.0), batch_size=4,
            device="cpu", progress=False, seed=0)
        seen[family] = order

    record(None)
    record("1")
    record(None)
    assert sorted(seen[None]) == sorted(seen["1"])
    assert seen[None] != seen["1"]


def test_get_device_honours_the_environment(monkeypatch):
    monkeypatch.setenv("RNNLIB_DEVICE", "cpu")
    assert get_device() == torch.device("cpu")
    monkeypatch.setenv("RNNLIB_DEVICE", "tpu")
    with pytest.raises(ValueError, match="prefer must be one of"):
        get_device()
