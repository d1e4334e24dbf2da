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

    page.on("websocket", lambda ws: ws.on("framereceived", received))
    page.goto(url)
    wait_for(r"REPL")
    wait_for(r"(?i)f1.{0,200}Help")  # the footer: the app is up and reading keys
    page.locator("textarea").first.focus()
    for line, answer in (
        ("(define (sq x) (* x x))", r"sq.{0,200}defined"),
        ("(sq 7)", r"⇒.{0,200}49"),
    ):
        page.keyboard.type(line)
        page.keyboard.press("Enter")
        wait_for(answer)
    page.keyboard.press("F3")
    page.keyboard.press("a")  # JIT all: a module for sq
    wait_for(r"module 1 generated for sq")
    page.keyboard.press("l")  # link it in, every step
    wait_for(r"module 1 linked")
    page.keyboard.press("F2")
    page.keyboard.type("(sq 8)")
    page.keyboard.press("Enter")
    wait_for(r"⇒.{0,200}64")
    # Dispatch: every call of the last evaluation went through JIT code.
    wait_for(r"\(100%\)")
