"""rnnlib.train: the one training loop, and its checkpoints."""

import math
import os
import random
import subprocess
import sys

import numpy as np
import pytest
import torch

from rnnlib.train import NonFiniteLossError, evaluate, fit, load_checkpoint, save_checkpoint, train_step


def _regression_data(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g)
    w = torch.tensor([[1.5], [-2.0], [0.5]])
    return torch.utils.data.TensorDataset(x, x @ w + 0.3)


def _mse(model, batch):
    x, y = batch
    return torch.nn.functional.mse_loss(model(x), y)


def test_fit_learns_a_linear_map_and_records_history():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    data = _regression_data()
    before = evaluate(model, data, _mse, batch_size=64)
    history = fit(model, data, _mse, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
                  epochs=5, batch_size=32, val_data=data, progress=False, device="cpu")
    assert len(history.step) == 5 * 256 // 32
    assert history.step == list(range(1, 41))
    assert history.val_step[-1] == 40 and len(history.val_loss) == 5
    assert history.final_val_loss < 1e-3 < before
    assert history.examples == 5 * 256
    assert all(s2 >= s1 for s1, s2 in zip(history.seconds, history.seconds[1:]))
    assert torch.allclose(model.weight, torch.tensor([[1.5, -2.0, 0.5]]), atol=0.05)


def test_fit_is_deterministic_for_a_seed():
    runs = []
    for _ in range(2):
        model = torch.nn.Linear(3, 1)
        torch.nn.init.zeros_(model.weight)
        torch.nn.init.zeros_(model.bias)
        h = fit(model, _regression_data(), _mse, optimizer=torch.optim.SGD(model.parameters(), lr=0.05),
                batch_size=16, progress=False, seed=3, device="cpu")
        runs.append(h.train_loss)
    assert runs[0] == runs[1]


def test_clipping_bounds_the_update_and_records_the_unclipped_norm():
    model = torch.nn.Linear(3, 1)
    data = [(torch.full((4, 3), 100.0), torch.zeros(4, 1))]
    before = [p.detach().clone() for p in model.parameters()]
    h = fit(model, data, _mse, optimizer=torch.optim.SGD(model.parameters(), lr=1.0),
            clip_grad_norm=0.5, progress=False, device="cpu")
    step = torch.cat([(p.detach() - b).flatten() for p, b in zip(model.parameters(), before)])
    assert h.grad_norm[0] > 100  # recorded before clipping
    assert step.norm().item() == pytest.approx(0.5, rel=1e-5)  # lr 1 * clipped norm


def test_max_steps_and_divergence_stop_training():
    model = torch.nn.Linear(3, 1)
    h = fit(model, _regression_data(), _mse, optimizer=torch.optim.SGD(model.parameters(), lr=0.01),
            epochs=3, batch_size=8, max_steps=7, progress=False, device="cpu")
    assert h.step[-1] == 7
    model = torch.nn.Linear(3, 1)
    h = fit(model, _regression_data(), _mse, optimizer=torch.optim.SGD(model.parameters(), lr=1e6),
            epochs=50, batch_size=8, progress=False, device="cpu", on_nonfinite="stop")
    assert not math.isfinite(h.train_loss[-1]) and len(h.step) < 50 * 32
    # the step whose loss was not finite was not applied: the weights are those of the step before
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_a_diverging_run_raises_by_default():
    """A run that diverges is an error unless the caller asked for its history (on_nonfinite="stop")."""
    model = torch.nn.Linear(3, 1)
    with pytest.raises(NonFiniteLossError, match="step"):
        fit(model, _regression_data(), _mse, optimizer=torch.optim.SGD(model.parameters(), lr=1e6),
            epochs=50, batch_size=8, progress=False, device="cpu")
    assert all(torch.isfinite(p).all() for p in model.parameters())


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"epochs": 0}, ValueError, r"epochs must be an int >= 1, got 0"),
        ({"clip_grad_norm": -1.0}, ValueError, r"clip_grad_norm must be a finite number > 0, got -1.0"),
        ({"batch_size": None}, ValueError, r"batch_size must be given when data is a torch Dataset, got None"),
        ({"max_seconds": 0}, ValueError, r"max_seconds must be a finite number > 0, got 0"),
        ({"clip_grad_norm": float("nan")}, ValueError, r"clip_grad_norm must be a finite number > 0, got nan"),
        ({"clip_grad_norm": float("inf")}, ValueError, r"clip_grad_norm must be a finite number > 0, got inf"),
        ({"on_nonfinite": "ignore"}, ValueError, r"on_nonfinite must be one of 'raise', 'stop', got 'ignore'"),
        ({"eval_every": 5}, ValueError, r"eval_every needs val_data"),
        ({"checkpoint_every": 5}, ValueError, r"checkpoint_every needs a checkpoint_path"),
        ({"shuffle": "yes"}, TypeError, r"shuffle must be True or False, got str 'yes'"),
    ],
)
def test_fit_rejects_bad_arguments(kwargs, error, message):
    model = torch.nn.Linear(3, 1)
    args = {"optimizer": torch.optim.SGD(model.parameters(), lr=0.1), "batch_size": 8, "progress": False}
    args.update(kwargs)
    with pytest.raises(error, match=message):
        fit(model, _regression_data(), _mse, **args)


