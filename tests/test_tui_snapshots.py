"""Snapshot tests (pytest-textual-snapshot) of the main screens at 80x24 and 160x48.

The app runs with ``deterministic=True``: elapsed times render as ``…ms`` and addresses into
the main module as ``0x……`` / ``…``, so only a change to what the screens show fails here.
The WAT, byte sizes and main-module slot names still come from interplib.wasm: after
rebuilding it, look at the report and re-bless with
``pytest tests/test_tui_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

import pytest

from jitscope.runtime.session import Session
from jitscope.tui.app import JitscopeApp
from jitscope.tui.story import SCENES

SIZES = [(80, 24), (160, 48)]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("scene", list(SCENES))
def test_screen(snap_compare, scene: str, size: tuple[int, int]) -> None:
    app = JitscopeApp(
        Session(), history_path=None, keymap_path=None, settings_path=None, deterministic=True
    )
    try:
        assert snap_compare(app, terminal_size=size, run_before=SCENES[scene])
    finally:
        app.session.close()
