"""tools/robust.py (make robust): runs a notebook under each setting and reports its glued figures."""

import importlib.util
import os
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("robust", ROOT / "tools" / "robust.py")
robust = importlib.util.module_from_spec(spec)
sys.modules["robust"] = robust  # robust.main sends robust.run to worker processes, by name
spec.loader.exec_module(robust)


def notebook(*sources):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


@pytest.fixture
def probe(tmp_path):
    """A notebook that glues what its kernel sees, and asserts on one value."""
    path = tmp_path / "probe.ipynb"
    nbformat.write(notebook(
        "import os\nfrom myst_nb import glue\nimport rnnlib\n"
        "rng = rnnlib.seed_everything(0)\n"
        "glue('family', os.environ.get('RNNLIB_SEED', 'unset'), display=False)\n"
        "glue('capability', os.environ.get('ATEN_CPU_CAPABILITY', 'native'), display=False)\n"
        "glue('draw', round(float(rng.random()), 4), display=False)",
        "assert os.environ.get('RNNLIB_SEED') != '2', 'seed family 2 is refused here'",
    ), path)
    return path


def test_each_setting_reaches_the_kernel_and_changes_the_draws(probe):
    robust.set_kernel_environment()
    seed1, error1, _ = robust.run(probe, robust.SETTINGS["seed1"], timeout=120)
    cpu, error_cpu, _ = robust.run(probe, robust.SETTINGS["other-cpu"], timeout=120)
    assert error1 is None and error_cpu is None
    # a seed setting keeps this process's CPU (masked already when the tests run under other-cpu)
    own_capability = os.environ.get("ATEN_CPU_CAPABILITY", "native")
    assert seed1["family"].strip("'") == "1" and seed1["capability"].strip("'") == own_capability
    assert cpu["family"].strip("'") == "unset" and cpu["capability"].strip("'") == "default"
    assert seed1["draw"] != cpu["draw"]


def test_a_failing_assert_is_reported_with_its_cell(probe):
    robust.set_kernel_environment()
    figures, error, _ = robust.run(probe, robust.SETTINGS["seed2"], timeout=120)
    assert error.startswith("cell 1: AssertionError: seed family 2 is refused here")
    assert figures["family"].strip("'") == "2"
    section = robust.table(probe, {"draw": "0.6370"}, {"seed2": (figures, error, 1.0)})
    assert "| draw | 0.6370 |" in section and "FAILED cell 1: AssertionError" in section


def test_unknown_setting_is_refused(capsys):
    with pytest.raises(SystemExit):
        robust.main(["--settings", "seed9"])
    assert "--settings must name some of seed1, seed2, other-cpu" in capsys.readouterr().err


def test_runs_side_by_side_report_every_setting_and_the_failure(probe, capsys, monkeypatch):
    monkeypatch.setattr(robust, "REPORT", probe.parent / "report.md")
    status = robust.main([str(probe), "--settings", "seed1,seed2", "--jobs", "2"])
    out, err = capsys.readouterr()
    assert status == 1 and "probe.ipynb under seed2: cell 1: AssertionError: seed family 2 is refused here" in err
    assert "probe.ipynb under seed1: ok" in out
    report = (probe.parent / "report.md").read_text()
    assert "| family | - | 1 | 2 |" in report and "| **status** | committed | ok" in report


def test_jobs_below_one_is_refused(capsys):
    with pytest.raises(SystemExit):
        robust.main(["--jobs", "0"])
    assert "--jobs must be a whole number >= 1, got 0" in capsys.readouterr().err
