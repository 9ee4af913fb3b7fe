"""Fixtures for rnnlib's unit tests."""

import pytest
import torch


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
