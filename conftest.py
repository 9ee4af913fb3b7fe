"""Shared pytest set-up: the notebooks' kernel environment, and a summary of notebook run times and skips."""

import os
from collections import defaultdict

# nbval's kernels inherit this process's environment. A fixed hash seed makes set and dict
# orders of strings reproducible, as in tools/execute_notebooks.py, which produced the
# committed outputs; everything else is seeded in the notebooks themselves.
os.environ["PYTHONHASHSEED"] = "0"


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
