"""Sphinx extension for the API pages: document every public module of an rnnlib package.

Used in api/*.md inside an ``eval-rst`` block::

    .. rnnlib-automodules:: rnnlib.scratch
       :first: rnn lstm gru

It writes the package's own docstring, then one section per public module (name not starting
with ``_``) holding that module's ``automodule``: the modules named in ``:first:`` in that order,
then the others alphabetically. ``:modules-only:`` leaves out subpackages (they have their own
pages). ``:exclude-members:`` is passed on to every ``automodule``. A module added to the
package therefore appears in the book without editing any page, and `make book` fails (-W -n) on
any warning from its docstrings.

A reference to a public re-export, such as ``:class:`rnnlib.nn.LSTM```, resolves to the object's
documentation in the module that defines it (``rnnlib.nn.recurrent.LSTM``).

Constants that a module exports in ``__all__`` are listed even without a ``#:`` doc comment (which
automodule requires), so that references such as ``:data:`BIAS_TEMPLATES``` resolve. Other
undocumented members are left out: class attributes in particular are described by their class
docstring's ``Attributes:`` section, and documenting them again would duplicate them.
"""

import importlib
import inspect
import pkgutil

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.pycode import ModuleAnalyzer
from sphinx.util.docutils import SphinxDirective


def public_modules(package_name, first=(), modules_only=False):
    """Names of the public modules directly inside ``package_name``, ordered as described above."""
    package = importlib.import_module(package_name)
    found = {
        info.name: info.ispkg
        for info in pkgutil.iter_modules(package.__path__)
        if not info.name.startswith("_")
    }
    unknown = [name for name in first if name not in found]
    if unknown:
        raise ValueError(f":first: names {unknown} that are not modules of {package_name} (found {sorted(found)})")
    names = list(first) + sorted(name for name in found if name not in first)
    return [f"{package_name}.{name}" for name in names if not (modules_only and found[name])]


def undocumented_exported_data(module):
    """Constants in ``module.__all__`` without a ``#:`` doc comment, which automodule leaves out."""
    documented = {name for (_, name) in ModuleAnalyzer.for_module(module.__name__).find_attr_docs()}
    return [
        name
        for name in getattr(module, "__all__", ())
        if name not in documented
        and not (inspect.isroutine(getattr(module, name)) or inspect.isclass(getattr(module, name)) or inspect.ismodule(getattr(module, name)))
    ]


def data_description(module, name):
    """A ``py:data`` entry for an undocumented constant: its type and, when short, its value.

    (``autodata`` would show the docstring of the value's type, e.g. ``dict``'s, instead.)
    """
    value = getattr(module, name)
    lines = [f".. py:data:: {name}", f"   :type: {type(value).__name__}"]
    text = repr(value)
    if len(text) <= 80 and "\n" not in text:
        lines.append(f"   :value: {text}")
    return lines + [""]


class AutomodulesDirective(SphinxDirective):
    required_arguments = 1
    option_spec = {
        "first": directives.unchanged,
        "modules-only": directives.flag,
        "exclude-members": directives.unchanged,
    }

    def run(self):
        package_name = self.arguments[0]
        first = (self.options.get("first") or "").split()
        try:
            names = public_modules(package_name, first, "modules-only" in self.options)
        except (ImportError, ValueError) as err:
            raise self.error(f"rnnlib-automodules {package_name}: {err}") from err
        source = f"{self.env.docname} ({package_name})"

        container = nodes.container()
        self.state.nested_parse(
            StringList([f".. automodule:: {package_name}", "   :no-members:"], source=source),
            self.content_offset,
            container,
        )
        result = container.children
        options = [f"   :exclude-members: {self.options['exclude-members']}"] if "exclude-members" in self.options else []
        for name in names:
            section = nodes.section()
            section += nodes.title(text=name)
            section["names"].append(nodes.fully_normalize_name(name))
            self.state.document.note_implicit_target(section, section)
            try:
                module = importlib.import_module(name)
            except ImportError as err:
                raise self.error(f"rnnlib-automodules: cannot import {name}: {err}") from err
            lines = [f".. automodule:: {name}", *options, ""]
            for data in undocumented_exported_data(module):
                lines += data_description(module, data)
            self.state.nested_parse(StringList(lines, source=source), self.content_offset, section)
            result.append(section)
            self.env.note_dependency(module.__file__)
        return result


def canonical_name(target):
    """``rnnlib.nn.LSTM`` -> ``rnnlib.nn.recurrent.LSTM``: where a re-exported object is defined."""
    parts = target.split(".")
    if parts[0] != "rnnlib":
        return None
    for split in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        try:
            for attribute in parts[split:]:
                obj = getattr(obj, attribute)
        except AttributeError:
            return None
        module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
        return f"{module}.{qualname}" if module and qualname else None
    return None


def resolve_reexports(app, env, node, contnode):
    """missing-reference: resolve a public re-export (``rnnlib.nn.LSTM``) to its documented definition."""
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"]
    canonical = canonical_name(target)
    if canonical is None or canonical == target:
        return None
    domain = env.get_domain("py")
    return domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], canonical, node, contnode)


def setup(app):
    app.add_directive("rnnlib-automodules", AutomodulesDirective)
    app.connect("missing-reference", resolve_reexports)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
