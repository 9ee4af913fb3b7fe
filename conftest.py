"""Shared pytest set-up: the notebooks' kernel environment, the order in which `make test`'s two
workers take the work, and a summary of notebook run times and skips."""

import os
from collections import defaultdict
from pathlib import Path

# nbval's kernels inherit this process's environment. A fixed hash seed makes set and dict
# orders of strings reproducible, as in tools/execute_notebooks.py, which produced the
# committed outputs; everything else is seeded in the notebooks themselves.
os.environ["PYTHONHASHSEED"] = "0"


# Every chapter runs on one torch thread (its first cell says so), so `make test` executes two
# notebooks at a time (pytest-xdist, `-n 2 --dist loadfile`: all cells of a notebook on one
# worker, in order). The workers take files in collection order, so the notebooks come first,
# longest first (seconds alone on one core, measured 2026-12-02), and the unit tests fill in
# after them: no worker is left with a long chapter while the other is idle.
NOTEBOOK_SECONDS = {
    "01_rnn_basics.ipynb": 165, "04_lstm_gru.ipynb": 136, "07_captioning.ipynb": 112,
    "06_attention.ipynb": 109, "A1_scaling.ipynb": 105, "03_gradients.ipynb": 93,
    "02_bptt.ipynb": 72, "05_bidirectional.ipynb": 70, "08_bias_energy.ipynb": 50,
}


def pytest_collection_modifyitems(session, config, items):
    def order(item):
        path = Path(str(item.path))
        if path.suffix == ".ipynb":  # unlisted notebooks: after the listed ones
            return (0, -NOTEBOOK_SECONDS.get(path.name, 0), path.name)
        return (1, 0, "")

    items.sort(key=order)  # stable: the cells of a notebook and the tests of a file keep their order


class NotebookTimes:
    """Sums the durations of nbval's cell items per notebook (this conftest sits at the root so
    that `pytest chapters/X.ipynb` alone gets the timing and the hash seed too)."""

    def __init__(self):
        self.seconds = defaultdict(float)

    def pytest_runtest_logreport(self, report):
        # One item per cell ("chapters/x.ipynb::Cell 3"); the first cell's set-up includes
        # starting the kernel, so summing every phase gives the notebook's run time.
        path = report.nodeid.split("::", 1)[0]
        if path.endswith(".ipynb"):
            self.seconds[path] += report.duration

    def pytest_terminal_summary(self, terminalreporter):
        if self.seconds:
            terminalreporter.section("notebook execution times")
            for path, seconds in sorted(self.seconds.items()):
                terminalreporter.write_line(f"{seconds:8.1f} s  {path}")
            terminalreporter.write_line(f"{sum(self.seconds.values()):8.1f} s  total")


def pytest_configure(config):
    config.pluginmanager.register(NotebookTimes(), "notebook-times")


def pytest_terminal_summary(terminalreporter):
    skipped = terminalreporter.stats.get("skipped", [])
    if skipped:
        terminalreporter.section("skipped, and why")
        for report in skipped:
            reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            terminalreporter.write_line(f"{report.nodeid}: {reason}")
