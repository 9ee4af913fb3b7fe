"""Shared pytest set-up: the notebooks' kernel environment, and a summary of notebook run times and skips."""

import os
from collections import defaultdict

# nbval's kernels inherit this process's environment. A fixed hash seed makes set and dict
# orders of strings reproducible, as in tools/execute_notebooks.py, which produced the
# committed outputs; everything else is seeded in the notebooks themselves.
os.environ["PYTHONHASHSEED"] = "0"

_notebook_seconds = defaultdict(float)


def pytest_runtest_logreport(report):
    # nbval reports one item per cell ("chapters/x.ipynb::Cell 3"); the first cell's set-up
    # includes starting the kernel, so summing every phase gives the notebook's run time.
    path = report.nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        _notebook_seconds[path] += report.duration


def pytest_terminal_summary(terminalreporter):
    if _notebook_seconds:
        terminalreporter.section("notebook execution times")
        for path, seconds in sorted(_notebook_seconds.items()):
            terminalreporter.write_line(f"{seconds:8.1f} s  {path}")
        terminalreporter.write_line(f"{sum(_notebook_seconds.values()):8.1f} s  total")
    skipped = terminalreporter.stats.get("skipped", [])
    if skipped:
        terminalreporter.section("skipped, and why")
        for report in skipped:
            reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            terminalreporter.write_line(f"{report.nodeid}: {reason}")
