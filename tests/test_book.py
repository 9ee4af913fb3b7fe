"""The book builds from clean with warnings as errors, shows its pages and figures, and renders math offline.

The build runs once per session (module fixture) in a subprocess, exactly as `make book` does.
The browser check opens a built page in headless Chromium from ``file://`` (no network) and
asserts that MathJax, served from ``_static/mathjax``, typeset every formula.
"""

import re
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
import yaml

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build"
HTML = BUILD / "html"
BUILD_COMMAND = ["build", "--all", "-W", "-n", "--keep-going", "."]
IMAGE_MIMES = ("image/png", "image/jpeg", "image/svg+xml", "image/gif")
MATH_CLASS = 'class="math notranslate nohighlight"'


def toc_files():
    """Every `file:` entry of _toc.yml, root first, in reading order."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({k: v for k, v in toc.items() if k != "root"})
    return files


def chapter_files():
    return [f for f in toc_files() if f.startswith("chapters/")]


def jupyter_book():
    # The jupyter-book of the environment running the tests (.venv under `make test`).
    local = Path(sys.executable).with_name("jupyter-book")
    return str(local) if local.exists() else shutil.which("jupyter-book")


@pytest.fixture(scope="module")
def build():
    exe = jupyter_book()
    assert exe, "jupyter-book is not installed in this environment"
    shutil.rmtree(BUILD, ignore_errors=True)
    result = subprocess.run(
        [exe, *BUILD_COMMAND], cwd=ROOT, capture_output=True, text=True, timeout=1800
    )
    return result.returncode, result.stdout + result.stderr


def test_book_builds_without_warnings(build):
    returncode, log = build
    flagged = [line for line in log.splitlines() if re.search(r"\b(WARNING|ERROR)\b", line)]
    assert returncode == 0, f"jupyter-book exited with {returncode}:\n{log[-5000:]}"
    assert not flagged, "the build printed warnings or errors:\n" + "\n".join(flagged)


def test_every_toc_entry_has_a_page(build):
    for name in toc_files():
        assert (HTML / f"{name}.html").is_file(), f"{name} is in _toc.yml but was not built"
    assert (HTML / "index.html").is_file()


def test_api_pages_document_rnnlib(build):
    api_pages = [name for name in toc_files() if name.startswith("api/")]
    assert "api/index" in api_pages and len(api_pages) >= 2, f"API pages in _toc.yml: {api_pages}"
    for name in api_pages:
        html = (HTML / f"{name}.html").read_text(encoding="utf-8")
        assert 'class="sig-name descname"' in html, f"{name} documents no object"
    index = (HTML / "api" / "index.html").read_text(encoding="utf-8")
    assert 'id="rnnlib.get_device"' in index


def test_bibliography_lists_every_entry(build):
    keys = re.findall(r"^@\w+\{([^,\s]+),", (ROOT / "references.bib").read_text(encoding="utf-8"), re.M)
    page = (HTML / "bibliography.html").read_text(encoding="utf-8")
    listed = re.findall(r'<div class="citation"[^>]*role="doc-biblioentry"', page)
    assert len(keys) == len(set(keys)), "duplicate keys in references.bib"
    assert len(listed) == len(keys), f"{len(listed)} entries rendered, {len(keys)} in references.bib"


def test_every_chapter_has_its_page_and_figures(build):
    for chapter in chapter_files():
        page = HTML / f"{chapter}.html"
        assert page.is_file(), f"{chapter} is in _toc.yml but {page.relative_to(ROOT)} was not built"
        nb = nbformat.read(ROOT / f"{chapter}.ipynb", as_version=4)
        images = sum(
            1
            for cell in nb.cells
            for output in cell.get("outputs", [])
            if any(mime in output.get("data", {}) for mime in IMAGE_MIMES)
        )
        if images:
            assert "<img" in page.read_text(encoding="utf-8"), f"{chapter} has {images} figure(s) but its page shows none"


def test_images_and_mathjax_are_local(build):
    for page in HTML.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        for src in re.findall(r'<img[^>]*\bsrc="([^"]+)"', html):
            if not src.startswith("data:"):
                assert (page.parent / src).resolve().is_file(), f"{page.name}: broken image {src}"
        scripts = re.findall(r'<script[^>]*\bsrc="([^"]+)"', html)
        links = [tag for tag in re.findall(r"<link\b[^>]*>", html) if re.search(r'rel="(stylesheet|preload)"', tag)]
        styles = [m.group(1) for m in (re.search(r'href="([^"]+)"', tag) for tag in links) if m]
        remote = [url for url in scripts + styles if "://" in url or url.startswith("//")]
        assert not remote, f"{page.name} loads {remote} from the network"
        if MATH_CLASS in html:
            assert any(s.endswith("_static/mathjax/tex-chtml.js") for s in scripts), f"{page.name}: no local MathJax"
    assert (HTML / "_static" / "mathjax" / "tex-chtml.js").is_file()


class _VisibleText(HTMLParser):
    """Text a reader sees, leaving out code, scripts and MathJax's own markup."""

    SKIP = {"script", "style", "pre", "code", "textarea", "mjx-container", "mjx-assistive-mml"}

    def __init__(self):
        super().__init__()
        self.skipping = None  # the tag whose content is being left out
        self.depth = 0  # nesting of that same tag (other tags may be void: never counted)
        self.parts = []

    def handle_starttag(self, tag, attrs):
        if self.skipping is None and tag in self.SKIP:
            self.skipping, self.depth = tag, 1
        elif tag == self.skipping:
            self.depth += 1

    def handle_endtag(self, tag):
        if tag == self.skipping:
            self.depth -= 1
            if self.depth == 0:
                self.skipping = None

    def handle_data(self, data):
        if self.skipping is None:
            self.parts.append(data)


def visible_text(html):
    parser = _VisibleText()
    parser.feed(html)
    return "".join(parser.parts)


def math_page():
    """The first chapter in the toc with math, else the intro (which has an equation)."""
    for name in [*chapter_files(), "intro"]:
        page = HTML / f"{name}.html"
        if page.is_file() and MATH_CLASS in page.read_text(encoding="utf-8"):
            return page
    return None


def chromium():
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def run_chromium(exe, *args):
    with tempfile.TemporaryDirectory() as profile:
        command = [
            exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={profile}", "--virtual-time-budget=10000", *args,
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, f"chromium failed ({result.returncode}):\n{result.stderr[-3000:]}"
    return result.stdout


def test_math_is_typeset_in_a_browser(build):
    exe = chromium()
    if exe is None:
        pytest.skip("chromium is not installed (tools/ensure_chromium.sh installs it when run as root with apt-get)")
    page = math_page()
    assert page is not None, "no built page contains math"
    url = page.as_uri()
    formulas = page.read_text(encoding="utf-8").count(MATH_CLASS)

    dom = run_chromium(exe, "--dump-dom", url)
    typeset = dom.count("<mjx-container")
    assert typeset >= formulas, f"{page.name}: MathJax typeset {typeset} of {formulas} formulas"
    raw = [m for m in ("$$", "\\(", "\\[") if m in visible_text(dom)]
    assert not raw, f"{page.name}: raw TeX delimiters {raw} left in the rendered text"

    shots = BUILD / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    shot = shots / f"{page.stem}.png"
    run_chromium(exe, f"--screenshot={shot}", "--window-size=1280,2000", url)
    assert shot.is_file() and shot.stat().st_size > 10_000, f"no screenshot at {shot}"
    print(f"screenshot of the rendered {page.name}: {shot}")