def test_fit_rejects_a_non_scalar_loss_and_a_non_optimizer():
    model = torch.nn.Linear(3, 1)
    with pytest.raises(ValueError, match=r"loss_fn must return a scalar tensor, got shape \(8, 1\)"):
        fit(model, _regression_data(), lambda m, b: m(b[0]), optimizer=torch.optim.SGD(model.parameters(), 0.1),
            batch_size=8, progress=False, device="cpu")
    with pytest.raises(TypeError, match="optimizer must be a torch.optim.Optimizer, got str"):
        fit(model, _regression_data(), _mse, optimizer="adam", batch_size=8, progress=False)


def test_checkpoint_round_trip(tmp_path):
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    model(torch.randn(4, 3)).sum().backward()
    opt.step()
    path = save_checkpoint(tmp_path / "run" / "model.pt", model, opt, step=12)
    fresh = torch.nn.Linear(3, 2)
    fresh_opt = torch.optim.Adam(fresh.parameters(), lr=0.01)
    extra = load_checkpoint(path, fresh, fresh_opt)
    assert extra == {"step": 12}
    for a, b in zip(model.parameters(), fresh.parameters()):
        assert torch.equal(a, b)
    assert fresh_opt.state_dict()["state"][0]["step"] == 1
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["model.pt"]  # no temporary left


def test_damaged_or_foreign_checkpoint_gives_a_clear_error_and_changes_nothing(tmp_path):
    model = torch.nn.Linear(3, 2)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    damaged = tmp_path / "damaged.pt"
    damaged.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="could not be read as an rnnlib checkpoint"):
        load_checkpoint(damaged, model)
    foreign = tmp_path / "foreign.pt"
    save_checkpoint(foreign, torch.nn.Linear(5, 2))
    with pytest.raises(ValueError, match=r"shape mismatches .*weight: \(2, 5\) vs \(2, 3\)"):
        load_checkpoint(foreign, model)
    with pytest.raises(FileNotFoundError, match="must be an existing file"):
        load_checkpoint(tmp_path / "missing.pt", model)
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])


def test_failed_save_leaves_the_existing_checkpoint_untouched(tmp_path, monkeypatch):
    model = torch.nn.Linear(3, 2)
    path = save_checkpoint(tmp_path / "model.pt", model, step=1)
    original = (tmp_path / "model.pt").read_bytes()
    with pytest.raises(TypeError, match="checkpoint extra value 'step' must be an int, float, str, bool or None, got object"):
        save_checkpoint(path, model, step=object())

    def save_half_then_fail(obj, f):
        f.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", save_half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, model, step=2)
    assert (tmp_path / "model.pt").read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt"]


def test_progress_bar_shows_unless_rnnlib_progress_is_0(capsys, monkeypatch):
    def run():
        model = torch.nn.Linear(3, 1)
        fit(model, _regression_data(), _mse, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
            batch_size=64, progress=True, device="cpu")
        return capsys.readouterr().err

    monkeypatch.delenv("RNNLIB_PROGRESS", raising=False)
    assert "epoch 1/1" in run()
    monkeypatch.setenv("RNNLIB_PROGRESS", "0")
    assert "epoch 1/1" not in run()


