"""Truncated BPTT on fit, peak memory measurement, and checkpointed forward passes."""

import pytest
import torch

import rnnlib.nn
from rnnlib.nn.models import CharLM
from rnnlib.bptt import TruncatedBPTT, checkpointed_forward, detach_state, peak_memory, stream_windows
from rnnlib.train import fit




def _mse(outputs, targets):
    return ((outputs - targets) ** 2).mean()


def test_stream_windows_are_consecutive():
    x = torch.arange(2 * 10).view(2, 10)
    windows = stream_windows(x, x + 100, 4)
    assert [tuple(w[0].shape) for w in windows] == [(2, 4), (2, 4), (2, 2)]
    assert [int(w[2]) for w in windows] == [0, 1, 2]
    torch.testing.assert_close(torch.cat([w[0] for w in windows], dim=1), x)
    torch.testing.assert_close(torch.cat([w[1] for w in windows], dim=1), x + 100)
    with pytest.raises(ValueError, match="same N and L"):
        stream_windows(x, x[:, :5], 4)


def test_truncated_bptt_carries_state_forward_but_stops_gradients():
    torch.manual_seed(0)
    rnn = torch.nn.RNN(3, 5, batch_first=True, dtype=torch.float64)
    x = torch.randn(2, 8, 3, dtype=torch.float64)
    y = torch.randn(2, 8, 5, dtype=torch.float64)
    first, second = stream_windows(x, y, 4)
    loss_fn = TruncatedBPTT(_mse)
    loss_fn(rnn, first)
    rnn.zero_grad()
    loss = loss_fn(rnn, second)
    loss.backward()
    # forward: the second window starts from the state the first one ended in
    full_out, _ = rnn(x)
    assert loss.item() == pytest.approx(_mse(full_out[:, 4:], y[:, 4:]).item(), rel=1e-12)
    # backward: the same gradient as from a constant (detached) starting state
    truncated_grad = rnn.weight_hh_l0.grad.clone()
    rnn.zero_grad()
    _, h4 = rnn(x[:, :4])
    out, _ = rnn(x[:, 4:], h4.detach())
    _mse(out, y[:, 4:]).backward()
    torch.testing.assert_close(truncated_grad, rnn.weight_hh_l0.grad)
    # and not the full-BPTT gradient, which also flows into the first window
    rnn.zero_grad()
    _mse(full_out[:, 4:], y[:, 4:]).backward()
    assert not torch.allclose(truncated_grad, rnn.weight_hh_l0.grad)


def test_truncated_bptt_resets_at_position_zero_and_keeps_eval_state_apart():
    torch.manual_seed(0)
    rnn = torch.nn.RNN(3, 5, batch_first=True)
    x, y = torch.randn(2, 6, 3), torch.randn(2, 6, 5)
    windows = stream_windows(x, y, 3)
    loss_fn = TruncatedBPTT(_mse)
    first = loss_fn(rnn, windows[0]).item()
    loss_fn(rnn, windows[1])
    rnn.eval()
    with torch.no_grad():
        assert loss_fn(rnn, windows[0]).item() == pytest.approx(first)  # fresh eval state
    rnn.train()
    assert loss_fn(rnn, windows[0]).item() == pytest.approx(first)  # reset: a new pass


def test_truncated_bptt_trains_with_fit():
    torch.manual_seed(0)
    model = CharLM(2, 8)
    x = torch.randint(0, 2, (4, 40))
    windows = stream_windows(x, x, 10)
    history = fit(model, windows, TruncatedBPTT(), optimizer=torch.optim.Adam(model.parameters(), 5e-2),
                  epochs=3, progress=False, device="cpu", val_data=windows)
    assert history.step == list(range(1, 13))
    # predicting the current bit from itself is learnable inside any window
    assert history.val_loss[-1] < 0.5 * history.val_loss[0]


def test_detach_state():
    h = torch.ones(2, requires_grad=True) * 2
    assert not detach_state(h).requires_grad
    h2, c2 = detach_state((h, h))
    assert not h2.requires_grad and not c2.requires_grad
    assert detach_state(None) is None


