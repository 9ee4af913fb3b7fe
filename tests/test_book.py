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
import time
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


# MyST markup that must never reach a reader as text: a role ({eval}`x`, {glue:text}`x`,
# {cite:p}`x`, {func}`x`, ...) or a directive fence (```{exercise}, :::{solution}).
RAW_MYST = re.compile(
    r"\{(?:eval|glue(?::\w*)?|cite(?::\w+)?|exercise|solution(?:-start|-end)?|func|class|meth|mod|ref|numref|doc|term|math)\}"
    r"|(?:`{3,}|:{3,})\{[\w:-]+\}"
)
ALPHA_LABEL = re.compile(r"\[[A-Z][A-Za-z+-]*\d{2}[a-z]?\]")  # pybtex alpha labels: [Elm90], [CvMerrienboerG+14]


def built_pages():
    return sorted(p for p in HTML.rglob("*.html") if "_static" not in p.parts and "_sources" not in p.parts)


# Pages known to show raw markup, each with its cause; the owner has been told (coordination notes).
# The test fails when one of them is fixed and still listed here: then delete its line.
KNOWN_RAW_MARKUP = {}


def test_no_page_shows_raw_myst_markup(build):
    offenders = {}
    for page in built_pages():
        text = visible_text(page.read_text(encoding="utf-8"))
        found = sorted({m.group(0) for m in RAW_MYST.finditer(text)})
        if found:
            offenders[str(page.relative_to(HTML))] = found
    new = {page: found for page, found in offenders.items() if page not in KNOWN_RAW_MARKUP}
    assert not new, f"raw MyST markup shown as text (a directive or role that did not parse): {new}"
    fixed = [page for page in KNOWN_RAW_MARKUP if page not in offenders]
    assert not fixed, f"fixed, so delete them from KNOWN_RAW_MARKUP: {fixed}"


def bib_entries():
    """{key: (first author's last name, year)} from references.bib."""
    from pybtex.database import parse_file

    sys.path.insert(0, str(ROOT / "tools"))
    from book_bibstyle import _last_name

    entries = parse_file(str(ROOT / "references.bib")).entries
    return {
        key: (_last_name((e.persons.get("author") or e.persons.get("editor"))[0]), e.fields["year"])
        for key, e in entries.items()
    }


def cited_keys(source):
    """[(role, key)] of the citations written in a chapter's or page's MyST source."""
    return [
        (role or "p", key.strip())
        for role, keys in re.findall(r"\{cite(?::(\w+))?\}`([^`]+)`", source)
        for key in keys.split(",")
    ]


def test_citations_are_author_year(build):
    entries = bib_entries()
    checked = {"p": 0, "t": 0}
    for name in toc_files():
        source_path = ROOT / (f"{name}.ipynb" if (ROOT / f"{name}.ipynb").is_file() else f"{name}.md")
        if source_path.suffix == ".ipynb":
            nb = nbformat.read(source_path, as_version=4)
            source = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        else:
            source = source_path.read_text(encoding="utf-8")
        text = " ".join(visible_text((HTML / f"{name}.html").read_text(encoding="utf-8")).split())
        assert not ALPHA_LABEL.search(text), f"{name}: alpha citation label {ALPHA_LABEL.search(text).group(0)}"
        for role, key in cited_keys(source):
            last, year = entries[key]
            who = rf"{re.escape(last)}(?: et al\.| and [^,;()]+?)?"
            pattern = rf"{who} \({year}[a-z]?\)" if role == "t" else rf"\((?:[^()]*; )?{who}, {year}[a-z]?[;)]"
            assert re.search(pattern, text), f"{name}: {{cite:{role}}}`{key}` is not shown author-year ({last}, {year})"
            checked["t" if role == "t" else "p"] += 1
    assert checked["p"] > 0 and checked["t"] > 0, f"citations checked: {checked}"
    page = (HTML / "bibliography.html").read_text(encoding="utf-8")
    labels = re.findall(r'<span class="label"><span class="fn-bracket">\[</span>([^<]+)<', page)
    assert labels and all(re.fullmatch(r".+ (\d{4}|n\.d\.)[a-z]?", label) for label in labels), f"bibliography labels: {labels[:5]}"


def test_repository_buttons_follow_the_one_setting(build):
    url = ((yaml.safe_load((ROOT / "_config.yml").read_text()) or {}).get("repository") or {}).get("url") or ""
    chapter = (HTML / f"{chapter_files()[0]}.html").read_text(encoding="utf-8")
    buttons = ("mybinder.org/v2", "colab.research.google.com/github", "btn-source-repository-button")
    if url:
        assert all(b in chapter for b in buttons), f"repository {url} is set but a chapter lacks a button"
    else:
        for page in built_pages():
            html = page.read_text(encoding="utf-8")
            dead = [b for b in buttons if b in html]
            assert not dead, f"{page.name} shows {dead} although repository.url is not set"
    for name in ("README.md", "intro.md"):
        text = (ROOT / name).read_text(encoding="utf-8")
        assert "rnn-course/rnn-course" not in text, f"{name} still names the old placeholder address"
    assert "{{ colab_install }}" in (ROOT / "intro.md").read_text(encoding="utf-8")


# Elements that stick out to the right of the window and are not inside a box that scrolls
# sideways (a formula in its own scroll box, a wide table in its wrapper, code in its block).
RUNS_OFF = """[...document.querySelectorAll('article mjx-container, article img, article table, article pre')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
  .filter(e => { for (let a = e.parentElement; a; a = a.parentElement) {
      if (['auto', 'scroll'].includes(getComputedStyle(a).overflowX) && a.getBoundingClientRect().right <= window.innerWidth + 1) return false; }
    return true; })
  .map(e => e.tagName + ': ' + e.textContent.slice(0, 40))"""


def test_a_narrow_screen_shows_every_formula(build):
    """At 420 px (a phone) no formula runs off the page: a formula wider than the column scrolls
    inside its own box (_static/course.css), and the page itself never scrolls sideways."""
    sys.path.insert(0, str(ROOT / "tools"))
    from browser import Browser, find_chromium

    if find_chromium() is None:
        pytest.skip("chromium is not installed (tools/ensure_chromium.sh installs it when run as root with apt-get)")
    problems = {}
    with Browser() as browser:
        for chapter in chapter_files():
            page = HTML / f"{chapter}.html"
            formulas = page.read_text(encoding="utf-8").count(MATH_CLASS)
            browser.open(page.as_uri(), width=420, height=900)
            browser.wait_for(f"document.querySelectorAll('mjx-container').length >= {formulas}", timeout=120)
            time.sleep(0.5)
            off = browser.evaluate(RUNS_OFF)
            width = browser.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            if off or width[0] > width[1]:
                problems[chapter] = {"runs off": off, "page width, window": width}
            if chapter == chapter_files()[0]:
                shot = browser.screenshot(BUILD / "screenshots" / f"{page.stem}_420px.png")
                print(f"screenshot at 420 px: {shot}")
    assert not problems, f"at 420 px wide: {problems}"
