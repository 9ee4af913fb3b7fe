"""Sphinx extension: the ``{eval}`expr``` role renders the value that expr had when the notebook ran.

A chapter states its numbers with inline expressions, ``{eval}`n_params``` or
``{eval}`f"{val_bits:.2f}"```. When ``tools/execute_notebooks.py`` executes a notebook, it
evaluates each markdown cell's expressions in the kernel, right after the code cells above it, and
stores the results in the cell's metadata under ``user_expressions`` (the format the JupyterLab
extension jupyterlab-myst reads and writes, so JupyterLab shows the same numbers and recomputes them
when the cell is run).

The book is built without a kernel (``execute_notebooks: "off"``), where myst-nb's own ``eval``
role has nothing to evaluate with. This role replaces it and renders the stored result exactly as
myst-nb renders a glued value (text/plain with the quotes of a string removed, or a richer MIME
type). An expression without a stored result, or whose evaluation raised, is a warning (an error
under ``-W``), naming the expression and what to run.
"""

from __future__ import annotations

from docutils import nodes
from myst_nb.core.variables import VariableOutput, create_warning, render_variable_outputs
from myst_nb.ext.utils import RoleBase

METADATA_KEY = "user_expressions"


def stored_results(notebook):
    """``{expression: [(cell_index, result), ...]}`` from the markdown cells' stored expressions."""
    found = {}
    for index, cell in enumerate(notebook.get("cells", [])):
        if cell.get("cell_type") != "markdown":
            continue
        for item in cell.get("metadata", {}).get(METADATA_KEY, []) or []:
            found.setdefault(item.get("expression"), []).append((index, item.get("result") or {}))
    return found


class EvalRole(RoleBase):
    """``{eval}`expr```: the result stored for ``expr`` in this markdown cell's metadata."""

    def run(self) -> tuple[list[nodes.Node], list[nodes.system_message]]:
        if "nb_renderer" not in self.document:
            return [], [self._warning("the {eval} role works in notebooks only")]
        element = self.document["nb_renderer"]
        client = element.renderer.nb_client
        results = stored_results(client.notebook).get(self.text, [])
        if not results:
            return [], [self._warning(f"no stored value for {{eval}}`{self.text}`: run tools/execute_notebooks.py on this notebook")]
        distinct = {repr(result) for _, result in results}
        if len(distinct) == 1:
            result = results[0][1]
        else:
            # The same expression with different values in different cells: take this cell's.
            cells = len(client.notebook.get("cells", []))
            here = max((i for i in range(cells) if client.cell_line(i) <= self.line), default=0)
            mine = [r for i, r in results if i == here]
            if not mine:
                return [], [self._warning(f"{{eval}}`{self.text}` has several stored values and none in this cell")]
            result = mine[0]
        if result.get("status") != "ok":
            error = f"{result.get('ename', 'error')}: {result.get('evalue', '')}"
            return [], [self._warning(f"{{eval}}`{self.text}` raised {error} when the notebook ran")]
        output = VariableOutput(
            data=result.get("data", {}),
            metadata={**result.get("metadata", {}), "strip_text_quotes": True},
            nb_renderer=element,
            vtype="eval",
        )
        return render_variable_outputs([output], self.document, self.line, self.source, inline=True), []

    def _warning(self, message):
        return create_warning(message, self.document, self.line, subtype="eval")


def setup(app):
    # myst_nb registers its own `eval` role (which needs a live kernel); ours replaces it.
    app.setup_extension("myst_nb")
    app.add_role("eval", EvalRole(), override=True)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