# ----------------------------------------------------------------------------------------------
# A long run you can trust: non-finite steps, exact resume, atomic checkpoints


def _nan_at(step, n=6):
    """n batches; batch number ``step`` (1-based) holds a NaN input."""
    g = torch.Generator().manual_seed(0)
    batches = []
    for i in range(1, n + 1):
        x = torch.randn(4, 3, generator=g)
        if i == step:
            x[1, 2] = float("nan")
        batches.append((x, torch.zeros(4, 1)))
    return batches


def test_a_non_finite_step_is_never_applied_nor_saved(tmp_path):
    path = tmp_path / "run.pt"
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    reference = torch.nn.Linear(3, 1)
    reference.load_state_dict(model.state_dict())
    fit(reference, _nan_at(4)[:3], _mse, optimizer=torch.optim.SGD(reference.parameters(), lr=0.1),
        progress=False, device="cpu")
    with pytest.raises(NonFiniteLossError, match=r"step 4: the loss is nan .* not finite, so fit stopped before "
                       r"optimizer.step\(\) .* The last checkpoint, step 2, is kept at") as caught:
        fit(model, _nan_at(4), _mse, optimizer=torch.optim.SGD(model.parameters(), lr=0.1), progress=False,
            device="cpu", checkpoint_path=path, checkpoint_every=2, on_nonfinite="raise")
    assert caught.value.step == 4 and math.isnan(caught.value.loss)
    assert caught.value.history.step == [1, 2, 3, 4] and math.isnan(caught.value.history.train_loss[-1])
    for p, q in zip(model.parameters(), reference.parameters()):
        assert torch.equal(p, q)  # the parameters of step 3: step 4 was not applied
    saved = torch.load(path, weights_only=True)
    assert saved["extra"]["step"] == 2 and all(torch.isfinite(v).all() for v in saved["model"].values())


def test_an_infinite_gradient_with_a_finite_loss_is_caught_before_clipping():
    model = torch.nn.Linear(1, 1)
    torch.nn.init.zeros_(model.weight)
    torch.nn.init.zeros_(model.bias)

    def sqrt_loss(m, batch):  # the loss is 0, its gradient 1 / (2 sqrt(0)) = inf
        return torch.sqrt(m.weight.sum() + m.bias.sum())

    with pytest.raises(NonFiniteLossError, match="step 1: the loss is 0.0 and the gradient norm inf"):
        fit(model, [(torch.zeros(1),)], sqrt_loss, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
            clip_grad_norm=1.0, progress=False, device="cpu", on_nonfinite="raise")
    assert model.weight.item() == 0.0 and model.bias.item() == 0.0


def test_train_step_is_one_update_and_returns_the_loss_and_unclipped_norm():
    model = torch.nn.Linear(3, 1)
    batch = (torch.full((4, 3), 10.0), torch.zeros(4, 1))
    before = [p.detach().clone() for p in model.parameters()]
    expected_loss = float(_mse(model, batch).detach())
    loss, norm = train_step(model, batch, _mse, torch.optim.SGD(model.parameters(), lr=1.0), clip_grad_norm=0.5)
    update = torch.cat([(p.detach() - b).flatten() for p, b in zip(model.parameters(), before)])
    assert loss == expected_loss and norm > 10  # the loss before the update, the norm before clipping
    assert update.norm().item() == pytest.approx(0.5, rel=1e-5)


