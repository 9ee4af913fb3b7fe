"""What training costs: FLOPs per token, time per token, energy and CO2 estimates.

FLOPs are counted as :class:`torch.utils.flop_counter.FlopCounterMode` counts them: the
matrix-matrix products only (``mm``, ``addmm``, ``bmm``, attention kernels), two FLOPs per
multiply-add (matrix-vector products, ``mv``, are not counted either); element-wise work (gates, ``tanh``, softmax, bias additions) is not counted,
because for any but tiny sizes it is a small fraction and it is memory-bound rather than
FLOP-bound. With that convention the analytic formulas here equal the counted values exactly
(``tests/test_energy.py`` asserts it for ``torch.nn`` and ``rnnlib.nn`` modules).

Energy cannot be measured without power counters (Intel RAPL, NVIDIA NVML). On a machine
without them, codecarbon's offline tracker (:func:`track_emissions`) *estimates* power from the
CPU model's thermal design power and its load, and from the size of the RAM; the result is an
estimate from time and assumed power, not a measurement. :func:`strubell_energy_kwh` is the
formula of Strubell et al. (2019) from the power draw of each device and the training time.
"""

import logging
import math
import statistics
import tempfile
import time
import warnings
from dataclasses import dataclass

import numpy as np
import torch

from rnnlib.layout import GATES
from rnnlib.validate import check_choice, check_positive_int

__all__ = [
    "STRUBELL_PUE",
    "STRUBELL_LBS_CO2_PER_KWH",
    "KG_PER_LB",
    "recurrent_flops_per_token",
    "self_attention_flops_per_token",
    "dot_product_attention_flops",
    "additive_attention_flops",
    "count_flops",
    "CLOCKS",
    "measure_seconds",
    "time_per_token",
    "fit_power_law",
    "strubell_energy_kwh",
    "strubell_co2_lbs",
    "EnergyEstimate",
    "track_emissions",
    "Receipt",
    "ComputeReceipt",
]

# Strubell et al. (2019), section 3: the 2018 average power usage effectiveness of data
# centres (Ascierto 2018) and the U.S. EPA's average CO2 emitted per kWh consumed.
STRUBELL_PUE = 1.58
STRUBELL_LBS_CO2_PER_KWH = 0.954
KG_PER_LB = 0.45359237


