"""Fixtures for rnnlib's unit tests."""

import pytest
import torch
from hypothesis import settings

# No per-example time limit: make test runs two workers side by side, and a property test must
# not fail because the other worker slowed one example down (what each test checks is the value).
settings.register_profile("rnnlib", deadline=None)
settings.load_profile("rnnlib")


@pytest.fixture(autouse=True)
def one_thread():
    """Run every unit test on one torch thread.

    The tests use tiny tensors: with two threads each operation pays for waking the other thread
    (about 100x slower on a machine that runs other work), and one thread gives nothing up.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
