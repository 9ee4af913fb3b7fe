"""rnnlib.energy: analytic FLOPs == FlopCounterMode, timing helpers, energy/CO2 estimates, receipts."""

import math
import os

import pytest
import torch

import rnnlib.nn
from rnnlib.energy import (
    ComputeReceipt,
    additive_attention_flops,
    count_flops,
    dot_product_attention_flops,
    fit_power_law,
    measure_seconds,
    recurrent_flops_per_token,
    self_attention_flops_per_token,
    strubell_co2_lbs,
    strubell_energy_kwh,
    time_per_token,
    track_emissions,
)
from rnnlib.train import fit

CELLS = {"rnn": "RNN", "gru": "GRU", "lstm": "LSTM"}


@pytest.mark.parametrize("cell", sorted(CELLS))
@pytest.mark.parametrize("library", ["torch.nn", "rnnlib.nn"])
@pytest.mark.parametrize("num_layers,bidirectional", [(1, False), (2, False), (2, True)])
def test_recurrent_flops_equal_flop_counter(cell, library, num_layers, bidirectional):
    library = {"torch.nn": torch.nn, "rnnlib.nn": rnnlib.nn}[library]
    N, T, D, H = 3, 5, 7, 11
    torch.manual_seed(0)
    module = getattr(library, CELLS[cell])(D, H, num_layers=num_layers, batch_first=True, bidirectional=bidirectional)
    counted = count_flops(module, torch.randn(N, T, D))
    assert counted == N * T * recurrent_flops_per_token(cell, D, H, num_layers, bidirectional)


def test_recurrent_flops_hand_computed():
    # LSTM, D = 2, H = 3: 2 * 4 * 3 * (2 + 3) = 120 FLOPs per token
    assert recurrent_flops_per_token("lstm", 2, 3) == 120
    assert recurrent_flops_per_token("gru", 2, 3) == 90
    assert recurrent_flops_per_token("rnn", 2, 3) == 30
    # second layer of a bidirectional RNN reads 2H = 6 inputs: 2 * (2*1*3*(2+3)) + 2 * (2*1*3*(6+3))
    assert recurrent_flops_per_token("rnn", 2, 3, num_layers=2, bidirectional=True) == 60 + 108
    with pytest.raises(ValueError, match="cell"):
        recurrent_flops_per_token("transformer", 2, 3)


def test_training_step_is_about_three_forwards():
    D, H, N, T = 6, 8, 4, 7
    module = rnnlib.nn.LSTM(D, H)
    x = torch.randn(N, T, D, requires_grad=True)
    counted = count_flops(lambda: module(x)[0].sum().backward())
    # forward, then backward's two products per forward product (one for the input's gradient,
    # one for the weight's), less the gradient of the zero initial state, which nothing needs
    initial_state_gradient = 2 * N * (4 * H) * H
    assert counted == 3 * N * T * recurrent_flops_per_token("lstm", D, H) - initial_state_gradient


def test_without_disabling_onednn_torch_lstm_is_not_counted():
    # the reason count_flops disables oneDNN: the fused CPU kernel is invisible to FlopCounterMode
    from torch.utils.flop_counter import FlopCounterMode

    module = torch.nn.LSTM(4, 5, batch_first=True)
    with FlopCounterMode(display=False) as counter:
        module(torch.randn(2, 3, 4))
    fused = counter.get_total_flops()
    assert fused < count_flops(module, torch.randn(2, 3, 4)) == 2 * 3 * recurrent_flops_per_token("lstm", 4, 5)


@pytest.mark.parametrize("T,d,heads", [(9, 16, 4), (5, 8, 1)])
def test_self_attention_flops_equal_flop_counter(T, d, heads):
    N = 2
    mha = torch.nn.MultiheadAttention(d, heads, batch_first=True)
    x = torch.randn(N, T, d)
    counted = count_flops(lambda: mha(x, x, x, need_weights=True))
    assert counted == N * T * self_attention_flops_per_token(T, d, projections=True)
    q = torch.randn(N, T, d)
    assert count_flops(torch.nn.functional.scaled_dot_product_attention, q, q, q) == N * T * (
        self_attention_flops_per_token(T, d, projections=False)
    )


