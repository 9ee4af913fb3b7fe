"""The speed benchmark runs and prints its tables (one quick configuration; timings are not asserted)."""

import importlib.util
from pathlib import Path

import torch

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_rnn.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_rnn", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def table_rows(text, header):
    """The data rows of the markdown table that follows the line starting with ``header``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_split_table_times_forward_and_backward_of_every_torch_implementation(capsys):
    bench = load_bench()
    threads = torch.get_num_threads()
    try:
        bench.main(["--split", "--cells", "RNN", "--first-size-only", "--no-memory", "--no-scratch", "--repeats", "2",
                    "--threads", "1"])
    finally:
        torch.set_num_threads(threads)  # main sets it for the whole process
    out = capsys.readouterr().out
    rows = table_rows(out, "| device | (N, T, D, H) | cell | implementation | forward min ms")
    assert [row[3] for row in rows] == ["torch.nn", "rnnlib.nn", "rnnlib.nn readable"]
    assert f"rnnlib.nn LSTM time loop on CPU: {bench.rnnlib.nn.compiled.status()}" in out
    for row in rows:
        forward, backward = float(row[4]), float(row[6])
        assert forward > 0 and backward > 0, row
    assert rows[0][5] == rows[0][7] == "1.00"  # ratios are to torch.nn
    # the speed table is printed too, with the same implementations
    speed = table_rows(out, "| device | (N, T, D, H) | cell | implementation | median ms")
    assert [row[3] for row in speed] == ["torch.nn", "rnnlib.nn", "rnnlib.nn readable"]


def test_the_lstm_is_also_timed_with_its_python_loop_where_the_compiled_one_runs():
    bench = load_bench()
    runs = bench.implementations("LSTM", 2, 3, 4, 5, with_scratch=False)
    expected = ["torch.nn", "rnnlib.nn", "rnnlib.nn readable"]
    if bench.rnnlib.nn.compiled.lstm_loop_available(torch.empty(0)):
        expected.append("rnnlib.nn Python loop")
    assert list(runs) == expected
    for run in runs.values():
        run()
    assert list(bench.implementations("GRU", 2, 3, 4, 5, with_scratch=False)) == expected[:3]
