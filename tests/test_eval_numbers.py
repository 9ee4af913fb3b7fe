"""Numbers in the prose are inline expressions whose values are stored in the notebook.

- tools/execute_notebooks.py finds each markdown cell's ``{eval}`` expressions and collapses in
  JupyterLab the code cells that the book hides;
- tools/glue_to_eval.py converts the old form (myst-nb ``glue`` + ``{glue:text}``) mechanically,
  with the values that executing the notebook would store, and refuses what it cannot convert;
- every committed chapter's ``{eval}`` expression has a stored value that evaluated without error
  (the book renders those values: tools/book_eval.py).
"""

import copy
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from execute_notebooks import EXPRESSIONS_KEY, collapse_hidden_cells, inline_expressions  # noqa: E402
from glue_to_eval import ConversionError, convert_notebook, main as glue_to_eval_main, needs_conversion  # noqa: E402

CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))


def glue_output(name, text_plain):
    """The display_data output that ``myst_nb.glue(name, value, display=False)`` leaves in a cell."""
    prefix = "application/papermill.record/"
    return new_output(
        "display_data",
        data={prefix + "text/plain": text_plain},
        metadata={"scrapbook": {"mime_prefix": prefix, "name": name}},
    )


def old_form_notebook():
    setup = new_code_cell("import numpy as np\nfrom myst_nb import glue\nx = 0.123456", execution_count=1)
    compute = new_code_cell(
        'glue("ch9_acc", x, display=False)\nfor k in (1, 2):\n    glue(f"ch9_k{k}", k * 10, display=False)\nglue("ch9_n", 42, display=False)',
        execution_count=2,
        outputs=[
            glue_output("ch9_acc", "0.123456"),
            glue_output("ch9_k1", "10"),
            glue_output("ch9_k2", "20"),
            glue_output("ch9_n", "np.int64(42)"),
            new_output("stream", name="stdout", text="kept\n"),
        ],
    )
    prose = new_markdown_cell(
        "Accuracy {glue:text}`ch9_acc:.1%`, k=2 gives {glue:text}`ch9_k2`, n = {glue:text}`ch9_n:d` "
        "{cite}`elman1990finding`; code: `{glue:text}` stays.\n\n```python\n{eval}`not_me`\n```"
    )
    return new_notebook(cells=[setup, compute, prose])


def test_inline_expressions_are_found_in_order_outside_code_blocks():
    text = "a {eval}`x` b {eval}`f\"{y:.2f}\"`\n```python\n{eval}`z`\n```\n```{note}\n{eval}`w`\n```"
    assert inline_expressions(text) == ["x", 'f"{y:.2f}"', "w"]


def test_prose_after_a_closed_directive_is_read():
    """The bare ``` that closes a directive closes it; it does not open a code block (the bug that
    left chapter 2's numbers after a solution gate without stored values)."""
    text = ("```{solution-start} ex\n```\nbody {eval}`a`\n```{solution-end}\n```\nafter {eval}`b`\n"
            "````{exercise} Title {eval}`c`\n```python\n{eval}`not_me`\n```\nin {eval}`d`\n````\n"
            ":::{note}\n{eval}`e`\n:::\nend {eval}`f`")
    assert inline_expressions(text) == ["a", "b", "c", "d", "e", "f"]


def test_hidden_code_cells_are_collapsed_for_jupyterlab():
    nb = new_notebook(
        cells=[
            new_markdown_cell("```{exercise} E\n:label: e\nDo it.\n```\n```{solution-start} e\n:class: dropdown\n```"),
            new_code_cell("answer = 1"),
            new_markdown_cell("```{solution-end}\n```"),
            new_code_cell("shown = 2"),
            new_code_cell("check = 3", metadata={"tags": ["hide-input"]}),
            new_code_cell("answer_for_the_solution = 4", metadata={"tags": ["remove-cell"]}),
        ]
    )
    collapse_hidden_cells(nb)
    views = [c.metadata.get("jupyter") for c in nb.cells if c.cell_type == "code"]
    whole = {"source_hidden": True, "outputs_hidden": True}
    assert views == [whole, None, {"source_hidden": True}, whole]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_what_the_book_hides_is_collapsed_in_jupyterlab(path):
    """A learner in JupyterLab must not see a solution the book hides: every chapter is collapsed
    as tools/execute_notebooks.py collapses it."""
    nb = nbformat.read(path, as_version=4)
    collapsed = copy.deepcopy(nb)
    collapse_hidden_cells(collapsed)
    differ = [i for i, (a, b) in enumerate(zip(nb.cells, collapsed.cells)) if a.metadata != b.metadata]
    assert not differ, f"cells {differ} are not collapsed: run tools/execute_notebooks.py {path.name}"


