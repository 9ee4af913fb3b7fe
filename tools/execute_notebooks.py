"""Re-execute notebooks in place, top to bottom, so their committed outputs are those of the current code.

Usage: .venv/bin/python tools/execute_notebooks.py chapters/01_rnn_basics.ipynb [more.ipynb ...]

Each notebook runs in a fresh ``python3`` kernel whose working directory is the notebook's folder
(as under nbval), with ``PYTHONHASHSEED=0`` (the notebooks seed everything else themselves) and
without ``MPLBACKEND`` (with Agg, inline figures silently vanish). The result is written to a
temporary file that replaces the notebook only when every cell ran: a notebook whose execution
fails is left untouched, and the command exits with status 1 after trying the others.

For JupyterLab (with the jupyterlab-myst extension, installed by requirements.txt) it also writes
what a learner's view needs, into cell metadata that the book build ignores:

- each markdown cell's inline expressions ``{eval}`expr``` are evaluated in the kernel right after
  the code cells above it, and stored as ``user_expressions`` (the format jupyterlab-myst writes
  when a learner runs the cell), so JupyterLab shows the numbers without running anything and the
  book renders the same values (tools/book_eval.py);
- code cells inside a gated solution (``{solution-start}`` ... ``{solution-end}``) are collapsed,
  input and output, and code cells tagged ``hide-input`` have their input collapsed
  (``metadata.jupyter.source_hidden`` / ``outputs_hidden``), as the book hides them.
"""

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, DeadKernelError

KERNEL_NAME = "python3"
KERNELSPEC = {"name": KERNEL_NAME, "display_name": "Python 3 (ipykernel)", "language": "python"}
EXPRESSIONS_KEY = "user_expressions"
# `{eval}`expr``, the inline expression role of MyST (read by myst-nb and jupyterlab-myst)
EVAL_ROLE = re.compile(r"\{eval\}`([^`]+)`")
# a fence line: ``` or ~~~ (a code block, or a directive when followed by {name}) or ::: (a directive)
FENCE = re.compile(r"^\s*(`{3,}|~{3,}|:{3,})(.*)$")
GATE = re.compile(r"^\s*(?:`{3,}|:{3,})\{solution-(start|end)\}", re.M)


def _closes(marks, opening):
    """Whether the bare fence ``marks`` closes a block opened by ``opening`` (CommonMark: the same
    character, at least as many)."""
    return marks[0] == opening[0] and len(marks) >= len(opening)


def inline_expressions(markdown):
    """The ``{eval}`` expressions of a markdown cell, in reading order.

    Code blocks are left out; a directive's title and body are MyST and are read, and the bare
    fence that closes a directive (```` ``` ```` after ```` ```{exercise} ````) closes it rather
    than opening a code block.
    """
    found, code_fence, directives = [], None, []
    for line in markdown.splitlines():
        fence = FENCE.match(line)
        if code_fence:
            if fence and not fence.group(2).strip() and _closes(fence.group(1), code_fence):
                code_fence = None
            continue
        if fence:
            marks, rest = fence.group(1), fence.group(2).strip()
            if not rest and directives and _closes(marks, directives[-1]):
                directives.pop()
                continue
            if rest.startswith("{"):
                directives.append(marks)
                found.extend(EVAL_ROLE.findall(rest))
                continue
            if marks[0] != ":":
                code_fence = marks
                continue
        found.extend(EVAL_ROLE.findall(line))
    return found


def collapse_hidden_cells(nb):
    """Collapse in JupyterLab what the book hides or removes: gated solutions' code cells and
    ``remove-cell`` / ``hide-cell`` cells whole, ``hide-input`` / ``remove-input`` inputs (a cell the
    book removes, e.g. one computing an exercise's answer for its solution, must not show the
    answer in JupyterLab either)."""
    inside_solution = False
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for gate in GATE.findall(cell.source):
                inside_solution = gate == "start"
            continue
        if cell.cell_type != "code":
            continue
        tags = set(cell.metadata.get("tags", []))
        view = {}
        if inside_solution or tags & {"remove-cell", "hide-cell"}:
            view = {"source_hidden": True, "outputs_hidden": True}
        elif tags & {"hide-input", "remove-input"}:
            view = {"source_hidden": True}
        if view:
            cell.metadata.setdefault("jupyter", {}).update(view)


