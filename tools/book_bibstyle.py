"""Sphinx extension: author-year citations in the text and in the bibliography.

sphinxcontrib-bibtex's ``author_year`` reference style writes "[Elman, 1990]" and "Elman [1990]";
this registers ``author_year_round``, the same with round brackets, "(Elman, 1990)" for
``{cite:p}`` and "Elman (1990)" for ``{cite:t}``. The entries of the bibliography are labelled by
the pybtex style, alpha by default ("[Elm90]", "[CvMerrienboerG+14]"); this registers the pybtex
style ``authoryear``: the entries of ``unsrt``, sorted by author, year and title, labelled
"Elman 1990", "Cho et al. 2014" (with a, b, ... where two entries would share one).
Select them with ``bibtex_reference_style: author_year_round`` and ``bibtex_default_style: authoryear``.
"""

import codecs
from dataclasses import dataclass, field

import latexcodec  # noqa: F401 (registers the "ulatex" codec; a dependency of pybtex)
from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels.alpha import LabelStyle as AlphaLabelStyle
from sphinxcontrib.bibtex.plugin import register_plugin as register_bibtex_plugin
from sphinxcontrib.bibtex.style.referencing import BracketStyle
from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle


def _round():
    return BracketStyle(left="(", right=")", sep="; ")


@dataclass
class RoundAuthorYearReferenceStyle(AuthorYearReferenceStyle):
    """``author_year`` with round brackets: "(Elman, 1990)", "Elman (1990)"."""

    bracket_parenthetical: BracketStyle = field(default_factory=_round)
    bracket_textual: BracketStyle = field(default_factory=_round)
    bracket_author: BracketStyle = field(default_factory=_round)
    bracket_label: BracketStyle = field(default_factory=_round)
    bracket_year: BracketStyle = field(default_factory=_round)


def _last_name(person):
    """A person's last name as text: "van Merri{\\"e}nboer" -> "van Merriënboer"."""
    latex = " ".join(person.prelast_names + person.last_names)
    return codecs.decode(latex, "ulatex").replace("{", "").replace("}", "").strip()


class AuthorYearLabelStyle(AlphaLabelStyle):
    """Labels "Elman 1990", "Hochreiter and Schmidhuber 1997", "Cho et al. 2014".

    Duplicates get a, b, ... appended by alpha's ``format_labels``.
    """

    def format_label(self, entry):
        persons = entry.persons.get("author") or entry.persons.get("editor") or []
        names = [_last_name(p) for p in persons]
        if not names:
            who = entry.fields.get("organization") or entry.fields.get("key") or entry.key
        elif len(names) == 1:
            who = names[0]
        elif len(names) == 2:
            who = f"{names[0]} and {names[1]}"
        else:
            who = f"{names[0]} et al."
        year = entry.fields.get("year", "n.d.")
        return f"{who} {year}"


class AuthorYearStyle(UnsrtStyle):
    """``unsrt`` entries, author-year labels, sorted by author, year and title."""

    default_label_style = "authoryear"
    default_sorting_style = "author_year_title"


def setup(app):
    register_bibtex_plugin("sphinxcontrib.bibtex.style.referencing", "author_year_round", RoundAuthorYearReferenceStyle)
    register_plugin("pybtex.style.labels", "authoryear", AuthorYearLabelStyle)
    register_plugin("pybtex.style.formatting", "authoryear", AuthorYearStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
