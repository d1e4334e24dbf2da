"""Regenerate screenshots/*.svg: the story of one JIT module, driven headless.

    python scripts/screenshots.py            # every scene at 80x24 and 160x48
    python scripts/screenshots.py linked     # only the scenes named
    python scripts/screenshots.py browser    # jitscope serve in headless Chromium (PNG)

Each scene (jitscope/tui/story.py, shared with the snapshot tests) runs in a fresh app and
session under ``App.run_test()``; the screen is then saved with ``save_screenshot``. Times
and addresses are the real ones of that run (only the snapshot tests redact them), so each
regeneration changes them.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jitscope.runtime.session import Session
from jitscope.tui.app import JitscopeApp
from jitscope.tui.story import SCENES, settle

SIZES = [(80, 24), (160, 48)]
OUT = ROOT / "screenshots"


async def shoot(scene: str, size: tuple[int, int], out: Path) -> Path:
    app = JitscopeApp(Session(), history_path=None, keymap_path=None, settings_path=None)
    try:
        async with app.run_test(size=size) as pilot:
            if scene == "help":
                await settle(pilot)
                app.action_help()
            else:
                await SCENES[scene](pilot)
            await settle(pilot)
            name = f"{scene}-{size[0]}x{size[1]}.svg"
            app.save_screenshot(filename=name, path=str(out))
            return out / name
    finally:
        app.session.close()


def shoot_browser(out: Path) -> Path:
    """The browser story (scripts/browser_story.py), then a screenshot of the page."""
    from browser_story import CHROMIUM, served, tell
    from playwright.sync_api import sync_playwright

    if CHROMIUM is None:
        raise SystemExit("browser: needs chromium-headless-shell (apt-get install it)")
    path = out / "browser-1400x900.png"
    with served() as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            tell(page, url)
            page.wait_for_timeout(500)  # the last frame drawn
            page.screenshot(path=str(path))
        finally:
            browser.close()
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "scenes", nargs="*", help=f"any of {', '.join([*SCENES, 'help', 'browser'])}"
    )
    parser.add_argument("--out", type=Path, default=OUT, help="directory (default: %(default)s)")
    args = parser.parse_args(argv)
    scenes = args.scenes or [*SCENES, "help", "browser"]
    unknown = [s for s in scenes if s not in SCENES and s not in ("help", "browser")]
    if unknown:
        parser.error(f"unknown scene(s): {', '.join(unknown)}")
    args.out.mkdir(parents=True, exist_ok=True)
    for scene in scenes:
        if scene == "browser":
            start = time.perf_counter()
            path = shoot_browser(args.out)
            print(f"{path.relative_to(ROOT)}  ({time.perf_counter() - start:.1f} s)")
            continue
        for size in SIZES:
            start = time.perf_counter()
            path = asyncio.run(shoot(scene, size, args.out))
            print(
                f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}"
                f"  ({time.perf_counter() - start:.1f} s)"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
