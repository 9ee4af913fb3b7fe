"""Committed notebooks carry the outputs of one complete run (made by `make execute`).

The book is built from these outputs without running anything, so a notebook committed
half-executed, out of order or with an error would put stale or broken results in the book.
A cell tagged ``raises-exception`` shows an error on purpose (nbval and nbclient accept it).
"""

from pathlib import Path

import nbformat
import pytest

CHAPTERS = Path(__file__).resolve().parents[1] / "chapters"
NOTEBOOKS = sorted(CHAPTERS.glob("*.ipynb"))
# Progress-bar widgets (tqdm.auto with ipywidgets): tools/execute_notebooks.py turns fit's bars off.
WIDGET = "application/vnd.jupyter.widget-view+json"


def problems(nb):
    """List what is wrong with a notebook that should have been executed top to bottom."""
    found = []
    kernel = nb.metadata.get("kernelspec", {}).get("name")
    if kernel != "python3":
        found.append(f"kernel name is {kernel!r}, expected 'python3'")
    previous = 0
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        count = cell.get("execution_count")
        if count is None:
            found.append(f"cell {index} was not executed")
            continue
        if count <= previous:
            found.append(f"cell {index} ran out of order (execution count {count} after {previous})")
        previous = count
        if "raises-exception" in cell.metadata.get("tags", []):
            continue
        for output in cell.get("outputs", []):
            if WIDGET in output.get("data", {}):
                found.append(f"cell {index} holds a widget output (the book would load widget scripts from a CDN)")
            if output.get("output_type") == "error":
                found.append(f"cell {index} has an error output: {output.get('ename')}: {output.get('evalue')}")
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_committed_notebook_is_fully_executed(path):
    nb = nbformat.read(path, as_version=4)
    found = problems(nb)
    assert not found, (
        f"{path.name}: " + "; ".join(found) + f". Refresh it with: .venv/bin/python tools/execute_notebooks.py chapters/{path.name}"
    )


def _notebook(cells, kernel="python3"):
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": "Python 3", "language": "python"}
    return nb


def _code(source, count, outputs=(), tags=()):
    cell = nbformat.v4.new_code_cell(source, execution_count=count, outputs=list(outputs))
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


ERROR = nbformat.v4.new_output("error", ename="ValueError", evalue="bad", traceback=[])


def test_problems_accepts_a_complete_run():
    nb = _notebook([nbformat.v4.new_markdown_cell("# T"), _code("x = 1", 1), _code("", None), _code("x", 2)])
    assert problems(nb) == []


def test_problems_accepts_an_expected_exception():
    assert problems(_notebook([_code("f(-1)", 1, [ERROR], tags=["raises-exception"])])) == []


@pytest.mark.parametrize(
    "nb, message",
    [
        (_notebook([_code("x = 1", 1), _code("y = 2", None)]), "cell 1 was not executed"),
        (_notebook([_code("x = 1", 1), _code("1/0", 2, [ERROR])]), "cell 1 has an error output: ValueError"),
        (_notebook([_code("x = 1", 2), _code("y = 2", 1)]), "cell 1 ran out of order"),
        (_notebook([_code("x = 1", 1)], kernel="conda-env-rnn"), "kernel name is 'conda-env-rnn'"),
        (_notebook([_code("fit()", 1, [nbformat.v4.new_output("display_data", data={WIDGET: {}, "text/plain": "bar"})])]),
         "cell 0 holds a widget output"),
    ],
    ids=["unexecuted", "error", "out-of-order", "kernel", "widget"],
)
def test_problems_finds_each_defect(nb, message):
    assert any(message in p for p in problems(nb)), problems(nb)
