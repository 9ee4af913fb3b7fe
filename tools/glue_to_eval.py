"""Convert chapters from myst-nb glue to inline expressions, so that JupyterLab shows their numbers.

Usage: .venv/bin/python tools/glue_to_eval.py chapters/*.ipynb        (rewrites them in place)
       .venv/bin/python tools/glue_to_eval.py --check chapters/*.ipynb  (exit 1 if any needs it)

JupyterLab's MyST renderer (jupyterlab-myst) does not know myst-nb's ``{glue:text}`` role: it shows
the bare key where the number should be. It does render inline expressions, ``{eval}`expr```,
whose values the notebook stores in the markdown cell's metadata (see tools/execute_notebooks.py),
and so does the book (tools/book_eval.py). This tool rewrites, mechanically:

- a code statement ``glue("name", value, display=False)`` into ``name = value`` (a glue whose name
  is computed, ``glue(f"acc_{k}", v, display=False)``, into ``globals()[f"acc_{k}"] = v``), and
  drops ``from myst_nb import glue`` when nothing uses it any more;
- prose ``{glue:text}`name``` into ``{eval}`name```, and ``{glue:text}`name:.3f``` into
  ``{eval}`f"{name:.3f}"```; ``{glue}`` and ``{glue:}`` likewise;
- the bare ``{cite}`key``` into ``{cite:p}`key``` (author-year in parentheses).

It fills in the stored values from the notebook's own glue outputs, exactly as executing the notebook
would (each markdown cell sees the values glued above it), and drops those glue outputs, so a
converted notebook builds and reads the same without being run again. It refuses, and changes
nothing in that notebook, when a glue call sits inside a function (its name would be local), when
prose uses a value glued only further down, or when a glued value cannot be read back; it says
where. Run it on a notebook that is executed and fresh (tools/execute_notebooks.py).
"""

import argparse
import ast
import re
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from execute_notebooks import EXPRESSIONS_KEY, collapse_hidden_cells, inline_expressions  # noqa: E402

GLUE_ROLE = re.compile(r"\{glue(?::text|:any|:)?\}`([^`:\s]+)(?::([^`\s]*))?`")
BARE_CITE = re.compile(r"\{cite\}`")
GLUE_IMPORT = re.compile(r"^from myst_nb import glue[ \t]*\n?", re.M)
RECORD_PREFIX = "application/papermill.record/"
NUMPY_SCALAR = re.compile(r"^np\.\w+\((.*)\)$")


class ConversionError(Exception):
    """The notebook needs a hand edit before it can be converted."""


def _mask_magics(source):
    """The cell's source with IPython magics and shell lines commented out, so ``ast`` can parse it."""
    return "\n".join("#" + line if line.lstrip().startswith(("%", "!")) else line for line in source.split("\n"))


def _offsets(source):
    starts, total = [], 0
    for line in source.split("\n"):
        starts.append(total)
        total += len(line) + 1
    return starts


def _is_glue_call(node):
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "glue"


def convert_code(source, where):
    """``source`` with every ``glue(name, value, display=False)`` statement turned into an assignment."""
    try:
        tree = ast.parse(_mask_magics(source))
    except SyntaxError as err:
        raise ConversionError(f"{where}: cannot parse the code ({err})") from None
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    edits = []
    for node in ast.walk(tree):
        if not _is_glue_call(node):
            continue
        statement = parents.get(node)
        display = [k for k in node.keywords if k.arg == "display"]
        if not isinstance(statement, ast.Expr) or len(node.args) != 2 or len(node.keywords) != len(display):
            raise ConversionError(f"{where}: only `glue(name, value, display=False)` statements convert, found `{ast.get_source_segment(source, node)}`")
        if not (display and isinstance(display[0].value, ast.Constant) and display[0].value.value is False):
            raise ConversionError(f"{where}: `{ast.get_source_segment(source, node)}` displays its value; convert it by hand")
        scope = statement
        while scope in parents:
            scope = parents[scope]
            if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                raise ConversionError(f"{where}: `{ast.get_source_segment(source, node)}` is inside a function; its name would be local to it")
        name, value = node.args
        value_text = ast.get_source_segment(source, value)
        if isinstance(name, ast.Constant) and isinstance(name.value, str) and name.value.isidentifier():
            target = name.value
        else:
            target = f"globals()[{ast.get_source_segment(source, name)}]"
        edits.append((statement, f"{target} = {value_text}"))
    if not edits:
        return source
    starts = _offsets(source)
    # Splice from the end so that earlier offsets stay valid (ast columns are UTF-8 byte offsets).
    text = source.encode("utf-8")
    byte_starts = [len(source[:s].encode("utf-8")) for s in starts]
    for statement, replacement in sorted(edits, key=lambda e: (e[0].lineno, e[0].col_offset), reverse=True):
        begin = byte_starts[statement.lineno - 1] + statement.col_offset
        end = byte_starts[statement.end_lineno - 1] + statement.end_col_offset
        text = text[:begin] + replacement.encode("utf-8") + text[end:]
    return text.decode("utf-8")


