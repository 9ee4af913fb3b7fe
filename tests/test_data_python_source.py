"""rnnlib.data.python_source: the standard library as a character corpus, and its structure labels."""

import io
import os
import tokenize

import numpy as np
import pytest

from rnnlib.data.python_source import (
    CHAR_CLASSES,
    SOURCE_CHARS,
    load_python_source,
    python_source_files,
    source_structure,
    split_held_out,
)

CLOSING_BRACKET, CLOSING_QUOTE, DEDENT = (CHAR_CLASSES.index(c) for c in ("closing bracket", "closing quote", "dedent"))


def test_alphabet_is_newline_and_printable_ascii():
    assert len(SOURCE_CHARS) == 96 and SOURCE_CHARS[0] == "\n"
    assert list(SOURCE_CHARS) == sorted(SOURCE_CHARS)


def test_files_are_sorted_and_skip_tests(tmp_path):
    for path in ["b.py", "a.py", "pkg/c.py", "test/t.py", "pkg/tests/u.py", "__pycache__/x.py", "notes.txt"]:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("x = 1\n")
    root, files = python_source_files(tmp_path)
    assert root == str(tmp_path)
    assert files == ["a.py", "b.py", os.path.join("pkg", "c.py")]


def test_standard_library_is_found():
    root, files = python_source_files()
    assert len(files) > 300 and files == sorted(files)
    assert "os.py" in files and not any(f.startswith("test" + os.sep) for f in files)


def test_load_is_seeded_and_keeps_whole_ascii_files(tmp_path):
    texts = {f"m{k}.py": f"def f{k}():\n    return {k}\n" for k in range(20)}
    texts["tab.py"] = "def f():\n\treturn 1\n"  # a tab: not in the alphabet
    texts["accent.py"] = "name = 'café'\n"
    for name, text in texts.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    a = load_python_source(100, 3, root=tmp_path)
    b = load_python_source(100, np.random.default_rng(3), root=tmp_path)
    c = load_python_source(100, 4, root=tmp_path)
    assert a.text == b.text and a.files == b.files
    assert a.files != c.files
    assert len(a.text) >= 100 and set(a.text) <= set(SOURCE_CHARS)
    assert "tab.py" not in a.files and "accent.py" not in a.files
    for name, start in zip(a.files, a.starts):
        assert a.text[start : start + len(texts[name])] == texts[name]
    everything = load_python_source(sum(len(t) for n, t in texts.items() if n.startswith("m")), 0, root=tmp_path)
    assert sorted(everything.files) == sorted(n for n in texts if n.startswith("m"))


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(n_chars=0, rng=0), ValueError, "n_chars must be an int >= 1"),
        (dict(n_chars=10**9, rng=0), ValueError, "n_chars must be at most"),
    ],
)
def test_load_bad_input(tmp_path, kwargs, error, match):
    (tmp_path / "a.py").write_text("x = 1\n")
    with pytest.raises(error, match=match):
        load_python_source(root=tmp_path, **kwargs)


def test_structure_of_a_snippet():
    text = (
        "def f(a, b=[1, (2)]):\n"  # brackets nest to depth 3
        "    s = 'it\\'s ( # not'  # a comment ( ' \n"
        '    return """doc\n'
        '    "still" doc"""\n'
        "x = {1: f}\n"
    )
    s = source_structure(text)
    closing = [i for i, k in enumerate(s.classes) if k == CLOSING_BRACKET]
    assert [text[i] for i in closing] == [")", "]", ")", "}"]
    assert s.depth[text.index("2")] == 3 and s.depth[text.index(":")] == 0
    # the escaped quote, the bracket and the hash inside the string do not count
    first_quote = text.index("'")
    string_end = text.index("'", text.index("not"))
    assert s.classes[string_end] == CLOSING_QUOTE and s.span[string_end] == string_end - first_quote
    assert s.in_string[first_quote : string_end].all() and not s.in_string[string_end]
    # nothing in the comment counts: the quote there opens nothing
    assert not s.in_string[text.index("a comment") : text.index("\n", text.index("a comment"))].any()
    # a triple-quoted string spans lines and ignores the quotes inside it
    triple_end = text.index('"""', text.index("still"))
    assert s.classes[triple_end] == CLOSING_QUOTE
    assert [i for i, k in enumerate(s.classes) if k == CLOSING_QUOTE] == [string_end, triple_end]
    assert s.in_string[triple_end + 1] and not s.in_string[triple_end + 2]
    # "x" returns to indentation 0: a dedent; the string's second line is not code
    assert [text[i] for i, k in enumerate(s.classes) if k == DEDENT] == ["x"]
    assert s.span[closing[0]] == 2 and s.span[closing[2]] == closing[2] - text.index("(")  # "(2)", then "f("


def _tokenizer_positions(source):
    """Offsets of closing brackets and of string ends according to Python's tokenizer."""
    line_offsets = np.cumsum([0] + [len(line) for line in source.splitlines(keepends=True)])
    brackets, string_ends = set(), set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        end = line_offsets[token.end[0] - 1] + token.end[1]
        if token.type == tokenize.OP and token.string in ")]}":
            brackets.add(int(end - 1))
        if token.type == tokenize.STRING:
            quote = token.string[-1]
            width = 3 if token.string.endswith(quote * 3) and len(token.string.lstrip("rbuRBUfF")) >= 6 else 1
            string_ends.add(int(end - width))
    return brackets, string_ends


def test_structure_agrees_with_the_tokenizer_on_the_standard_library():
    corpus = load_python_source(200_000, 0)
    for name, start in zip(corpus.files, corpus.starts):
        end = start + len(open(os.path.join(corpus.root, name), encoding="utf-8").read())
        source = corpus.text[start:end]
        s = source_structure(source)
        brackets, string_ends = _tokenizer_positions(source)
        assert set(np.flatnonzero(s.classes == CLOSING_BRACKET)) == brackets, name
        assert set(np.flatnonzero(s.classes == CLOSING_QUOTE)) == string_ends, name
        assert s.depth[-1] == 0 and not s.in_string[-1], name


def test_structure_rejects_non_text():
    with pytest.raises(TypeError, match="text must be a str"):
        source_structure(b"x = 1")


def test_split_held_out_keeps_complete_heads_of_the_last_files(tmp_path):
    block = 'def f():\n    s = """a\nb"""\n    return (1,\n            2)\n'  # 55 characters
    for k in range(4):
        (tmp_path / f"m{k}.py").write_text(block * 10)
    corpus = load_python_source(4 * 10 * len(block), 0, root=tmp_path)
    train, held_out, n_files = split_held_out(corpus, 150, per_file=120)
    # two blocks (110 characters) is the longest complete head under 120; two files give >= 150
    assert n_files == 2 and held_out == 2 * (block * 2)
    assert train == corpus.text[: corpus.starts[2]] and len(train) == 2 * 10 * len(block)
    structure = source_structure(held_out)
    assert structure.depth[-1] == 0 and not structure.in_string[-1]
    # a cap inside the first string keeps the lines before it
    assert split_held_out(corpus, 1, per_file=20)[1:] == ("def f():\n", 1)
    whole = split_held_out(corpus, 1, per_file=10**6)
    assert whole[1] == block * 10 and whole[2] == 1
    with pytest.raises(ValueError, match="n_chars must leave at least one file for training"):
        split_held_out(corpus, 10**6)
    with pytest.raises(TypeError, match="corpus must be a PythonSource"):
        split_held_out(corpus.text, 60)
