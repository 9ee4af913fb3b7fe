"""A chapter reads well in JupyterLab, as `make lab` opens it: checked in a real browser.

The test starts JupyterLab (with the jupyterlab-myst extension from requirements.txt) on a free
localhost port, without a token, on copies of two chapters (one with gated solutions, one with
``{solution}`` blocks and ``hide-input`` cells); opens each in headless Chromium and asserts that

- the exercises are rendered (MyST ``{exercise}`` blocks, at least three);
- every solution is collapsed (a closed ``<details>``), and the code cells of gated solutions are
  collapsed too;
- no raw MyST syntax (a role like ``{glue:text}`` or a directive fence like ```` ```{exercise} ````)
  is visible in the rendered text, and no inline expression is left unevaluated;
- every number stated with ``{eval}`` shows its stored value;
- citations show their key (jupyterlab-myst has no bibliography to resolve them with).

JupyterLab's windowing is turned off in the test's settings so that every cell is in the page.

It saves screenshots under ``_build/screenshots/`` and stops JupyterLab afterwards. It is skipped,
with the reason, where Chromium cannot be had (tools/ensure_chromium.sh installs it).

Until tools/glue_to_eval.py has been run over the chapters, the copy opened here is converted first
(the test says so): the committed notebook is never changed.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from browser import Browser, find_chromium  # noqa: E402
from execute_notebooks import EXPRESSIONS_KEY  # noqa: E402
from glue_to_eval import convert_notebook, needs_conversion  # noqa: E402

CHAPTERS = ["01_rnn_basics", "05_bidirectional"]
SHOTS = ROOT / "_build" / "screenshots"
# MyST syntax that must never reach the reader as text
RAW_MARKUP = re.compile(r"\{(?:eval|glue(?::\w*)?|cite(?::\w+)?|exercise|solution(?:-start|-end)?|func|class|mod|ref|numref)\}|^(?:```|:::)\{", re.M)
BIB_KEYS = re.findall(r"^@\w+\{([^,\s]+),", (ROOT / "references.bib").read_text(encoding="utf-8"), re.M)

# Collects what the rendered markdown cells show now (the notebook renders only the cells near the
# viewport unless windowing is off, as it is in the test's settings).
COLLECT = r"""(() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer');
  const out = {exercises: [], solutions: [], text: [], citations: [], unevaluated: [], hiddenInputs: 0};
  for (const cell of panel.querySelectorAll('.jp-MarkdownCell')) {
    const myst = cell.querySelector('.myst');
    if (!myst) { out.text.push('UNRENDERED MARKDOWN CELL'); continue; }
    for (const ex of myst.querySelectorAll('.myst-exercise')) {
      const title = ex.querySelector('.myst-exercise-title');
      const label = title ? title.innerText.trim() : '';
      if (/solution/i.test(label)) out.solutions.push([label, ex.tagName === 'DETAILS' ? ex.open : null]);
      else out.exercises.push(label);
    }
    const copy = myst.cloneNode(true);
    copy.querySelectorAll('pre, code, .katex, mjx-container').forEach(e => e.remove());
    out.text.push(copy.innerText);
    for (const c of myst.querySelectorAll('cite, [title="Citation Not Found"]')) if (c.innerText.trim()) out.citations.push(c.innerText.trim());
    for (const u of myst.querySelectorAll('[title^="Unexecuted inline expression"]')) out.unevaluated.push(u.innerText);
  }
  out.hiddenInputs = panel.querySelectorAll('.jp-CodeCell .jp-InputPlaceholder').length;
  return out;
})()"""
SOLUTIONS = "[...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-MarkdownCell details.myst-exercise')].filter(d => /solution/i.test(d.querySelector('summary').innerText))"
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lab_settings(folder):
    """User settings for the test's JupyterLab: no news or update pop-ups over the page, no windowing."""
    notification = folder / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True)
    notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    # Render every cell at once (by default only the cells near the viewport are in the page).
    tracker = folder / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    tracker.write_text(json.dumps({"windowingMode": "none"}))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab serving copies of the chapters; yields (base url, {chapter: the copy as opened})."""
    if find_chromium() is None:
        pytest.skip("chromium is not installed (tools/ensure_chromium.sh installs it when run as root with apt-get)")
    import jupyterlab_myst  # noqa: F401  (a requirement: fail, not skip, when it is missing)

    work = tmp_path_factory.mktemp("lab")
    root = work / "root"
    root.mkdir()
    copies = {}
    for stem in CHAPTERS:
        nb = nbformat.read(ROOT / "chapters" / f"{stem}.ipynb", as_version=4)
        if needs_conversion(nb):
            print(f"\n{stem} still uses glue: the copy opened in JupyterLab is converted by tools/glue_to_eval.py")
            convert_notebook(nb, stem)
        nbformat.write(nb, root / f"{stem}.ipynb")
        copies[stem] = nb
    lab_settings(work / "settings")

    port = free_port()
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
        "--IdentityProvider.token=", "--ServerApp.password=", f"--ServerApp.root_dir={root}",
        f"--LabApp.user_settings_dir={work / 'settings'}", f"--LabApp.workspaces_dir={work / 'workspaces'}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    log = open(work / "jupyterlab.log", "w")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=root)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=5):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"JupyterLab did not start:\n{(work / 'jupyterlab.log').read_text()[-3000:]}")
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/lab/tree", copies
    finally:
        # SIGTERM: the server shuts its kernels down; then make sure nothing of ours is left.
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(server.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        server.wait()
        log.close()


def read_whole_notebook(browser, markdown_cells):
    """What the rendered markdown cells show, once all ``markdown_cells`` of them are rendered."""
    browser.wait_for(
        "document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-MarkdownCell .myst').length"
        f" >= {markdown_cells}",
        timeout=180,
    )
    time.sleep(2)  # math and inline expressions render after the cell
    return browser.evaluate(COLLECT)


@pytest.mark.parametrize("stem", CHAPTERS)
def test_chapter_reads_well_in_jupyterlab(lab, stem):
    base, copies = lab
    nb = copies[stem]
    SHOTS.mkdir(parents=True, exist_ok=True)
    with Browser(timeout=120) as browser:
        # ?reset: a fresh workspace, with only this notebook open
        browser.open(f"{base}/{stem}.ipynb?reset", width=1280, height=1000)
        browser.wait_for("document.querySelectorAll('.jp-NotebookPanel .jp-MarkdownCell .myst').length > 2", timeout=180)
        time.sleep(2)  # let the first cells typeset their math
        top = browser.screenshot(SHOTS / f"lab_{stem}_top.png")
        seen = read_whole_notebook(browser, sum(c.cell_type == "markdown" for c in nb.cells))

        # Exercises rendered, solutions collapsed
        assert len(seen["exercises"]) >= 3, f"rendered exercises: {seen['exercises']}"
        assert seen["solutions"], "no solution is rendered as a collapsible block"
        opened = [label for label, is_open in seen["solutions"] if is_open is not False]
        assert not opened, f"solutions shown open (or not collapsible): {opened}"

        # Code cells that the book hides are collapsed in JupyterLab too
        hidden = sum(1 for c in nb.cells if c.cell_type == "code" and c.metadata.get("jupyter", {}).get("source_hidden"))
        assert hidden, f"{stem}: no code cell is marked collapsed (tools/execute_notebooks.py marks solutions' code)"
        assert seen["hiddenInputs"] >= hidden, f"{hidden} code cells should be collapsed, {seen['hiddenInputs']} are"

        # No raw markup, nothing unevaluated
        text = "\n".join(seen["text"])
        raw = sorted({m.group(0) for m in RAW_MARKUP.finditer(text)})
        assert not raw, f"raw MyST markup visible in JupyterLab: {raw}"
        assert not seen["unevaluated"], f"inline expressions without a value: {seen['unevaluated']}"

        # Every number stated with {eval} is shown
        values = [
            item["result"]["data"]["text/plain"]
            for cell in nb.cells
            if cell.cell_type == "markdown"
            for item in cell.metadata.get(EXPRESSIONS_KEY, [])
        ]
        assert values, f"{stem} states no number with {{eval}}"
        shown = [re.sub(r"^(['\"])(.*)\1$", r"\2", v) for v in values]
        missing = [v for v in shown if v not in text]
        assert not missing, f"numbers missing from the rendered chapter: {missing[:10]}"

        # Screenshot of the first paragraph that states numbers
        first = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and c.metadata.get(EXPRESSIONS_KEY))
        browser.evaluate(
            "(() => { document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell')"
            f"[{first}].scrollIntoView({{block: 'start'}}); return true; }})()"
        )
        time.sleep(1)
        numbers = browser.screenshot(SHOTS / f"lab_{stem}_numbers.png")

        # Citations show a key of references.bib (the bibliography is in the book)
        unknown = [c for c in seen["citations"] if c not in BIB_KEYS]
        assert not unknown, f"citations that are not keys of references.bib: {unknown}"

        # Screenshot of the exercises with their solutions collapsed, then with one opened by a click
        browser.evaluate(f"(() => {{ {SOLUTIONS}[0].scrollIntoView({{block: 'start'}}); return true; }})()")
        time.sleep(1)
        closed = browser.screenshot(SHOTS / f"lab_{stem}_exercises.png")
        browser.evaluate(f"(() => {{ {SOLUTIONS}[0].querySelector('summary').click(); return true; }})()")
        browser.wait_for(f"{SOLUTIONS}.some(d => d.open)", timeout=30)
        time.sleep(1)
        opened_shot = browser.screenshot(SHOTS / f"lab_{stem}_solution_opened.png")
    for shot in (top, numbers, closed, opened_shot):
        assert shot.stat().st_size > 10_000, f"screenshot {shot} looks empty"
    print(f"JupyterLab screenshots: {top}, {numbers}, {closed}, {opened_shot}")