def _check_nonnegative(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


def recurrent_flops_per_token(cell, input_size, hidden_size, num_layers=1, bidirectional=False):
    """Forward FLOPs per token of a (stacked, optionally bidirectional) RNN, GRU or LSTM.

    Each layer and direction multiplies the input by ``W_ih`` (G*H, D) and the previous hidden
    state by ``W_hh`` (G*H, H), with G = 1, 3, 4 gate blocks for RNN, GRU, LSTM:

    .. math::

        F = \\sum_{l=1}^{L} n_{\\mathrm{dir}} \\cdot 2 G H (D_l + H), \\qquad
        D_1 = D, \\quad D_{l>1} = n_{\\mathrm{dir}} H.

    Training (forward and backward) costs about three times this: the backward pass needs the
    products with the weights' transposes (gradient of the inputs) and with the inputs
    (gradient of the weights).
    """
    check_choice("cell", cell, tuple(GATES))
    check_positive_int("input_size", input_size)
    check_positive_int("hidden_size", hidden_size)
    check_positive_int("num_layers", num_layers)
    directions = 2 if bidirectional else 1
    gates, total = GATES[cell], 0
    layer_input = input_size
    for _ in range(num_layers):
        total += directions * 2 * gates * hidden_size * (layer_input + hidden_size)
        layer_input = directions * hidden_size
    return total


def dot_product_attention_flops(query_len, key_len, dim, value_dim=None):
    """Forward FLOPs of (scaled) dot-product attention for one sequence, all queries together.

    Scores :math:`S = Q K^\\top` cost :math:`2 T_q T_k d` and the context :math:`\\mathrm{softmax}(S) V`
    costs :math:`2 T_q T_k d_v`: :math:`F = 2 T_q T_k (d + d_v)`. Per query token that is linear in
    the number of keys, so self-attention over :math:`T` tokens costs :math:`O(T^2)`.
    """
    for name, value in (("query_len", query_len), ("key_len", key_len), ("dim", dim)):
        check_positive_int(name, value)
    value_dim = dim if value_dim is None else value_dim
    check_positive_int("value_dim", value_dim)
    return 2 * query_len * key_len * (dim + value_dim)


def self_attention_flops_per_token(seq_len, dim, projections=True):
    """Forward FLOPs per token of single-sequence self-attention over ``seq_len`` tokens.

    Attention itself costs :math:`4 T d` per token (:func:`dot_product_attention_flops` with
    :math:`T_q = T_k = T`, divided by :math:`T`). With ``projections`` (as in
    ``torch.nn.MultiheadAttention``: query, key, value and output projections, each
    :math:`d \\times d`) add :math:`8 d^2`. The number of heads does not change the count.
    """
    check_positive_int("seq_len", seq_len)
    check_positive_int("dim", dim)
    flops = dot_product_attention_flops(seq_len, seq_len, dim) // seq_len
    return flops + (8 * dim * dim if projections else 0)


def additive_attention_flops(query_len, key_len, query_dim, key_dim, attention_dim, value_dim=None):
    """Forward FLOPs of additive (Bahdanau) attention for one sequence.

    :math:`e_{ij} = v^\\top \\tanh(W_q q_i + W_k k_j)`, :math:`c_i = \\sum_j \\mathrm{softmax}_j(e_{ij}) k_j`:
    projecting the queries costs :math:`2 T_q d_q A`, the keys :math:`2 T_k d_k A` (once per
    sequence), scoring every pair with :math:`v` costs :math:`2 T_q T_k A` and the weighted sum
    :math:`2 T_q T_k d_v` (values default to the keys).

    ``FlopCounterMode`` does not count matrix-*vector* products (``u @ v`` becomes ``aten.mv``),
    so on ``rnnlib.nn.AdditiveAttention`` it counts :math:`2 T_q T_k A` fewer FLOPs than this.
    """
    for name, value in (
        ("query_len", query_len),
        ("key_len", key_len),
        ("query_dim", query_dim),
        ("key_dim", key_dim),
        ("attention_dim", attention_dim),
    ):
        check_positive_int(name, value)
    value_dim = key_dim if value_dim is None else value_dim
    check_positive_int("value_dim", value_dim)
    return 2 * attention_dim * (query_len * query_dim + key_len * key_dim) + 2 * query_len * key_len * (
        attention_dim + value_dim
    )


def count_flops(fn, *args, **kwargs):
    """Run ``fn(*args, **kwargs)`` once and return the FLOPs that ``FlopCounterMode`` counted.

    Runs with oneDNN (MKL-DNN) disabled: on CPU, ``torch.nn.LSTM`` and friends otherwise call
    a fused kernel that ``FlopCounterMode`` does not see (it would count 0). Fused attention
    paths (``nn.MultiheadAttention(..., need_weights=False)``) are likewise invisible to it.
    Include a ``.backward()`` call in ``fn`` to count a training step.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    from torch.utils.flop_counter import FlopCounterMode

    with warnings.catch_warnings():
        # torch warns about TF32 on Intel GPUs whenever the oneDNN flags are touched
        warnings.filterwarnings("ignore", message=".*TF32 acceleration on top of oneDNN.*")
        with torch.backends.mkldnn.flags(enabled=False):
            with FlopCounterMode(display=False) as counter:
                fn(*args, **kwargs)
    return int(counter.get_total_flops())


def _synchronize():
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def measure_seconds(fn, repeats=5, warmup=1, clock="wall"):
    """Median seconds of ``fn()`` over ``repeats`` runs, after ``warmup`` runs.

    ``clock="wall"`` reads wall-clock time (what a user waits; CUDA work is synchronised before
    each reading so that asynchronous kernels are timed, not just launched). ``clock="cpu"``
    reads the CPU time of this process, summed over its threads: on a machine shared with
    other jobs it counts only the work done for ``fn`` (not the time spent waiting for a core),
    and it is what CPU energy is proportional to. The median resists outliers.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    check_positive_int("repeats", repeats)
    check_positive_int("warmup", warmup, allow_zero=True)
    check_choice("clock", clock, tuple(CLOCKS))
    read = CLOCKS[clock]
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        _synchronize()
        start = read()
        fn()
        _synchronize()
        times.append(read() - start)
    return statistics.median(times)


def time_per_token(fn, tokens, repeats=5, warmup=1, clock="wall"):
    """Median seconds per token: :func:`measure_seconds` of ``fn`` divided by ``tokens`` (N*T)."""
    check_positive_int("tokens", tokens)
    return measure_seconds(fn, repeats=repeats, warmup=warmup, clock=clock) / tokens


def fit_power_law(x, y):
    """Least-squares fit of :math:`y = a x^k` on log-log axes; returns ``(k, a)``.

    The exponent :math:`k` is the slope of :math:`\\ln y` against :math:`\\ln x`: about 1 for a
    cost linear in ``x``, about 2 for a quadratic one.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or x.size < 2:
        raise ValueError(f"x and y must be 1-D with the same length >= 2, got shapes {x.shape} and {y.shape}")
    if np.any(x <= 0) or np.any(y <= 0):
        raise ValueError(f"x and y must be positive for a log-log fit, got x={x.tolist()}, y={y.tolist()}")
    slope, intercept = np.polyfit(np.log(x), np.log(y), 1)
    return float(slope), float(math.exp(intercept))


def strubell_energy_kwh(hours, cpu_watts=0.0, dram_watts=0.0, gpu_watts=0.0, num_gpus=0, pue=STRUBELL_PUE):
    """Energy drawn from the grid by a training run, Strubell et al. (2019), eq. (1).

    .. math:: p_t = \\frac{\\mathrm{PUE} \\cdot t \\, (p_c + p_r + g\\, p_g)}{1000}

    with :math:`t` in hours, :math:`p_c, p_r, p_g` the average power (W) of the CPU sockets,
    the DRAM and one GPU, :math:`g` the number of GPUs, and PUE = 1.58. Returns kWh.
    To use a total power (as in their Table 3), pass it as ``cpu_watts``.
    """
    for name, value in (("hours", hours), ("cpu_watts", cpu_watts), ("dram_watts", dram_watts), ("gpu_watts", gpu_watts)):
        _check_nonnegative(name, value)
    check_positive_int("num_gpus", num_gpus, allow_zero=True)
    _check_nonnegative("pue", pue)
    return pue * hours * (cpu_watts + dram_watts + num_gpus * gpu_watts) / 1000.0


def strubell_co2_lbs(kwh, lbs_per_kwh=STRUBELL_LBS_CO2_PER_KWH):
    """CO2-equivalent emissions in pounds, Strubell et al. (2019), eq. (2): :math:`\\mathrm{CO_2e} = 0.954\\, p_t`."""
    _check_nonnegative("kwh", kwh)
    _check_nonnegative("lbs_per_kwh", lbs_per_kwh)
    return lbs_per_kwh * kwh


@dataclass
class EnergyEstimate:
    """What :func:`track_emissions` reports (estimates unless ``measured`` says otherwise).

    Attributes:
        seconds: wall-clock duration of the tracked call.
        energy_kwh: estimated energy (CPU + RAM + GPU), before any PUE.
        emissions_kg: estimated CO2-equivalent for the grid of ``country_iso_code``.
        cpu_watts: the average CPU power codecarbon assumed (or read from RAPL).
        ram_watts: the average RAM power it assumed.
        gpu_watts: the average GPU power it read from NVML (0 without a GPU).
        country_iso_code: whose electricity mix was used.
    """

    seconds: float
    energy_kwh: float
    emissions_kg: float
    cpu_watts: float
    ram_watts: float
    gpu_watts: float
    country_iso_code: str

    @property
    def watts(self):
        """Total average power (W)."""
        return self.cpu_watts + self.ram_watts + self.gpu_watts


def track_emissions(fn, *args, country_iso_code="USA", **kwargs):
    """Run ``fn(*args, **kwargs)`` under codecarbon's ``OfflineEmissionsTracker``.

    Works without network. Without power counters (no RAPL, no NVML) codecarbon *estimates* the
    CPU power from its model's thermal design power and the process's CPU load, and the RAM
    power from its size: the energy is an estimate from time and assumed power. Nothing is
    written to the working directory (codecarbon's output goes to a temporary folder that is
    removed afterwards).

    Returns:
        ``(result, estimate)``: what ``fn`` returned and an :class:`EnergyEstimate`.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    from codecarbon import OfflineEmissionsTracker

    logger = logging.getLogger("codecarbon")
    level = logger.level
    logger.setLevel(logging.ERROR)  # its INFO/WARNING lines would clutter notebooks
    try:
        with tempfile.TemporaryDirectory() as folder:
            tracker = OfflineEmissionsTracker(
                country_iso_code=country_iso_code,
                output_dir=folder,
                output_methods=[],  # keep the result in memory only
                log_level="error",
                tracking_mode="process",
                measure_power_secs=1,
            )
            tracker.start()
            try:
                result = fn(*args, **kwargs)
            finally:
                tracker.stop()
            data = tracker.final_emissions_data
    finally:
        logger.setLevel(level)
    estimate = EnergyEstimate(
        seconds=float(data.duration),
        energy_kwh=float(data.energy_consumed),
        emissions_kg=float(data.emissions),
        cpu_watts=float(data.cpu_power),
        ram_watts=float(data.ram_power),
        gpu_watts=float(data.gpu_power),
        country_iso_code=country_iso_code,
    )
    return result, estimate


@dataclass
class Receipt:
    """The compute receipt of one training run (see :class:`ComputeReceipt`); ``str()`` formats it.

    Attributes:
        wall_seconds: wall-clock time of the run.
        examples: examples seen.
        flops: estimated training FLOPs, or None.
        energy_kwh: estimated energy with PUE, or None.
        co2_lbs: estimated CO2-equivalent in pounds (``co2_kg`` in kilograms), or None.
        power_watts: the assumed average power, or None.
        pue: the power usage effectiveness used, or None.
    """

    wall_seconds: float
    examples: int
    flops: float = None
    energy_kwh: float = None
    co2_lbs: float = None
    power_watts: float = None
    pue: float = None

    @property
    def co2_kg(self):
        """Estimated CO2-equivalent in kilograms, or None."""
        return None if self.co2_lbs is None else self.co2_lbs * KG_PER_LB

    @property
    def flops_per_second(self):
        """The arithmetic rate the run reached, flops / wall_seconds (nan for no time), or None without flops."""
        if self.flops is None:
            return None
        return self.flops / self.wall_seconds if self.wall_seconds > 0 else float("nan")

    def __str__(self):
        lines = [
            "compute receipt",
            f"  wall time       {self.wall_seconds:.2f} s",
            f"  examples        {self.examples:,}",
        ]
        if self.flops is not None:
            lines.append(f"  FLOPs (est.)    {self.flops:.3e}  ({self.flops_per_second / 1e9:.2f} GFLOP/s)")
        if self.energy_kwh is not None:
            lines.append(
                f"  energy (est.)   {self.energy_kwh * 1000:.4f} Wh  at {self.power_watts:g} W assumed, PUE {self.pue:g}"
            )
            lines.append(f"  CO2e (est.)     {self.co2_kg * 1000:.3f} g  ({self.co2_lbs:.2e} lbs)")
        return "\n".join(lines)


class ComputeReceipt:
    """A callable that turns a training :class:`rnnlib.train.History` into a :class:`Receipt`.

    Pass it to :func:`rnnlib.train.fit` as ``receipt=ComputeReceipt(...)``; the receipt is
    printed at the end of the run and kept in ``history.receipt``.

    FLOPs are ``flops_per_example * history.examples`` (for a training step use about three
    times the forward FLOPs, or :func:`count_flops` of one step divided by its batch size).
    Energy follows Strubell et al.: :math:`E = \\mathrm{PUE} \\cdot t \\cdot P` with ``power_watts``
    an *assumed* average power (e.g. from :func:`track_emissions`), and CO2e = 0.954 lbs/kWh.

    Args:
        flops_per_example: training FLOPs per example, or None to leave FLOPs out.
        power_watts: assumed average power draw in W, or None to leave energy out.
        pue: power usage effectiveness (1.58 in Strubell et al.).
        lbs_co2_per_kwh: carbon intensity (0.954 in Strubell et al., U.S. average).
    """

    def __init__(self, flops_per_example=None, power_watts=None, pue=STRUBELL_PUE, lbs_co2_per_kwh=STRUBELL_LBS_CO2_PER_KWH):
        if flops_per_example is not None:
            _check_nonnegative("flops_per_example", flops_per_example)
        if power_watts is not None:
            _check_nonnegative("power_watts", power_watts)
        _check_nonnegative("pue", pue)
        _check_nonnegative("lbs_co2_per_kwh", lbs_co2_per_kwh)
        self.flops_per_example = flops_per_example
        self.power_watts = power_watts
        self.pue = pue
        self.lbs_co2_per_kwh = lbs_co2_per_kwh

    def __call__(self, history):
        seconds = float(history.wall_seconds)
        examples = int(history.examples)
        receipt = Receipt(wall_seconds=seconds, examples=examples)
        if self.flops_per_example is not None:
            receipt.flops = float(self.flops_per_example) * examples
        if self.power_watts is not None:
            hours = seconds / 3600.0
            receipt.energy_kwh = strubell_energy_kwh(hours, cpu_watts=float(self.power_watts), pue=self.pue)
            receipt.co2_lbs = strubell_co2_lbs(receipt.energy_kwh, self.lbs_co2_per_kwh)
            receipt.power_watts = float(self.power_watts)
            receipt.pue = float(self.pue)
        return receipt