def _train_with_dropout(data, **options):
    torch.manual_seed(5)
    model = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.Dropout(0.3), torch.nn.Linear(16, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    history = fit(model, data, _mse, optimizer=optimizer, epochs=3, batch_size=6, shuffle=True, progress=False,
                  device="cpu", seed=3, clip_grad_norm=1.0, **options)
    return model, history


@pytest.mark.parametrize("kill_after", [4, 7, 8, 13, 20])
def test_resume_continues_bit_identically_with_shuffling_and_dropout(tmp_path, kill_after):
    """A run killed after step k and resumed from its last checkpoint ends with the same parameters,
    bit for bit, as a run never interrupted (data order, dropout masks and Adam's state included)."""
    data = _regression_data(40)  # 7 batches of 6 per epoch: step 7 ends an epoch
    whole, whole_history = _train_with_dropout(data)
    path = tmp_path / "run.pt"

    def kill(step, loss, model):
        if step == kill_after:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _train_with_dropout(data, checkpoint_path=path, checkpoint_every=3, on_step=kill)
    # numpy, Python and torch draw something else in between, as another process would
    torch.rand(5), random.random(), np.random.rand()
    resumed, resumed_history = _train_with_dropout(data, checkpoint_path=path, checkpoint_every=3, resume=path)
    for p, q in zip(whole.parameters(), resumed.parameters()):
        assert torch.equal(p, q)
    assert resumed_history.train_loss == whole_history.train_loss
    assert resumed_history.step == list(range(1, 22))


_CRASH_SCRIPT = """
import os, sys, torch
from rnnlib.train import fit


def train(path, crash_at=0, resume=None):
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, 3, generator=g)
    data = torch.utils.data.TensorDataset(x, x.sum(1, keepdim=True))
    saves, real_save = [], torch.save

    def save_then_die(obj, f, *args, **kwargs):
        saves.append(1)
        if len(saves) == crash_at:  # the process is killed in the middle of writing this checkpoint
            f.write(b"PK half a checkpoint")
            f.flush()
            os._exit(9)
        return real_save(obj, f, *args, **kwargs)

    torch.save = save_then_die
    try:
        torch.manual_seed(5)
        model = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.Dropout(0.3), torch.nn.Linear(16, 1))
        fit(model, data, lambda m, b: torch.nn.functional.mse_loss(m(b[0]), b[1]),
            optimizer=torch.optim.Adam(model.parameters(), lr=0.01), epochs=3, batch_size=6, progress=False,
            device="cpu", seed=3, checkpoint_path=path, checkpoint_every=2, resume=resume)
    finally:
        torch.save = real_save
    return [p.detach() for p in model.parameters()]


if __name__ == "__main__":
    train(sys.argv[1], crash_at=int(sys.argv[2]))
"""


def test_a_kill_in_the_middle_of_a_save_leaves_the_previous_checkpoint_and_resume_is_exact(tmp_path):
    script = tmp_path / "crash_training.py"
    script.write_text(_CRASH_SCRIPT)
    path = tmp_path / "run.pt"
    # checkpoints at steps 2, 4, 6, 7 (end of epoch 1), 8, ...: the process dies while writing the one of step 8
    killed = subprocess.run([sys.executable, str(script), str(path), "5"], capture_output=True, text=True,
                            env=dict(os.environ, RNNLIB_PROGRESS="0", OMP_NUM_THREADS="1"), timeout=300)
    assert killed.returncode == 9, killed.stderr
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".run.pt.")]
    assert len(leftovers) == 1  # the half-written temporary file; run.pt itself is intact
    assert torch.load(path, weights_only=True)["extra"]["step"] == 7

    namespace = {"__name__": "crash_training"}
    exec(compile(_CRASH_SCRIPT, str(script), "exec"), namespace)
    resumed = namespace["train"](path, resume=path)
    whole = namespace["train"](tmp_path / "whole.pt")
    for p, q in zip(whole, resumed):
        assert torch.equal(p, q)


def test_fit_one_epoch_at_a_time_equals_fit_over_several_epochs():
    data = _regression_data(30)

    def model_and_optimizer():
        torch.manual_seed(2)
        model = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Dropout(0.2), torch.nn.Linear(8, 1))
        return model, torch.optim.SGD(model.parameters(), lr=0.05)

    model, optimizer = model_and_optimizer()
    whole = fit(model, data, _mse, optimizer=optimizer, epochs=3, batch_size=8, progress=False, device="cpu")
    looped_model, looped_optimizer = model_and_optimizer()
    losses, steps = [], []
    for _ in range(3):
        h = fit(looped_model, data, _mse, optimizer=looped_optimizer, epochs=1, batch_size=8, progress=False,
                device="cpu")
        losses += h.train_loss
        steps += h.step
    assert losses == whole.train_loss and steps == whole.step  # epoch 2 did not replay epoch 1's order
    for p, q in zip(model.parameters(), looped_model.parameters()):
        assert torch.equal(p, q)