def test_dot_product_attention_flops_cross_attention():
    N, Tq, Tk, d, dv = 2, 3, 7, 5, 4
    q, k, v = torch.randn(N, Tq, d), torch.randn(N, Tk, d), torch.randn(N, Tk, dv)
    counted = count_flops(lambda: torch.softmax(q @ k.transpose(1, 2), -1) @ v)
    assert counted == N * dot_product_attention_flops(Tq, Tk, d, dv) == N * 2 * Tq * Tk * (d + dv)


def test_strubell_transformer_base_figure():
    # Strubell et al. 2019, Table 3: Transformer (base), 8 x NVIDIA P100, 1415.78 W in total,
    # 12 hours -> 27 kWh-PUE and 26 lbs CO2e.
    kwh = strubell_energy_kwh(12, cpu_watts=1415.78)
    assert round(kwh) == 27
    assert kwh == pytest.approx(1.58 * 12 * 1415.78 / 1000)
    assert round(strubell_co2_lbs(kwh)) == 26
    # Transformer (big): 8 x P100, 1515.43 W, 84 hours -> 201 kWh-PUE, 192 lbs
    big = strubell_energy_kwh(84, cpu_watts=1515.43)
    assert round(big) == 201 and round(strubell_co2_lbs(big)) == 192


def test_strubell_formula_components():
    # eq. (1): p_t = 1.58 t (p_c + p_r + g p_g) / 1000, with 2 GPUs at 250 W for 10 hours
    assert strubell_energy_kwh(10, cpu_watts=100, dram_watts=20, gpu_watts=250, num_gpus=2) == pytest.approx(
        1.58 * 10 * 620 / 1000
    )
    assert strubell_energy_kwh(10, gpu_watts=250, num_gpus=2, pue=1.0) == pytest.approx(5.0)
    with pytest.raises(ValueError, match="hours must be a finite number >= 0"):
        strubell_energy_kwh(-1, cpu_watts=10)


def test_fit_power_law_recovers_exponents():
    xs = [64, 128, 256, 512]
    assert fit_power_law(xs, [3 * x for x in xs])[0] == pytest.approx(1.0)
    k, a = fit_power_law(xs, [0.5 * x**2 for x in xs])
    assert k == pytest.approx(2.0) and a == pytest.approx(0.5)
    with pytest.raises(ValueError, match="positive"):
        fit_power_law([1, 2], [0, 1])


def test_timing_helpers_count_calls_and_divide_by_tokens():
    calls = []
    seconds = measure_seconds(lambda: calls.append(1), repeats=3, warmup=2)
    assert len(calls) == 5 and seconds >= 0
    per_token = time_per_token(lambda: sum(range(20000)), tokens=1000, repeats=3)
    whole = measure_seconds(lambda: sum(range(20000)), repeats=3)
    assert 0 < per_token < whole
    with pytest.raises(ValueError, match="tokens"):
        time_per_token(lambda: None, tokens=0)


def test_track_emissions_offline_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result, estimate = track_emissions(lambda: sum(range(200000)))
    assert result == sum(range(200000))
    assert os.listdir(tmp_path) == []
    assert estimate.seconds > 0 and estimate.energy_kwh > 0 and estimate.emissions_kg > 0
    # emissions = energy x the grid's carbon intensity (U.S. mix: a few tenths of a kg per kWh)
    assert 0.1 < estimate.emissions_kg / estimate.energy_kwh < 1.0
    assert estimate.cpu_watts >= 0 and estimate.ram_watts > 0 and estimate.watts > 0


class _FakeHistory:
    wall_seconds = 7200.0
    examples = 1000


