r"""Python source code as a character corpus, and the structure a character model must remember.

The interpreter's own standard library (``sysconfig.get_paths()["stdlib"]``) is several
megabytes of Python on every machine that runs Python: text with long-range structure
(brackets that close lines later, strings that end where they started, indentation that
returns to an outer level), the kind of data on which Karpathy, Johnson and Fei-Fei (2015)
watched LSTM cells count and remember. No download is needed.

* :func:`python_source_files` lists the library's ``.py`` files in a fixed (sorted) order;
  tests, ``site-packages`` and build folders are left out.
* :func:`load_python_source` draws whole files in an order that comes from ``rng`` until it
  holds ``n_chars`` characters, keeping only files written in :data:`SOURCE_CHARS` (printable
  ASCII and newline), so the vocabulary is the same on every machine.
* :func:`split_held_out` holds out the last files of a corpus, a capped head of each, so that
  no single long file (a table of strings) decides the held-out figures alone.
* :func:`source_structure` labels every character of a text with what a reader must
  remember to predict it: the bracket depth, whether it is inside a string, and its class
  (:data:`CHAR_CLASSES`): a closing bracket, the first character of a closing quote, the first
  character of a dedented line (a line that returns to an outer indentation level), or other.

The labeller is a small scanner, not Python's tokenizer, so it works on any slice of text
(a held-out part that starts in the middle of a file); on the standard library it follows
strings, comments and brackets as the tokenizer does.
"""

import os
import sysconfig
from dataclasses import dataclass

import numpy as np

from rnnlib.validate import check_positive_int, check_rng

__all__ = [
    "SOURCE_CHARS",
    "CHAR_CLASSES",
    "PythonSource",
    "SourceStructure",
    "python_source_files",
    "load_python_source",
    "source_structure",
    "split_held_out",
]

#: The corpus alphabet: newline and the 95 printable ASCII characters, in code-point order.
SOURCE_CHARS = "\n" + "".join(chr(code) for code in range(32, 127))

#: Names of the character classes of :func:`source_structure`, indexed by class id.
CHAR_CLASSES = ("other", "closing bracket", "closing quote", "dedent")
OTHER, CLOSING_BRACKET, CLOSING_QUOTE, DEDENT = range(4)

_SKIPPED_FOLDERS = {"site-packages", "dist-packages", "__pycache__", "test", "tests", "idle_test"}


@dataclass
class PythonSource:
    """A corpus of Python files, concatenated.

    Attributes:
        text: the files' contents, one after another (each file ends with its own newline).
        files: the files' paths relative to ``root``, in the order of ``text``.
        starts: int64 (len(files),) offset of each file in ``text``.
        root: the folder the files were read from.
    """

    text: str
    files: list
    starts: np.ndarray
    root: str


@dataclass
class SourceStructure:
    """Per-character labels of a text (all arrays have the text's length L).

    Attributes:
        depth: int64 (L,) bracket depth after reading the character (``(``, ``[``, ``{`` open,
            ``)``, ``]``, ``}`` close; brackets inside strings and comments do not count).
        in_string: bool (L,) True when, after reading the character, a string is open.
        classes: int64 (L,) class id of the character, an index into :data:`CHAR_CLASSES`.
        span: int64 (L,) for a closing bracket or quote, the distance back to the character
            that opened it (0 elsewhere): how far the model must remember.
    """

    depth: np.ndarray
    in_string: np.ndarray
    classes: np.ndarray
    span: np.ndarray


def python_source_files(root=None):
    """The ``.py`` files under ``root`` (default: this interpreter's standard library), sorted.

    Folders named ``test``, ``tests``, ``idle_test``, ``site-packages``, ``dist-packages``,
    ``__pycache__`` and the ``config-*`` build folder are skipped.

    Returns:
        ``(root, files)``: the absolute root and the list of paths relative to it, sorted.
    """
    root = os.path.abspath(root if root is not None else sysconfig.get_paths()["stdlib"])
    if not os.path.isdir(root):
        raise FileNotFoundError(f"root must be a folder of Python files, got {root!r}")
    files = []
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = [d for d in subfolders if d not in _SKIPPED_FOLDERS and not d.startswith("config-")]
        relative = os.path.relpath(folder, root)
        files += [os.path.normpath(os.path.join(relative, name)) for name in names if name.endswith(".py")]
    return root, sorted(files)


def load_python_source(n_chars, rng, root=None):
    """Whole Python files in a random order until the corpus holds at least ``n_chars`` characters.

    Files are visited in the order of a permutation drawn from ``rng``; a file is kept if it is
    non-empty and written in :data:`SOURCE_CHARS` only (it has no tab and no non-ASCII
    character). The same ``rng`` on the same Python version gives the same corpus; another
    seed gives other files.

    Args:
        n_chars: the number of characters wanted (the last file is kept whole, so the corpus
            is a little longer).
        rng: a ``numpy.random.Generator`` or an int seed.
        root: folder to read (default: the standard library, see :func:`python_source_files`).

    Returns:
        :class:`PythonSource`.
    """
    check_positive_int("n_chars", n_chars)
    rng = check_rng(rng)
    root, files = python_source_files(root)
    allowed = set(SOURCE_CHARS)
    texts, kept, total = [], [], 0
    for index in rng.permutation(len(files)):
        with open(os.path.join(root, files[index]), encoding="utf-8", errors="replace") as f:
            content = f.read()
        if not content or not set(content) <= allowed:
            continue
        if not content.endswith("\n"):
            content += "\n"
        texts.append(content)
        kept.append(files[index])
        total += len(content)
        if total >= n_chars:
            break
    else:
        raise ValueError(
            f"n_chars must be at most the {total} characters of usable Python under {root!r}, got {n_chars}"
        )
    starts = np.cumsum([0] + [len(t) for t in texts[:-1]]).astype(np.int64)
    return PythonSource(text="".join(texts), files=kept, starts=starts, root=root)