def test_converter_turns_glue_into_expressions_with_their_values():
    nb = old_form_notebook()
    assert needs_conversion(nb)
    assert convert_notebook(nb)
    setup, compute, prose = nb.cells
    assert "myst_nb" not in setup.source
    assert compute.source == 'ch9_acc = x\nfor k in (1, 2):\n    globals()[f"ch9_k{k}"] = k * 10\nch9_n = 42'
    assert [o.get("text") for o in compute.outputs] == ["kept\n"]  # glue records dropped, the rest kept
    assert prose.source.startswith(
        'Accuracy {eval}`f"{ch9_acc:.1%}"`, k=2 gives {eval}`ch9_k2`, n = {eval}`f"{ch9_n:d}"` {cite:p}`elman1990finding`'
    )
    stored = {item["expression"]: item["result"] for item in prose.metadata[EXPRESSIONS_KEY]}
    assert stored == {
        'f"{ch9_acc:.1%}"': {"status": "ok", "data": {"text/plain": "'12.3%'"}, "metadata": {}},
        "ch9_k2": {"status": "ok", "data": {"text/plain": "20"}, "metadata": {}},
        'f"{ch9_n:d}"': {"status": "ok", "data": {"text/plain": "'42'"}, "metadata": {}},
    }
    # what the kernel would answer for the same expressions after the converted code ran
    namespace = {"x": 0.123456}
    exec(setup.source + "\n" + compute.source, namespace)  # noqa: S102 (our own test code)
    for expression, result in stored.items():
        assert repr(eval(expression, namespace)) == result["data"]["text/plain"]  # noqa: S307
    assert not needs_conversion(nb)
    assert not convert_notebook(nb)  # idempotent


@pytest.mark.parametrize(
    "code, prose, why",
    [
        ('glue("a", 1, display=False)', "{glue:text}`b`", "or without"),
        ("def f():\n    glue('a', 1, display=False)", "{glue:text}`a`", "inside a function"),
        ('glue("a", 1)', "{glue:text}`a`", "displays its value"),
    ],
)
def test_converter_refuses_what_it_cannot_convert(code, prose, why):
    nb = new_notebook(cells=[new_code_cell(code, outputs=[glue_output("a", "1")]), new_markdown_cell(prose)])
    before = nbformat.writes(nb)
    with pytest.raises(ConversionError, match=why):
        convert_notebook(nb)
    assert nbformat.writes(nb) == before  # left unchanged


def test_converter_check_mode_flags_the_old_form(tmp_path, capsys):
    path = tmp_path / "old.ipynb"
    nbformat.write(old_form_notebook(), path)
    assert glue_to_eval_main(["--check", str(path)]) == 1
    assert "needs tools/glue_to_eval.py" in capsys.readouterr().out
    assert glue_to_eval_main([str(path)]) == 0
    assert glue_to_eval_main(["--check", str(path)]) == 0


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_every_inline_expression_has_its_stored_value(path):
    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        expressions = inline_expressions(cell.source)
        stored = cell.metadata.get(EXPRESSIONS_KEY, [])
        assert [item["expression"] for item in stored] == expressions, (
            f"cell {index}: stored expressions differ from the prose's: run tools/execute_notebooks.py {path.name}"
        )
        failed = [item["expression"] for item in stored if item["result"].get("status") != "ok"]
        assert not failed, f"cell {index}: {failed} raised when the notebook ran"


def test_chapters_state_numbers_with_eval_not_glue():
    old = {path.name: needs_conversion(nbformat.read(path, as_version=4)) for path in CHAPTERS}
    old = {name: reasons for name, reasons in old.items() if reasons}
    assert not old, "run tools/glue_to_eval.py on: " + ", ".join(f"{n} ({r[0]})" for n, r in old.items())
