"""Output checks compare only what is identical on any CPU.

nbval compares the cells tagged ``nbval-check-output`` with their committed outputs, as text.
Integers, strings and booleans are the same everywhere; a float is only where it is rounded to
the precision the text shows. The last digits of a float, and the size of a round-off residual,
depend on the instruction set that computed them (AVX-512, AVX2, SSE, a GPU): committed on one
CPU they fail on another. So a checked output may hold no float with more than
``MAX_SIGNIFICANT_DIGITS`` significant digits, and no residual printed in scientific notation
below ``ROUNDOFF`` (print ``< 1e-12`` instead).
"""

import re
from pathlib import Path

import nbformat
import pytest

CHAPTERS = Path(__file__).resolve().parents[1] / "chapters"
NOTEBOOKS = sorted(CHAPTERS.glob("*.ipynb"))
CHECKED = "nbval-check-output"
MAX_SIGNIFICANT_DIGITS = 6
ROUNDOFF = 1e-12

# a float as Python, NumPy or pandas print it: digits with a point and/or an exponent
FLOAT = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+(?=[eE]))(?:[eE][-+]?\d+)?(?![\w.])")


def significant_digits(token):
    """Significant digits shown by a float literal: '0.0512' -> 3, '1.000000' -> 7, '4.2e-17' -> 2."""
    mantissa = re.split(r"[eE]", token.lstrip("+-"))[0]
    digits = mantissa.replace(".", "").lstrip("0")
    return len(digits) if digits else 1


def unportable_numbers(text):
    """The floats in ``text`` whose printed digits depend on the CPU that computed them."""
    found = []
    for match in FLOAT.finditer(text):
        token = match.group()
        if significant_digits(token) > MAX_SIGNIFICANT_DIGITS:
            found.append(f"{token} ({significant_digits(token)} significant digits)")
        elif re.search(r"[eE]", token) and abs(float(token)) < ROUNDOFF:
            found.append(f"{token} (a round-off residual: print '< 1e-12')")
    return found


def output_texts(cell):
    """Every text that nbval compares for a code cell: streams, text results, glue records."""
    for output in cell.get("outputs", []):
        if "text" in output:
            yield output["text"] if isinstance(output["text"], str) else "".join(output["text"])
        for mime, value in output.get("data", {}).items():
            if mime.startswith("image/") or "widget" in mime:
                continue
            if isinstance(value, list):
                value = "".join(value)
            if isinstance(value, str):
                yield value


def unportable_cells(nb):
    problems = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or CHECKED not in cell.metadata.get("tags", []):
            continue
        for text in output_texts(cell):
            for number in unportable_numbers(text):
                problems.append(f"cell {index}: {number}")
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_checked_outputs_are_identical_on_any_cpu(path):
    problems = unportable_cells(nbformat.read(path, as_version=4))
    assert not problems, (
        f"{path.name}: cells tagged {CHECKED} hold outputs that differ between CPUs: "
        + "; ".join(problems)
        + ". Round them to the precision the text shows, or tag the cell nbval-ignore-output."
    )


@pytest.mark.parametrize(
    "token, digits", [("0.0512", 3), ("1.000000", 7), ("4.2e-17", 2), ("387.9", 4), ("0.0", 1), ("-12.50", 4)]
)
def test_significant_digits(token, digits):
    assert significant_digits(token) == digits


@pytest.mark.parametrize(
    "text",
    [
        "gradient norm 387.9; cosine 0.720",
        "worst relative error < 1e-12 (tolerance 1e-07).",
        "T = 200: output (1, 200, 5), 268435456 FLOPs, years 1720-1946",
        "bits per character 3.580, exponent 2.0, True",
        "version 1.2.3 and x_1.5",
    ],
)
def test_portable_text_passes(text):
    assert unportable_numbers(text) == []


@pytest.mark.parametrize(
    "text, bad",
    [
        ("'4.182385042475089e-17'", "4.182385042475089e-17"),
        ("fitted exponent 1.0000000000000009", "1.0000000000000009"),
        ("norm clipping 1.000000", "1.000000"),
        ("worst relative error 0.0e+00", "0.0e+00"),
        ("[[0.5118216276168823, 0.0]]", "0.5118216276168823"),
        ("residual 5.6e-17", "5.6e-17"),
    ],
)
def test_unportable_text_is_found(text, bad):
    assert any(found.startswith(bad) for found in unportable_numbers(text)), unportable_numbers(text)
