"""Drive headless Chromium through the DevTools protocol, for the browser tests (no extra packages).

Only what the tests need: open a page, wait for a condition, evaluate JavaScript, set the window
width and take screenshots. It talks to Debian's ``chromium`` over the DevTools websocket with
``websocket-client`` (a dependency of jupyter-server, so always installed with JupyterLab).

    with Browser() as browser:
        browser.open("http://127.0.0.1:8888/lab/tree/x.ipynb", width=1280, height=900)
        browser.wait_for("document.querySelectorAll('.jp-Cell').length > 3")
        text = browser.evaluate("document.body.innerText")
        browser.screenshot("_build/screenshots/x.png", full_page=True)

``find_chromium()`` returns None where no Chromium is installed; tests then skip with a reason.
"""

import base64
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import websocket

# Flags that work on a closed network as root (see the machine notes): no sandbox, no GPU, and
# none of Chromium's background connections, which the network would refuse.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
)


def find_chromium():
    """The path of an installed Chromium, or None."""
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


class BrowserError(RuntimeError):
    """Chromium did not start, or a DevTools command failed."""


class Browser:
    """One headless Chromium with one page, driven over the DevTools protocol."""

    def __init__(self, executable=None, timeout=60):
        self.executable = executable or find_chromium()
        if self.executable is None:
            raise BrowserError("chromium is not installed (tools/ensure_chromium.sh installs it)")
        self.timeout = timeout
        self._profile = None
        self._process = None
        self._socket = None
        self._next_id = 0
        self.console = []  # console messages and uncaught exceptions of the page, as text

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()

    def start(self):
        self._profile = tempfile.TemporaryDirectory(prefix="chromium-", ignore_cleanup_errors=True)
        command = [
            self.executable,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={self._profile.name}",
            "--remote-debugging-port=0",
            "--remote-allow-origins=*",
            "about:blank",
        ]
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = Path(self._profile.name) / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while not (port_file.is_file() and port_file.read_text().strip()):
            if self._process.poll() is not None:
                raise BrowserError(f"chromium exited with status {self._process.returncode} at start")
            if time.monotonic() > deadline:
                raise BrowserError("chromium did not open its DevTools port in time")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as reply:
            targets = json.load(reply)
        page = next(t for t in targets if t.get("type") == "page")
        self._socket = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=self.timeout)
        self.send("Page.enable")
        self.send("Runtime.enable")

    def close(self):
        if self._socket is not None:
            try:
                self._socket.close()
            except OSError:
                pass
            self._socket = None
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        if self._profile is not None:
            self._profile.cleanup()
            self._profile = None

    def send(self, method, **params):
        """Send one DevTools command and return its result (events that arrive meanwhile are kept)."""
        self._next_id += 1
        ident = self._next_id
        self._socket.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self._socket.recv())
            if message.get("id") == ident:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error']}")
                return message.get("result", {})
            self._note_event(message)

    def _note_event(self, message):
        method = message.get("method")
        if method == "Runtime.consoleAPICalled":
            args = message["params"].get("args", [])
            self.console.append(" ".join(str(a.get("value", a.get("description", ""))) for a in args))
        elif method == "Runtime.exceptionThrown":
            details = message["params"]["exceptionDetails"]
            self.console.append("exception: " + details.get("exception", {}).get("description", details.get("text", "")))

    def set_size(self, width, height):
        """Lay the page out in a window of ``width`` x ``height`` CSS pixels."""
        self.send(
            "Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False
        )

    def open(self, url, width=1280, height=900):
        """Load ``url`` in a window of the given size and wait for its load event."""
        self.set_size(width, height)
        self.send("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete'")

    def evaluate(self, expression):
        """The value of a JavaScript expression in the page (awaited when it is a promise)."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise BrowserError(f"{expression[:80]!r}: {details.get('exception', {}).get('description', details)}")
        return result["result"].get("value")

    def wait_for(self, condition, timeout=None, interval=0.25):
        """Wait until the JavaScript expression ``condition`` is truthy; raise TimeoutError otherwise."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            if self.evaluate(f"Boolean({condition})"):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"waited {timeout or self.timeout} s for: {condition}")
            time.sleep(interval)

    def screenshot(self, path, full_page=False):
        """Save a PNG of the window (or of the whole page's height with ``full_page``) to ``path``."""
        params = {"format": "png"}
        if full_page:
            metrics = self.send("Page.getLayoutMetrics")
            size = metrics.get("cssContentSize") or metrics["contentSize"]
            params["clip"] = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
            params["captureBeyondViewport"] = True
        data = self.send("Page.captureScreenshot", **params)["data"]
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path
