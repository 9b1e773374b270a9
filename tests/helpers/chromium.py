"""Headless Chromium driven over the DevTools protocol: open a page, read its console, switch the network off,
run script, catch a download, take a screenshot, time the load.

The system's `chromium` (Debian's package) is started with a private profile and a free debugging port; the
protocol is spoken with the `websockets` package's synchronous client. Nothing is downloaded.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def chromium_path() -> str | None:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


class ChromiumError(RuntimeError):
    pass


class Chromium:
    """One headless browser with one page. Use as a context manager."""

    def __init__(self, width: int = 1280, height: int = 900, timeout_s: float = 30.0):
        self.width, self.height, self.timeout_s = width, height, timeout_s
        self.events: list[dict] = []
        self.last_event_index = 0
        self._next_id = 0
        self._profile = None
        self._process = None
        self._socket = None
        self.session = None

    # ------------------------------------------------------------ start and stop

    def __enter__(self) -> "Chromium":
        from websockets.sync.client import connect

        binary = chromium_path()
        if binary is None:
            raise ChromiumError("no chromium on PATH")
        self._profile = tempfile.mkdtemp(prefix="bench-chromium-")
        self.download_dir = Path(self._profile) / "downloads"
        self.download_dir.mkdir()
        args = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--remote-debugging-port=0", f"--user-data-dir={self._profile}", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--mute-audio", "about:blank"]
        self._process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = Path(self._profile) / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout_s
        while not (port_file.is_file() and len(port_file.read_text().splitlines()) >= 2):
            if self._process.poll() is not None:
                raise ChromiumError(f"chromium exited with {self._process.returncode}")
            if time.monotonic() > deadline:
                raise ChromiumError("chromium did not open its debugging port")
            time.sleep(0.05)
        port, path = port_file.read_text().splitlines()[:2]
        self._socket = connect(f"ws://127.0.0.1:{port}{path}", max_size=None, open_timeout=self.timeout_s).__enter__()
        target = self.call("Target.createTarget", {"url": "about:blank"}, browser=True)["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True},
                                 browser=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")
        self.call("Emulation.setDeviceMetricsOverride", {"width": self.width, "height": self.height,
                                                         "deviceScaleFactor": 1, "mobile": False})
        self.call("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(self.download_dir),
                                                  "eventsEnabled": True}, browser=True)
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self._socket is not None:
                self._socket.close()
        finally:
            if self._process is not None:
                self._process.terminate()
                try:
                    self._process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
            if self._profile:
                shutil.rmtree(self._profile, ignore_errors=True)

    # ------------------------------------------------------------ the protocol

    def call(self, method: str, params: dict | None = None, *, browser: bool = False) -> dict:
        """Send one command and wait for its answer; events that arrive meanwhile are kept in `events`."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if not browser:
            message["sessionId"] = self.session
        self._socket.send(json.dumps(message))
        deadline = time.monotonic() + self.timeout_s
        while True:
            reply = self._receive(deadline - time.monotonic())
            if reply is None:
                raise ChromiumError(f"{method}: no answer in {self.timeout_s} s")
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise ChromiumError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})

    def _receive(self, timeout: float) -> dict | None:
        try:
            raw = self._socket.recv(timeout=max(timeout, 0.001))
        except TimeoutError:
            return None
        message = json.loads(raw)
        if "method" in message:
            self.events.append(message)
        return message

    def wait_for_event(self, method: str, timeout_s: float | None = None, since: int = 0,
                       where=lambda params: True) -> dict:
        """The first event `method` (from position `since` of the event list on) whose params satisfy `where`."""
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        while True:
            for index in range(since, len(self.events)):
                event = self.events[index]
                if event["method"] == method and where(event.get("params", {})):
                    self.last_event_index = index
                    return event["params"]
            if self._receive(deadline - time.monotonic()) is None and time.monotonic() >= deadline:
                raise ChromiumError(f"no {method} event in time")

    def evaluate(self, expression: str, *, user_gesture: bool = False) -> Any:
        """The value of a JavaScript expression (awaited when it is a promise); a thrown error is raised here."""
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True,
                                                "userGesture": user_gesture})
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise ChromiumError(f"script error: {details.get('exception', {}).get('description') or details.get('text')}")
        return result.get("result", {}).get("value")

    # ------------------------------------------------------------ pages

    def offline(self) -> None:
        """Cut the page off the network: any request other than to the file itself would fail and show."""
        self.call("Network.emulateNetworkConditions", {"offline": True, "latency": 0, "downloadThroughput": -1,
                                                       "uploadThroughput": -1})

    def scripts_off(self) -> None:
        self.call("Emulation.setScriptExecutionDisabled", {"value": True})

    def open(self, path: Path, ready: str | None = None) -> float:
        """Load a file and wait for its load event (and, when given, until the expression `ready` is true);
        return the seconds that took, by the wall clock here."""
        since = len(self.events)
        url = Path(path).resolve().as_uri()
        started = time.perf_counter()
        self.call("Page.navigate", {"url": url})
        # the load event that follows this page's navigation, not a late one of the page before
        self.wait_for_event("Page.frameNavigated", since=since,
                            where=lambda p: p["frame"].get("url") == url and not p["frame"].get("parentId"))
        self.wait_for_event("Page.loadEventFired", since=self.last_event_index)
        if ready:
            self.wait_until(ready)
        return time.perf_counter() - started

    def wait_until(self, expression: str, timeout_s: float | None = None) -> Any:
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise ChromiumError(f"still false after {timeout_s or self.timeout_s} s: {expression}")
            time.sleep(0.02)

    def console_errors(self) -> list[str]:
        """Console errors, uncaught exceptions and error log entries (failed loads, blocked requests)."""
        errors = []
        for event in self.events:
            params = event.get("params", {})
            if event["method"] == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                errors.append(details.get("exception", {}).get("description") or details.get("text", "exception"))
            elif event["method"] == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
            elif event["method"] == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                errors.append(params["entry"].get("text", ""))
        return errors

    def requested_urls(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events if e["method"] == "Network.requestWillBeSent"]

    def download(self, click_expression: str, timeout_s: float | None = None) -> Path:
        """Run `click_expression` as a user gesture and return the file it downloads."""
        since = len(self.events)
        self.evaluate(click_expression, user_gesture=True)
        begun = self.wait_for_event("Browser.downloadWillBegin", timeout_s, since)
        done = self.wait_for_event("Browser.downloadProgress", timeout_s, since,
                                   where=lambda p: p.get("guid") == begun["guid"] and p.get("state") != "inProgress")
        if done["state"] != "completed":
            raise ChromiumError(f"download {done['state']}")
        path = self.download_dir / begun["guid"]
        if not path.exists():
            path = self.download_dir / begun["suggestedFilename"]
        return path

    def screenshot(self, out: Path, *, full_page: bool = False, clip_selector: str | None = None) -> Path:
        """A PNG of the viewport, the whole page, or one element."""
        import base64

        params: dict[str, Any] = {"format": "png", "captureBeyondViewport": full_page or bool(clip_selector)}
        if clip_selector:
            box = self.evaluate(f"(() => {{ const r = document.querySelector({json.dumps(clip_selector)})"
                                ".getBoundingClientRect(); return [r.left + scrollX, r.top + scrollY, r.width, "
                                "r.height]; })()")
            params["clip"] = {"x": box[0], "y": box[1], "width": box[2], "height": box[3], "scale": 1}
        elif full_page:
            width, height = self.evaluate("[document.documentElement.scrollWidth, "
                                          "document.documentElement.scrollHeight]")
            params["clip"] = {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}
        data = self.call("Page.captureScreenshot", params)["data"]
        out = Path(out)
        out.write_bytes(base64.b64decode(data))
        return out


def in_ci() -> bool:
    return bool(os.environ.get("CI"))
