"""The browser story, shared by tests/test_browser.py and scripts/screenshots.py: serve the
TUI (``jitscope serve``), open it in Debian's headless Chromium through playwright, define a
function, call it, JIT and link it, call it again.

xterm.js draws on a canvas, so progress is read from the terminal output in the websocket
frames the page receives (only what changed on screen is sent)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CHROMIUM = shutil.which("chromium-headless-shell")


@contextmanager
def served() -> Iterator[str]:
    """``jitscope serve`` on a free loopback port; yields its URL, stops it (and its tabs)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "jitscope", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its tabs' jitscope processes go with it
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    output = proc.stdout.read() if proc.stdout else ""
                    raise RuntimeError(f"jitscope serve did not start: {output}") from None
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def tell(page: Any, url: str) -> None:
    """Drive the story in ``page`` (a playwright Page); raises AssertionError with the step
    whose output never arrived."""
    frames: list[str] = []

    def received(payload: str | bytes) -> None:
        frames.append(payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload)

    def wait_for(pattern: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not re.search(pattern, "".join(frames), re.DOTALL):
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} never arrived")
            page.wait_for_timeout(100)

    def until(act: Any, pattern: str) -> None:
        # A job may still be finishing: a busy app refuses a key (and keeps typed text), so
        # act again until the answer comes; acting twice is harmless at every step here.
        for attempt in range(12):
            act()
            try:
                wait_for(pattern, timeout=5)
                return
            except AssertionError:
                if attempt == 11:
                    raise

    page.on("websocket", lambda ws: ws.on("framereceived", received))
    page.goto(url)
    wait_for(r"REPL")
    wait_for(r"(?i)f1.{0,200}Help")  # the footer: the app is up and reading keys
    page.locator("textarea").first.focus()
    page.keyboard.type("(define (sq x) (* x x))")
    until(lambda: page.keyboard.press("Enter"), r"sq.{0,200}defined")
    page.keyboard.type("(sq 7)")
    until(lambda: page.keyboard.press("Enter"), r"⇒.{0,200}49")
    page.keyboard.press("F3")
    until(lambda: page.keyboard.press("a"), r"module 1 generated for sq")  # JIT all
    until(lambda: page.keyboard.press("l"), r"module 1 linked")  # every linking step

    def call_again() -> None:  # focus may move when the link job ends: ask for the REPL each time
        page.keyboard.press("F2")
        page.keyboard.type("(sq 8)")
        page.keyboard.press("Enter")

    until(call_again, r"⇒.{0,200}64")
    # Dispatch: every call of the last evaluation went through JIT code.
    wait_for(r"\(100%\)")
