"""rnnlib.train: the one training loop, and its checkpoints."""

import math

import pytest
import torch

from rnnlib.train import evaluate, fit, load_checkpoint, save_checkpoint


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
            epochs=50, batch_size=8, progress=False, device="cpu")
    assert not math.isfinite(h.train_loss[-1]) and len(h.step) < 50 * 32


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"epochs": 0}, ValueError, r"epochs must be an int >= 1, got 0"),
        ({"clip_grad_norm": -1.0}, ValueError, r"clip_grad_norm must be a positive number or None, got -1.0"),
        ({"batch_size": None}, ValueError, r"batch_size must be given when data is a torch Dataset, got None"),
        ({"max_seconds": 0}, ValueError, r"max_seconds must be a positive number or None, got 0"),
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
