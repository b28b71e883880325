"""Load a page in a real headless Chromium and report what it logged and requested.

Speaks the DevTools protocol over ``--remote-debugging-pipe`` (the browser reads
commands on fd 3 and writes answers on fd 4, NUL-separated JSON), so no driver
library is needed: the page target's own events are watched, not the browser's
background traffic.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NAMES = ("chromium", "chromium-browser", "google-chrome", "chromium-headless-shell")


def find_chromium() -> str | None:
    """The first Chromium on the PATH, or None."""
    return next((path for name in NAMES if (path := shutil.which(name))), None)


@dataclass
class Visit:
    """What loading one page did."""

    #: Console errors, uncaught exceptions and browser log errors (CSP included).
    errors: list[str] = field(default_factory=list)
    #: Every URL the page requested.
    requests: list[str] = field(default_factory=list)
    #: The rendered page's text.
    text: str = ""

    @property
    def outside(self) -> list[str]:
        """Requests that leave the machine (not file:, data:, about: or blob:)."""
        local = ("file:", "data:", "about:", "blob:")
        return [url for url in self.requests if not url.startswith(local)]


class _Pipe:
    def __init__(self, chromium: str, profile: str) -> None:
        to_child, self._write = os.pipe()
        self._read, from_child = os.pipe()
        # Above 4, so that placing them at 3 and 4 in the child overwrites neither.
        to_child, from_child = (_high(fd) for fd in (to_child, from_child))

        def fds() -> None:  # in the child: its fd 3 reads commands, fd 4 answers
            os.dup2(to_child, 3)
            os.dup2(from_child, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)

        self.process = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu",
             "--remote-debugging-pipe", f"--user-data-dir={profile}",
             "--no-first-run", "--disable-background-networking", "about:blank"],
            preexec_fn=fds, close_fds=False,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        os.close(to_child)
        os.close(from_child)
        self._buffer = b""
        self._next = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, session: str | None = None, **params: Any) -> Any:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        while True:
            answer = self._receive(30.0)
            if answer.get("id") == self._next:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self.events.append(answer)

    def wait_for(self, method: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            self.events.append(self._receive(deadline - time.monotonic()))

    def _receive(self, timeout: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._read], [], [], max(timeout, 0.0))
            if not ready:
                raise TimeoutError("Chromium did not answer")
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed its pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        result: dict[str, Any] = json.loads(message)
        return result

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, TimeoutError, OSError):
            self.send("Browser.close")
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._read)
        os.close(self._write)


def _high(fd: int) -> int:
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return moved


def visit(chromium: str, page: Path, settle: float = 1.0) -> Visit:
    """Load ``page`` and collect its console errors, requests and text."""
    with tempfile.TemporaryDirectory(prefix="nb2prod-chromium-") as profile:
        pipe = _Pipe(chromium, profile)
        try:
            target = pipe.send("Target.createTarget", url="about:blank")["targetId"]
            session = pipe.send("Target.attachToTarget", targetId=target, flatten=True)[
                "sessionId"
            ]
            for domain in ("Runtime", "Log", "Network", "Page"):
                pipe.send(f"{domain}.enable", session)
            pipe.events.clear()
            pipe.send("Page.navigate", session, url=page.resolve().as_uri())
            pipe.wait_for("Page.loadEventFired", 60.0)
            time.sleep(settle)  # late scripts and requests
            text = pipe.send(
                "Runtime.evaluate", session, expression="document.body.innerText"
            )["result"].get("value", "")
            return _collect(pipe.events, text)
        finally:
            pipe.close()


def _collect(events: list[dict[str, Any]], text: str) -> Visit:
    seen = Visit(text=text)
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Network.requestWillBeSent":
            seen.requests.append(params["request"]["url"])
        elif method == "Runtime.consoleAPICalled" and params["type"] in (
            "error",
            "assert",
        ):
            seen.errors.append(
                " ".join(
                    str(a.get("value", a.get("description"))) for a in params["args"]
                )
            )
        elif method == "Runtime.exceptionThrown":
            seen.errors.append(params["exceptionDetails"].get("text", "exception"))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            seen.errors.append(params["entry"]["text"])
    return seen