@pytest.mark.parametrize("data, epochs, message", [
    ((b for b in _nan_at(0)), 3, r"data is a one-shot iterator \(generator\), which is empty after one pass, so "
                                  r"epochs must be 1, got epochs=3"),
    ([], 1, "data must hold at least one batch, got an empty list"),
    (torch.utils.data.TensorDataset(torch.zeros(0, 3), torch.zeros(0, 1)), 1,
     "data must hold at least one example, got an empty TensorDataset"),
    (torch.zeros(8, 3), 1, "data must be a torch Dataset or an iterable of batches, got Tensor"),
])
def test_fit_rejects_data_it_cannot_train_on(data, epochs, message):
    model = torch.nn.Linear(3, 1)
    batch_size = 4 if isinstance(data, torch.utils.data.Dataset) else None
    with pytest.raises((ValueError, TypeError), match=message):
        fit(model, data, _mse, optimizer=torch.optim.SGD(model.parameters(), lr=0.1), epochs=epochs,
            batch_size=batch_size, progress=False, device="cpu")


def test_a_one_shot_generator_trains_one_epoch():
    model = torch.nn.Linear(3, 1)
    h = fit(model, (b for b in _nan_at(0)), _mse, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
            progress=False, device="cpu")
    assert h.step == [1, 2, 3, 4, 5, 6]


def test_a_checkpoint_path_that_is_a_directory_fails_before_any_training(tmp_path):
    model = torch.nn.Linear(3, 1)
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(ValueError, match="checkpoint_path must be a file path, got the directory"):
        fit(model, _regression_data(), _mse, optimizer=torch.optim.SGD(model.parameters(), lr=0.1), batch_size=8,
            progress=False, device="cpu", checkpoint_path=tmp_path)
    assert all(torch.equal(p, b) for p, b in zip(model.parameters(), before))


def test_resume_checks_the_whole_checkpoint_before_changing_anything(tmp_path):
    path = tmp_path / "run.pt"
    data = _regression_data(32)
    model = torch.nn.Linear(3, 1)
    fit(model, data, _mse, optimizer=torch.optim.SGD(model.parameters(), lr=0.1), batch_size=8, progress=False,
        device="cpu", checkpoint_path=path)
    fresh = torch.nn.Linear(3, 1)
    before = [p.detach().clone() for p in fresh.parameters()]
    cases = [
        (dict(batch_size=4), "batch_size must be as in the run that wrote"),
        (dict(batch_size=8, seed=1), "seed must be as in the run that wrote"),
        (dict(batch_size=8, epochs=2), "epochs must be as in the run that wrote"),
        (dict(batch_size=8, optimizer=torch.optim.Adam(fresh.parameters())), "optimizer must be of class SGD"),
    ]
    for options, message in cases:
        args = dict(optimizer=torch.optim.SGD(fresh.parameters(), lr=0.1), progress=False, device="cpu", resume=path)
        args.update(options)
        with pytest.raises(ValueError, match=message):
            fit(fresh, data, _mse, **args)
        assert all(torch.equal(p, b) for p, b in zip(fresh.parameters(), before))
    plain = save_checkpoint(tmp_path / "plain.pt", fresh)
    with pytest.raises(ValueError, match="resume must be a checkpoint written by fit"):
        fit(fresh, data, _mse, optimizer=torch.optim.SGD(fresh.parameters(), lr=0.1), batch_size=8,
            progress=False, device="cpu", resume=plain)


def test_load_checkpoint_with_a_mismatched_optimizer_leaves_the_model_untouched(tmp_path):
    model = torch.nn.Linear(3, 2)
    adam = torch.optim.Adam(model.parameters(), lr=0.01)
    model(torch.randn(4, 3)).sum().backward()
    adam.step()
    path = save_checkpoint(tmp_path / "adam.pt", model, adam)
    fresh = torch.nn.Linear(3, 2)
    before = {k: v.clone() for k, v in fresh.state_dict().items()}
    for optimizer, message in [
        (torch.optim.SGD(fresh.parameters(), lr=0.1), "optimizer must be of class Adam to load checkpoint"),
        (torch.optim.Adam([fresh.weight], lr=0.1), "optimizer's parameter group 0 holds 1 tensors, the one saved"),
    ]:
        with pytest.raises(ValueError, match=message):
            load_checkpoint(path, fresh, optimizer)
        assert all(torch.equal(v, before[k]) for k, v in fresh.state_dict().items())
    with pytest.raises(ValueError, match="holds no optimizer state"):
        load_checkpoint(save_checkpoint(tmp_path / "no_optimizer.pt", model), fresh, torch.optim.Adam(fresh.parameters()))


