"""jitscope serve in a browser: headless Chromium (Debian's chromium-headless-shell) driven by
playwright opens the page, types a definition and a call, JITs and links it, and checks the
result and the switch to JIT code arrived (scripts/browser_story.py tells the story)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from browser_story import CHROMIUM, served, tell

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="needs Debian's chromium-headless-shell (apt-get install chromium-headless-shell; "
    ".ci/run installs it when it runs as root with apt)",
)


def test_the_tui_works_in_a_browser():
    from playwright.sync_api import sync_playwright

    with served() as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            tell(browser.new_page(viewport={"width": 1400, "height": 900}), url)
        finally:
            browser.close()
