"""Speed and memory of recurrent layers: torch.nn vs rnnlib.nn (fast and readable) vs rnnlib.scratch.

Implementations: ``torch.nn`` (the reference), ``rnnlib.nn`` (the default fast kernels of
``rnnlib.nn.fast``; the LSTM's time loop compiled where ``python -m rnnlib.nn.build`` has built it),
``rnnlib.nn Python loop`` (the LSTM only, where the compiled loop is in use: the same kernel with
its time loop in Python), ``rnnlib.nn readable`` (``impl="readable"``: the step functions of
``rnnlib.nn.cells`` under autograd, what the book prints) and ``rnnlib.scratch`` (NumPy).

What is measured (float32, batch-first, one layer, one direction):

* **time**: one forward + backward pass of the loss ``sum(outputs)`` (gradients of the input
  and of every parameter), median over ``--repeats`` runs after 3 warm-up runs (the minimum
  is printed too: on a shared machine it is the better estimate of the unloaded time; and so is
  the minimum CPU time of this process, robust to other programs' load with ``--threads 1``). The
  implementations take turns inside every repeat (round-robin, rotating who goes first), so a
  burst of load on a shared machine hits all of them alike; ratios are to torch.nn's median in
  the same run. ``torch.set_num_threads(--threads)`` (default 2); NumPy's BLAS gets the same
  thread count through the usual environment variables, set before NumPy is imported.
* with ``--split``, the **forward** (recording for autograd) and the **backward** pass timed
  apart, minimum over the repeats, for the torch implementations: which half loses the time.
* **peak memory** of one forward + backward at T = 100 and T = 1000: the highest total size of
  the arrays the pass itself allocated (parameters and input excluded). torch on CPU: every
  tensor storage created by an operation is tracked until it is freed
  (``rnnlib.bptt.peak_memory``); torch on CUDA: ``torch.cuda.max_memory_allocated``; NumPy:
  ``tracemalloc``'s peak (NumPy reports its allocations to it).

Run ``python benchmarks/bench_rnn.py`` (about 2-3 minutes on 2 idle cores); ``--help`` for options.
The machine's load average is printed with the table: timings on a busy machine are inflated.
"""

import argparse
import os
import statistics
import sys
import time
import tracemalloc

if __name__ == "__main__":
    # NumPy's BLAS reads these once, when it is loaded: set them before anything imports NumPy.
    _threads = "2"
    for i, arg in enumerate(sys.argv):
        if arg == "--threads" and i + 1 < len(sys.argv):
            _threads = sys.argv[i + 1]
        elif arg.startswith("--threads="):
            _threads = arg.split("=", 1)[1]
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, _threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import rnnlib.nn  # noqa: E402
import rnnlib.nn.compiled  # noqa: E402
from rnnlib.bptt import peak_memory  # noqa: E402

try:
    from rnnlib import scratch
except ImportError:  # rnnlib.scratch not there yet: benchmark torch.nn and rnnlib.nn only
    scratch = None

SIZES = [(32, 64, 28, 256), (64, 100, 64, 128)]  # (N, T, D, H)
CELLS = ["RNN", "LSTM", "GRU"]
MEMORY_SHAPE = (16, 28, 128)  # (N, D, H) for the memory table (memory grows as N * H * T)


# ----------------------------------------------------------------------------------------------
# One forward + backward pass of each implementation, as a zero-argument function


def _synchronize(device):
    """Wait for the GPU's queued work, so that a reading of the clock after it times the work."""
    if device == "cuda":
        torch.cuda.synchronize()


def torch_pass(module, x):
    def run():
        module.zero_grad(set_to_none=True)
        x.grad = None
        out, _ = module(x)
        out.sum().backward()
        _synchronize(x.device.type)

    return run


def scratch_pass(cell, x, params):
    module = getattr(scratch, cell.lower())

    def run():
        hs, _, cache = module.forward(x, None, params)
        # gradient of sum(outputs): dL/dh_t = 1 at every step
        return module.backward(np.ones_like(hs), cache)

    return run


def torch_modules(cell, N, T, D, H, device="cpu", seed=0):
    """({name: module} for torch.nn and rnnlib.nn fast and readable, with the same weights; input x (N, T, D))."""
    torch.manual_seed(seed)
    reference = getattr(torch.nn, cell)(D, H, batch_first=True).to(device)
    x = torch.randn(N, T, D, device=device, requires_grad=True)
    modules = {"torch.nn": reference}
    for name, impl in (("rnnlib.nn", "fast"), ("rnnlib.nn readable", "readable")):
        ours = getattr(rnnlib.nn, cell)(D, H, impl=impl).to(device)
        ours.load_state_dict(reference.state_dict(), strict=True)
        modules[name] = ours
    return modules, x