def test_compute_receipt_arithmetic():
    receipt = ComputeReceipt(flops_per_example=3e6, power_watts=100.0)(_FakeHistory())
    assert receipt.flops == pytest.approx(3e9)
    # 2 hours at 100 W, PUE 1.58: 0.316 kWh; x 0.954 lbs/kWh
    assert receipt.energy_kwh == pytest.approx(0.316)
    assert receipt.co2_lbs == pytest.approx(0.316 * 0.954)
    assert receipt.co2_kg == pytest.approx(0.316 * 0.954 * 0.45359237)
    assert receipt.flops_per_second == pytest.approx(3e9 / 7200)  # FLOPs over the wall time
    text = str(receipt)
    assert "wall time" in text and "FLOPs" in text and "100 W assumed" in text and "(0.00 GFLOP/s)" in text
    bare = ComputeReceipt()(_FakeHistory())
    assert bare.flops is None and bare.flops_per_second is None and bare.energy_kwh is None
    assert "FLOPs" not in str(bare)
    with pytest.raises(ValueError, match="power_watts"):
        ComputeReceipt(power_watts=-5)


def test_fit_prints_and_keeps_the_receipt(capsys):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    data = [(torch.randn(4, 3), torch.randn(4, 1)) for _ in range(5)]

    def loss_fn(m, batch):
        return torch.nn.functional.mse_loss(m(batch[0]), batch[1])

    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    history = fit(model, data, loss_fn, optimizer=opt, progress=False, device="cpu", receipt=ComputeReceipt(6.0, 50.0))
    assert history.receipt.examples == 20 and history.receipt.flops == 120.0
    assert history.receipt.wall_seconds == history.wall_seconds
    assert "compute receipt" in capsys.readouterr().out
    plain = fit(model, data, loss_fn, optimizer=opt, progress=False, device="cpu")
    assert plain.receipt is None
    with pytest.raises(TypeError, match="receipt must be callable"):
        fit(model, data, loss_fn, optimizer=opt, progress=False, device="cpu", receipt="yes")


def test_receipt_energy_matches_strubell_formula():
    receipt = ComputeReceipt(power_watts=1415.78)(type("H", (), {"wall_seconds": 12 * 3600.0, "examples": 1})())
    assert round(receipt.energy_kwh) == 27 and round(receipt.co2_lbs) == 26
    assert math.isclose(receipt.energy_kwh, strubell_energy_kwh(12, cpu_watts=1415.78))


def test_rnnlib_attention_modules_flops():
    N, Tq, S, d, A = 2, 3, 5, 6, 7
    q, keys = torch.randn(N, Tq, d), torch.randn(N, S, d)
    assert count_flops(rnnlib.nn.DotProductAttention(), q, keys) == N * dot_product_attention_flops(Tq, S, d)
    additive = rnnlib.nn.AdditiveAttention(4, d, A)
    counted = count_flops(additive, torch.randn(N, Tq, 4), keys)
    # FlopCounterMode skips the matrix-vector product u @ v of the scores: 2 Tq S A per sequence
    assert counted == N * (additive_attention_flops(Tq, S, 4, d, A) - 2 * Tq * S * A)
    # hand count: projections 2*A*(Tq*4 + S*d) = 2*7*(12 + 30) = 588, v-scores 2*3*5*7 = 210,
    # weighted sum 2*3*5*6 = 180
    assert additive_attention_flops(Tq, S, 4, d, A) == 588 + 210 + 180


def test_cpu_clock_ignores_waiting():
    import time

    # sleeping takes wall-clock time but no CPU time: what clock="cpu" is for on a shared machine
    assert measure_seconds(lambda: time.sleep(0.05), repeats=1, warmup=0, clock="wall") >= 0.045
    assert measure_seconds(lambda: time.sleep(0.05), repeats=1, warmup=0, clock="cpu") < 0.02
    with pytest.raises(ValueError, match="clock"):
        measure_seconds(lambda: None, clock="gpu")