def convert_prose(source):
    """``source`` with glue roles as ``{eval}`` expressions and bare ``{cite}`` as ``{cite:p}``."""

    def to_eval(match):
        name, spec = match.group(1).strip(), match.group(2)
        # a key that is not a Python name (ch3_slope_0.5) was glued as globals()["ch3_slope_0.5"]
        value = name if name.isidentifier() else f"globals()['{name}']"
        return f"{{eval}}`{value}`" if not spec else f'{{eval}}`f"{{{value}:{spec}}}"`'

    return BARE_CITE.sub("{cite:p}`", GLUE_ROLE.sub(to_eval, source))


def _plain_value(text):
    """The Python value that a glued ``text/plain`` shows (a number, a string, a bool...)."""
    scalar = NUMPY_SCALAR.match(text)
    return ast.literal_eval(scalar.group(1) if scalar else text)


def _result(expression, glued, where):
    """What the kernel would answer for ``expression`` given the glued values ``glued`` so far."""
    name_and_spec = re.fullmatch(r'f"\{(.+?):([^}"]*)\}"', expression)
    name = name_and_spec.group(1) if name_and_spec else expression
    name = re.sub(r"^globals\(\)\['(.*)'\]$", r"\1", name)
    if name not in glued:
        raise ConversionError(f"{where}: prose uses `{name}` before (or without) the code cell that glues it")
    data = glued[name]
    if name_and_spec is None:
        return {"status": "ok", "data": data, "metadata": {}}
    try:
        value = _plain_value(data["text/plain"])
        text = format(value, name_and_spec.group(2))
    except (KeyError, ValueError, SyntaxError, TypeError) as err:
        raise ConversionError(f"{where}: cannot format the glued value of `{name}` ({err}); run tools/execute_notebooks.py after converting") from None
    return {"status": "ok", "data": {"text/plain": repr(text)}, "metadata": {}}


def convert_notebook(nb, label="notebook"):
    """Convert ``nb`` in place; return True when it changed. Raise ConversionError (naming every
    place that needs a hand edit) when it cannot; ``nb`` is then left unchanged."""
    original = nbformat.from_dict(nb)
    problems = []
    changed = False
    glued = {}  # glue name -> its MIME bundle, as of the cell being read
    uses_glue_later = False
    for index, cell in enumerate(nb.cells):
        where = f"{label}, cell {index}"
        if cell.cell_type == "code":
            try:
                new_source = convert_code(cell.source, where)
            except ConversionError as err:
                problems.append(str(err))
                new_source = cell.source
            outputs = []
            for output in cell.get("outputs", []):
                record = output.get("metadata", {}).get("scrapbook")
                if record:
                    prefix = record.get("mime_prefix", RECORD_PREFIX)
                    glued[record["name"]] = {k[len(prefix):]: v for k, v in output.get("data", {}).items() if k.startswith(prefix)}
                else:
                    outputs.append(output)
            if new_source != cell.source or len(outputs) != len(cell.get("outputs", [])):
                cell.source, cell.outputs, changed = new_source, outputs, True
            uses_glue_later = uses_glue_later or re.search(r"\bglue\(", GLUE_IMPORT.sub("", cell.source)) is not None
        elif cell.cell_type == "markdown":
            new_source = convert_prose(cell.source)
            if new_source == cell.source:
                continue
            stored = []
            for expression in inline_expressions(new_source):
                try:
                    stored.append({"expression": expression, "result": _result(expression, glued, where)})
                except ConversionError as err:
                    problems.append(str(err))
            cell.source, changed = new_source, True
            if stored:
                cell.metadata[EXPRESSIONS_KEY] = stored
    if not uses_glue_later:
        for cell in nb.cells:
            if cell.cell_type == "code" and GLUE_IMPORT.search(cell.source):
                cell.source, changed = GLUE_IMPORT.sub("", cell.source), True
    if problems:
        nb.clear()
        nb.update(original)
        raise ConversionError("\n".join(problems))
    collapse_hidden_cells(nb)
    return changed


def needs_conversion(nb):
    """Why ``nb`` still needs this tool (a list of reasons; empty when it does not)."""
    reasons = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            for pattern in (GLUE_ROLE, BARE_CITE):
                found = pattern.search(cell.source)
                if found:
                    reasons.append(f"cell {index}: {found.group(0)}")
        elif cell.cell_type == "code" and re.search(r"\bglue\(|from myst_nb import glue", cell.source):
            reasons.append(f"cell {index}: glue(...)")
    return reasons


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a notebook needs converting")
    args = parser.parse_args(argv)
    status = 0
    for path in args.notebooks:
        nb = nbformat.read(path, as_version=4)
        if args.check:
            reasons = needs_conversion(nb)
            if reasons:
                print(f"{path}: needs tools/glue_to_eval.py ({len(reasons)} places, first {reasons[0]})")
                status = 1
            continue
        try:
            changed = convert_notebook(nb, str(path))
        except ConversionError as err:
            print(f"NOT converted, {path} needs these edits by hand first:\n{err}", file=sys.stderr)
            status = 1
            continue
        if changed:
            nbformat.validate(nb)
            nbformat.write(nb, path)
            print(f"converted {path}")
        else:
            print(f"unchanged {path}")
    return status


if __name__ == "__main__":
    sys.exit(main())