def python_loop_pass(run):
    """``run`` with rnnlib.nn's LSTM time loop in Python rather than compiled."""

    def run_python_loop():
        with rnnlib.nn.compiled.python_loop():
            run()

    return run_python_loop


def implementations(cell, N, T, D, H, device="cpu", with_scratch=True, seed=0):
    """{name: pass} for torch.nn, rnnlib.nn fast and readable (same weights), the fast LSTM with its
    time loop in Python where the compiled one is in use, and rnnlib.scratch (CPU only)."""
    modules, x = torch_modules(cell, N, T, D, H, device, seed)
    runs = {name: torch_pass(module, x) for name, module in modules.items()}
    if cell == "LSTM" and rnnlib.nn.compiled.lstm_loop_available(x):
        runs["rnnlib.nn Python loop"] = python_loop_pass(runs["rnnlib.nn"])
    reference = modules["torch.nn"]
    if with_scratch and scratch is not None and device == "cpu":
        params = {k: v.astype(np.float32) for k, v in scratch.params_from_torch(reference).items()}
        runs["rnnlib.scratch"] = scratch_pass(cell, x.detach().numpy().copy(), params)
    return runs


# ----------------------------------------------------------------------------------------------
# Timing


def time_round_robin(runs, repeats, warmup=3):
    """(median, minimum, minimum CPU) seconds of each run; all runs take turns in every repeat.

    The CPU time is this process's (``time.process_time``): with one thread it hardly grows when
    other programs load the machine, unlike the wall time (with several threads, threads that
    wait for each other burn CPU time too)."""
    names = list(runs)
    for _ in range(warmup):
        for name in names:
            runs[name]()
    times = {name: [] for name in names}
    cpu_times = {name: [] for name in names}
    for r in range(repeats):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            start, start_cpu = time.perf_counter(), time.process_time()
            runs[name]()
            times[name].append(time.perf_counter() - start)
            cpu_times[name].append(time.process_time() - start_cpu)
    return {name: (statistics.median(times[name]), min(times[name]), min(cpu_times[name])) for name in names}


def speed_table(repeats, devices, with_scratch, cells=CELLS, sizes=SIZES):
    rows = []
    for device in devices:
        for N, T, D, H in sizes:
            for cell in cells:
                runs = implementations(cell, N, T, D, H, device, with_scratch)
                timings = time_round_robin(runs, repeats)
                median_ref, min_ref, cpu_ref = timings["torch.nn"]
                for name, (median, fastest, cpu) in timings.items():
                    rows.append((device, f"({N}, {T}, {D}, {H})", cell, name, median, median / median_ref,
                                 fastest, fastest / min_ref, cpu, cpu / cpu_ref))
                print(f"  timed {cell} {(N, T, D, H)} on {device}", file=sys.stderr, flush=True)
    return rows


def split_table(repeats, devices, cells=CELLS, sizes=SIZES, warmup=3):
    """Minimum seconds of the forward and of the backward pass apart, for the torch implementations
    (round-robin as in the speed table): where an implementation loses time against torch.nn."""
    rows = []
    for device in devices:
        for N, T, D, H in sizes:
            for cell in cells:
                modules, x = torch_modules(cell, N, T, D, H, device)
                times = {name: ([], []) for name in modules}
                names = list(modules)
                for r in range(-warmup, repeats):
                    for name in names[r % len(names):] + names[: r % len(names)]:
                        modules[name].zero_grad(set_to_none=True)
                        x.grad = None
                        start = time.perf_counter()
                        out, _ = modules[name](x)
                        _synchronize(device)
                        middle = time.perf_counter()
                        out.sum().backward()
                        _synchronize(device)
                        if r >= 0:  # not a warm-up run
                            times[name][0].append(middle - start)
                            times[name][1].append(time.perf_counter() - middle)
                forward_ref, backward_ref = (min(t) for t in times["torch.nn"])
                for name, (forward, backward) in times.items():
                    rows.append((device, f"({N}, {T}, {D}, {H})", cell, name, min(forward), min(forward) / forward_ref,
                                 min(backward), min(backward) / backward_ref))
                print(f"  timed forward and backward apart: {cell} {(N, T, D, H)} on {device}", file=sys.stderr,
                      flush=True)
    return rows


# ----------------------------------------------------------------------------------------------
# Memory