class LabNotebookClient(NotebookClient):
    """An nbclient that also evaluates the ``{eval}`` expressions of markdown cells, in order."""

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if cell.cell_type == "markdown":
            await self._evaluate_expressions(cell)
            return cell
        return await super().async_execute_cell(cell, cell_index, execution_count, store_history)

    async def _evaluate_expressions(self, cell):
        expressions = inline_expressions(cell.source)
        if not expressions:
            cell.metadata.pop(EXPRESSIONS_KEY, None)
            return
        # What jupyterlab-myst sends when a markdown cell is run: empty code with user_expressions.
        # silent: no execution count is used, nothing is stored in the kernel's history.
        request = {str(i): expression for i, expression in enumerate(expressions)}
        msg_id = self.kc.execute("", silent=True, store_history=False, user_expressions=request)
        reply = await self.async_wait_for_reply(msg_id, cell)
        results = (reply or {}).get("content", {}).get("user_expressions", {})
        stored = []
        for key, expression in request.items():
            result = results.get(key, {"status": "error", "ename": "NoReply", "evalue": "the kernel did not answer"})
            if result.get("status") != "ok":
                raise CellExecutionError(
                    f"{{eval}}`{expression}` failed: {result.get('ename')}: {result.get('evalue')}",
                    result.get("ename", ""),
                    result.get("evalue", ""),
                )
            stored.append({"expression": expression, "result": result})
        cell.metadata[EXPRESSIONS_KEY] = stored


def set_kernel_environment():
    """The environment every notebook kernel starts with (kernels inherit this process's)."""
    os.environ["PYTHONHASHSEED"] = "0"
    # No progress bars in committed outputs: as widgets they would make the book load scripts
    # from a CDN, and as text they are noise (rnnlib.train.fit reads this).
    os.environ["RNNLIB_PROGRESS"] = "0"
    # With Agg, inline figures silently vanish.
    os.environ.pop("MPLBACKEND", None)
    # The committed outputs are those of the seeds written in the notebooks (RNNLIB_SEED unset).
    os.environ.pop("RNNLIB_SEED", None)


def execute_notebook(path, timeout):
    """Execute the notebook at ``path`` and overwrite it atomically; return the seconds it took."""
    path = Path(path).resolve()
    nb = nbformat.read(path, as_version=4)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    collapse_hidden_cells(nb)
    client = LabNotebookClient(
        nb,
        timeout=timeout,
        kernel_name=KERNEL_NAME,
        resources={"metadata": {"path": str(path.parent)}},
        # Per-cell timestamps would change every run and bloat the diffs.
        record_timing=False,
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    nbformat.validate(nb)
    fd, tmp = tempfile.mkstemp(suffix=".ipynb", prefix=f".{path.stem}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            nbformat.write(nb, handle)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to execute in place")
    parser.add_argument("--timeout", type=int, default=1200, help="seconds allowed per cell (default 1200)")
    args = parser.parse_args(argv)
    if not args.notebooks:
        print("execute_notebooks: no notebooks given, nothing to do")
        return 0
    missing = [str(p) for p in args.notebooks if not p.is_file() or p.suffix != ".ipynb"]
    if missing:
        parser.error(f"not notebook files: {', '.join(missing)}")

    set_kernel_environment()

    failed = []
    total = 0.0
    for path in args.notebooks:
        print(f"executing {path} ...", flush=True)
        try:
            seconds = execute_notebook(path, args.timeout)
        except (CellExecutionError, DeadKernelError, TimeoutError) as err:
            print(f"FAILED {path}: left unchanged\n{err}", file=sys.stderr, flush=True)
            failed.append(str(path))
            continue
        total += seconds
        print(f"{seconds:8.1f} s  {path}", flush=True)
    print(f"{total:8.1f} s  total for {len(args.notebooks) - len(failed)} notebook(s)")
    if failed:
        print(f"execution failed, notebooks left unchanged: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