def test_peak_memory_counts_live_tensors_only():
    mib = 2**18  # float32 elements in 1 MiB

    def one_after_the_other():
        a = torch.empty(mib)
        del a
        return torch.empty(2 * mib).numel()

    def together():
        a, b = torch.empty(mib), torch.empty(2 * mib)
        return a.numel() + b.numel()

    assert peak_memory(one_after_the_other) == (2 * mib, 2 * 2**20)
    assert peak_memory(together) == (3 * mib, 3 * 2**20)
    with pytest.raises(TypeError, match="fn must be callable"):
        peak_memory(3)


def test_peak_memory_of_training_grows_linearly_with_length():
    torch.manual_seed(0)
    rnn = torch.nn.RNN(4, 32, batch_first=True)

    def step(T):
        rnn.zero_grad(set_to_none=True)
        out, _ = rnn(torch.randn(4, T, 4))
        out.sum().backward()

    peaks = [peak_memory(step, T)[1] for T in (25, 50, 100)]
    assert peaks[1] == pytest.approx(2 * peaks[0], rel=0.15)
    assert peaks[2] == pytest.approx(2 * peaks[1], rel=0.15)


@pytest.mark.parametrize("module", ["rnn", "lstm", "rnnlib_gru"])
def test_checkpointed_forward_equals_plain_forward_and_gradients(module):
    torch.manual_seed(0)
    m = {
        "rnn": lambda: torch.nn.RNN(3, 6, batch_first=True, dtype=torch.float64),
        "lstm": lambda: torch.nn.LSTM(3, 6, num_layers=2, batch_first=True, dtype=torch.float64),
        "rnnlib_gru": lambda: rnnlib.nn.GRU(3, 6, dtype=torch.float64),
    }[module]()
    x = torch.randn(2, 11, 3, dtype=torch.float64, requires_grad=True)

    def loss_of(outputs, state):
        h = state[0] if isinstance(state, tuple) else state
        return (outputs**2).sum() + (h**3).sum()

    plain = loss_of(*m(x))
    grads = torch.autograd.grad(plain, [x, *m.parameters()])
    checked = loss_of(*checkpointed_forward(m, x, segment_length=4))
    checked_grads = torch.autograd.grad(checked, [x, *m.parameters()])
    assert checked.item() == pytest.approx(plain.item(), rel=1e-12)
    for a, b in zip(grads, checked_grads):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    outputs, _ = checkpointed_forward(m, x, segment_length=4, keep_outputs=False)
    assert outputs is None


def test_checkpointing_cuts_peak_memory():
    torch.manual_seed(0)
    rnn = torch.nn.LSTM(4, 64, batch_first=True)
    x = torch.randn(8, 256, 4)

    def plain():
        _, (h, _) = rnn(x)
        h.sum().backward()

    def checked():
        _, (h, _) = checkpointed_forward(rnn, x, segment_length=16, keep_outputs=False)
        h.sum().backward()

    assert peak_memory(checked)[1] < 0.3 * peak_memory(plain)[1]
    with pytest.raises(ValueError, match="segment_length"):
        checkpointed_forward(rnn, x, segment_length=0)


def test_default_criterion_ignores_minus_100_and_windows_without_targets():
    logits = torch.randn(2, 3, 4, requires_grad=True)
    targets = torch.tensor([[1, -100, 2], [-100, 0, 3]])
    expected = torch.nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=-100)

    class PassThrough(torch.nn.Module):  # the outputs are the logits themselves
        def forward(self, x, state):
            return x, state

    rnn = PassThrough()
    loss = TruncatedBPTT()(rnn, (logits, targets, torch.tensor(0)))
    assert loss.item() == pytest.approx(expected.item())
    empty = TruncatedBPTT()(rnn, (logits, torch.full((2, 3), -100), torch.tensor(0)))
    assert empty.item() == 0.0
    empty.backward()
    assert torch.equal(logits.grad, torch.zeros_like(logits))


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_peak_memory_on_cuda_reads_the_allocator_peak():
    mib = 2**18

    def one_after_the_other():
        a = torch.empty(mib, device="cuda")
        del a
        return torch.empty(2 * mib, device="cuda").numel()

    assert peak_memory(one_after_the_other, device="cuda") == (2 * mib, 2 * 2**20)