def numpy_peak_bytes(run):
    tracemalloc.start()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    run()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak - before


def memory_table(devices, with_scratch, cells=CELLS, lengths=(100, 1000)):
    N, D, H = MEMORY_SHAPE
    rows = []
    for device in devices:
        for cell in cells:
            for T in lengths:
                runs = implementations(cell, N, T, D, H, device, with_scratch)
                for name, run in runs.items():
                    run()  # warm up (lazy initialisations are not part of the pass)
                    if name == "rnnlib.scratch":
                        peak = numpy_peak_bytes(run)
                    else:
                        _, peak = peak_memory(run, device=device)
                    rows.append((device, cell, T, name, peak))
                print(f"  measured memory {cell} T={T} on {device}", file=sys.stderr, flush=True)
    return rows


# ----------------------------------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=20, help="timed repeats per implementation (default 20)")
    parser.add_argument("--threads", type=int, default=2, help="torch/BLAS threads (default 2)")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory table")
    parser.add_argument("--no-scratch", action="store_true", help="skip rnnlib.scratch (NumPy)")
    parser.add_argument("--cells", nargs="+", choices=CELLS, default=CELLS, help="cells to measure (default: all)")
    parser.add_argument("--first-size-only", action="store_true", help=f"time only (N, T, D, H) = {SIZES[0]}")
    parser.add_argument("--split", action="store_true",
                        help="also time the forward and the backward pass apart (torch implementations)")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.threads < 1:
        parser.error("--repeats and --threads must be >= 1")
    torch.set_num_threads(args.threads)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    with_scratch = not args.no_scratch
    if scratch is None and with_scratch:
        print("note: rnnlib.scratch is not installed yet; its rows are skipped", file=sys.stderr)

    load_before = os.getloadavg()
    started = time.perf_counter()
    sizes = SIZES[:1] if args.first_size_only else SIZES
    speed = speed_table(args.repeats, devices, with_scratch, args.cells, sizes)
    split = split_table(args.repeats, devices, args.cells, sizes) if args.split else []
    memory = [] if args.no_memory else memory_table(devices, with_scratch, args.cells)
    load_after = os.getloadavg()

    print(f"\nForward + backward of sum(outputs), float32, batch-first, 1 layer; torch {torch.__version__}, "
          f"{args.threads} threads, median of {args.repeats} after 3 warm-up runs")
    print(f"machine: {os.cpu_count()} logical CPUs; load average (1 min) {load_before[0]:.1f} before, "
          f"{load_after[0]:.1f} after; total {time.perf_counter() - started:.0f} s")
    print(f"rnnlib.nn LSTM time loop on CPU: {rnnlib.nn.compiled.status()}\n")
    print("| device | (N, T, D, H) | cell | implementation | median ms | ratio to torch.nn | min ms | ratio of mins "
          "| min CPU ms | ratio of CPU |")
    print("|---|---|---|---|---:|---:|---:|---:|---:|---:|")
    for device, size, cell, name, median, ratio, fastest, min_ratio, cpu, cpu_ratio in speed:
        print(f"| {device} | {size} | {cell} | {name} | {median * 1e3:.1f} | {ratio:.2f} | {fastest * 1e3:.1f} "
              f"| {min_ratio:.2f} | {cpu * 1e3:.1f} | {cpu_ratio:.2f} |")
    if split:
        print(f"\nForward and backward apart (forward with autograd recording, then backward of sum(outputs)); "
              f"minimum of {args.repeats} each\n")
        print("| device | (N, T, D, H) | cell | implementation | forward min ms | ratio to torch.nn "
              "| backward min ms | ratio to torch.nn |")
        print("|---|---|---|---|---:|---:|---:|---:|")
        for device, size, cell, name, forward, forward_ratio, backward, backward_ratio in split:
            print(f"| {device} | {size} | {cell} | {name} | {forward * 1e3:.1f} | {forward_ratio:.2f} "
                  f"| {backward * 1e3:.1f} | {backward_ratio:.2f} |")
    if memory:
        N, D, H = MEMORY_SHAPE
        print(f"\nPeak memory of one forward + backward, (N, D, H) = ({N}, {D}, {H}), float32 "
              "(CPU torch: live tensor storages; CUDA: max_memory_allocated; NumPy: tracemalloc)\n")
        print("| device | cell | T | implementation | peak MiB |")
        print("|---|---|---:|---|---:|")
        for device, cell, T, name, peak in memory:
            print(f"| {device} | {cell} | {T} | {name} | {peak / 2**20:.1f} |")


if __name__ == "__main__":
    main()