def source_structure(text):
    """Label every character of Python source ``text``: see :class:`SourceStructure`.

    A scanner with three modes, code, comment and string:

    - in code, ``#`` opens a comment (to the end of the line), a quote opens a string (``'``,
      ``"``, or a triple quote), ``([{`` and ``)]}`` change the depth;
    - in a string, a backslash escapes the next character, and the string ends at its own
      delimiter (a one-line string also ends at an unescaped newline);
    - at the start of a line in code at depth 0 that is not blank and not a comment, the
      indentation is compared with the previous such line's: if smaller, the line's first
      character is a *dedent*.

    Args:
        text: str.

    Returns:
        :class:`SourceStructure`.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    n = len(text)
    depth = np.zeros(n, dtype=np.int64)
    in_string = np.zeros(n, dtype=bool)
    classes = np.zeros(n, dtype=np.int64)
    span = np.zeros(n, dtype=np.int64)
    openers = []  # positions of the open brackets
    level = 0  # bracket depth
    delimiter, string_start = None, 0  # the open string's delimiter and where it opened
    comment, line_start, indent = False, True, 0
    i = 0
    while i < n:
        char = text[i]
        if line_start and delimiter is None and not comment:
            line_start = False
            first = i
            while first < n and text[first] == " ":
                first += 1
            if level == 0 and first < n and text[first] not in "\n#":
                if first - i < indent:
                    classes[first] = DEDENT
                indent = first - i
        if delimiter is not None:  # inside a string
            if char == "\\" and i + 1 < n:
                in_string[i : i + 2], depth[i : i + 2] = True, level
                i += 2
                continue
            if text.startswith(delimiter, i):
                classes[i], span[i] = CLOSING_QUOTE, i - string_start
                width = len(delimiter)
                in_string[i : i + width - 1], depth[i : i + width] = True, level
                delimiter = None
                i += width
                continue
            if char == "\n" and len(delimiter) == 1:
                delimiter, line_start = None, True  # an unterminated one-line string
            else:
                in_string[i] = True
        elif comment:
            comment = char != "\n"
            line_start = not comment
        elif char == "#":
            comment = True
        elif char in "'\"":
            delimiter = char * 3 if text.startswith(char * 3, i) else char
            string_start, width = i, len(delimiter)
            in_string[i : i + width], depth[i : i + width] = True, level
            i += width
            continue
        elif char in "([{":
            level += 1
            openers.append(i)
        elif char in ")]}":
            classes[i] = CLOSING_BRACKET
            if openers:
                span[i] = i - openers.pop()
            level = max(level - 1, 0)
        elif char == "\n":
            line_start = True
        depth[i] = level
        i += 1
    return SourceStructure(depth=depth, in_string=in_string, classes=classes, span=span)


def split_held_out(corpus, n_chars, per_file=10_000):
    """Split a corpus into training text and held-out text made of its last files.

    Files are taken from the end of ``corpus`` until the held-out text has at least ``n_chars``
    characters; of each only the head is kept, at most ``per_file`` characters, cut after the
    last line at which every bracket and string is closed (so the head is complete Python, and
    :func:`source_structure` reads the next file from a clean state). The cap keeps one long file
    (the standard library has tables of strings of 80,000 characters) from deciding the held-out
    figures alone. The training text is every file before the held-out ones, whole.

    Args:
        corpus: a :class:`PythonSource`.
        n_chars: held-out characters wanted (the last file taken may overshoot it).
        per_file: the most characters kept of each held-out file.

    Returns:
        ``(train_text, held_out_text, n_held_out_files)``.
    """
    if not isinstance(corpus, PythonSource):
        raise TypeError(f"corpus must be a PythonSource, got {type(corpus).__name__}")
    check_positive_int("n_chars", n_chars)
    check_positive_int("per_file", per_file)
    ends = [*corpus.starts[1:], len(corpus.text)]
    heads, first = [], len(corpus.files)
    while sum(len(head) for head in heads) < n_chars:
        if first == 1:
            raise ValueError(
                f"n_chars must leave at least one file for training, got {n_chars} "
                f"(the heads of {len(corpus.files) - 1} files give {sum(len(h) for h in heads)})"
            )
        first -= 1
        heads.insert(0, _complete_head(corpus.text[corpus.starts[first] : ends[first]], per_file))
    return corpus.text[: corpus.starts[first]], "".join(heads), len(corpus.files) - first


def _complete_head(text, limit):
    """``text`` up to its last line break before ``limit`` at which every bracket and string is closed."""
    if len(text) <= limit:
        return text
    structure = source_structure(text[:limit])
    newline = np.frombuffer(text[:limit].encode("latin-1", errors="replace"), dtype=np.uint8) == ord("\n")
    closed = np.flatnonzero(newline & (structure.depth == 0) & ~structure.in_string)
    return text[: closed[-1] + 1] if len(closed) else ""
