"""Regenerate screenshots/*.svg: the story of one JIT module, driven headless.

    python scripts/screenshots.py            # every scene at 80x24 and 160x48
    python scripts/screenshots.py linked     # only the scenes named

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenes", nargs="*", help=f"any of {', '.join([*SCENES, 'help'])}")
    parser.add_argument("--out", type=Path, default=OUT, help="directory (default: %(default)s)")
    args = parser.parse_args(argv)
    scenes = args.scenes or [*SCENES, "help"]
    unknown = [s for s in scenes if s not in SCENES and s != "help"]
    if unknown:
        parser.error(f"unknown scene(s): {', '.join(unknown)}")
    args.out.mkdir(parents=True, exist_ok=True)
    for scene in scenes:
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