def _killed_then_resumed(train, tmp_path, kill_after):
    path = tmp_path / "run.pt"

    def kill(step, loss, model):
        if step == kill_after:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(checkpoint_path=path, checkpoint_every=2, on_step=kill)
    return train(checkpoint_path=path, checkpoint_every=2, resume=path)


def test_resume_is_exact_with_truncated_bptt_carrying_its_state(tmp_path):
    from rnnlib.bptt import TruncatedBPTT, stream_windows
    from rnnlib.nn.models import CharLM

    g = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, 5, (4, 41), generator=g)
    windows = stream_windows(tokens[:, :-1], tokens[:, 1:], 8)  # 5 windows per pass

    def train(**options):
        torch.manual_seed(0)
        model = CharLM(5, 8, cell="lstm")
        fit(model, windows, TruncatedBPTT(), optimizer=torch.optim.Adam(model.parameters(), lr=0.01), epochs=2,
            progress=False, device="cpu", **options)
        return model

    whole = train()
    resumed = _killed_then_resumed(train, tmp_path, kill_after=7)  # mid-pass: the carried state matters
    for p, q in zip(whole.parameters(), resumed.parameters()):
        assert torch.equal(p, q)


def test_resume_is_exact_with_seq2seq_batches_that_reshuffle_each_pass(tmp_path):
    from rnnlib.data import Seq2SeqBatches, reversal_pairs
    from rnnlib.nn.seq2seq import Seq2Seq

    pairs, vocab = reversal_pairs(24, np.random.default_rng(0), min_len=2, max_len=5, num_symbols=4)

    def loss_fn(model, batch):
        src, src_lengths, tgt_in, tgt_out = batch
        logits, _ = model(src, src_lengths, tgt_in)
        return torch.nn.functional.cross_entropy(logits.flatten(0, 1), tgt_out.flatten(), ignore_index=0)

    def train(**options):
        torch.manual_seed(0)
        model = Seq2Seq(len(vocab), len(vocab), embedding_dim=4, hidden_size=4)
        fit(model, Seq2SeqBatches(pairs, vocab, 8, rng=1), loss_fn, optimizer=torch.optim.Adam(model.parameters(), 0.01),
            epochs=3, progress=False, device="cpu", **options)
        return model

    whole = train()
    resumed = _killed_then_resumed(train, tmp_path, kill_after=5)
    for p, q in zip(whole.parameters(), resumed.parameters()):
        assert torch.equal(p, q)


def test_on_step_returning_true_ends_the_run_after_that_step():
    model = torch.nn.Linear(3, 1)
    h = fit(model, _regression_data(), _mse, optimizer=torch.optim.SGD(model.parameters(), lr=0.1), epochs=5,
            batch_size=8, val_data=_regression_data(32), progress=False, device="cpu",
            on_step=lambda step, loss, model: step == 11)
    assert h.step[-1] == 11 and h.val_step[-1] == 11


@pytest.mark.parametrize("answer", [True, np.bool_(True), torch.tensor(True)])
def test_on_step_stops_on_any_true_bool(answer):
    model = torch.nn.Linear(1, 1)
    data = [(torch.ones(2, 1),)] * 10
    history = fit(model, data, lambda m, b: m(b[0]).pow(2).mean(), optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
                  device="cpu", progress=False, on_step=lambda step, loss, m: answer if step == 3 else None)
    assert history.step == [1, 2, 3]


def test_on_step_answer_that_is_not_a_bool_is_named():
    model = torch.nn.Linear(1, 1)
    data = [(torch.ones(2, 1),)] * 3
    with pytest.raises(TypeError, match="on_step must return None, True or False, got str 'stop'"):
        fit(model, data, lambda m, b: m(b[0]).pow(2).mean(), optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
            device="cpu", progress=False, on_step=lambda step, loss, m: "stop")
