"""The story of one JIT module, scripted against a headless app, and helpers to drive it.

``SCENES`` are shared by the snapshot tests and ``scripts/screenshots.py``, so the screenshots
show exactly what the snapshots check: define two functions and run them, JIT them, step the
module in (pausing between its two memory patches), run again; and bad input. The functional
tests (tests/test_tui_app.py) drive the same story with real key presses via ``type_line``,
``press`` and ``settle``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from textual import events
from textual.pilot import Pilot

if TYPE_CHECKING:
    from jitscope.tui.app import JitscopeApp

__all__ = ["FIB", "RUN", "SCENES", "SQ", "settle", "type_line", "wait_for_stop"]

FIB = "(define (fib n) (if (< n 2) 1 (+ (fib (- n 1)) (fib (- n 2)))))"
SQ = "(define (sq x) (* x x))"
RUN = "(+ (fib 15) (sq 12))"

# Characters pilot.press needs spelled as key names.
_KEY_NAMES = {" ": "space"}


async def settle(pilot: Pilot[object], timeout: float = 30.0) -> None:
    """Wait until the session worker is idle and every module's WAT has been printed."""
    from jitscope.tui.app import JitscopeApp
    from jitscope.tui.module_view import ModuleView, WatView

    app = pilot.app
    assert isinstance(app, JitscopeApp)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    view = app.query_one(ModuleView)
    wat = view.query_one(WatView)
    # Poll with plain sleeps (the app's task runs meanwhile); pilot.pause() waits for the
    # whole process to go idle, which costs ~20 ms or more each time.
    while (app.busy and app.stopped is None) or view.loading_wat:
        if loop.time() > deadline:
            raise TimeoutError(f"app still busy ({app.busy!r}) after {timeout} s")
        await asyncio.sleep(0.002)
    # What follows a job lands a frame or two later (the WAT view scrolls to the code once
    # printed, tables size their columns when idle): wait for it, so a screen taken now is
    # the one a user sees.
    for _ in range(3):
        await pilot.pause()
        await asyncio.sleep(0.03)
    # A scroll asked for before the view was laid out lands once it is (if it is shown at
    # all: a hidden pane keeps its scroll for when it is shown).
    landed = loop.time() + 1.0
    while wat.scroll_pending and wat.display and loop.time() < landed:
        await asyncio.sleep(0.01)


async def type_line(
    pilot: Pilot[object], text: str, *, keys: bool = False, wait: bool = True
) -> None:
    """Enter ``text`` into the focused widget, press enter, and settle.

    The text arrives as a bracketed paste (one event, as a terminal sends a paste), or key by
    key with ``keys=True``; the harness spends ~60 ms settling after every key press.
    """
    if keys:
        await pilot.press(*(_KEY_NAMES.get(c, c) for c in text))
    else:
        # As the driver delivers a paste: to the app, which forwards it to the focused widget.
        pilot.app.post_message(events.Paste(text))
        await pilot.pause()
    await pilot.press("enter")
    if wait:
        await settle(pilot)


async def press(pilot: Pilot[object], *keys: str) -> None:
    """Press keys one at a time, letting each finished operation land before the next."""
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


# --------------------------------------------------------------------------------- scenes
# Scenes call the app's own operations (what the keys call) and settle after each: the harness
# spends ~60 ms per simulated key press, and the keys themselves are covered by the functional
# tests in tests/test_tui_app.py.


def _app(pilot: Pilot[object]) -> JitscopeApp:
    from jitscope.tui.app import JitscopeApp

    app = pilot.app
    assert isinstance(app, JitscopeApp)
    return app


async def _do(pilot: Pilot[object], started: bool) -> None:
    assert started, "the app refused an operation (busy?)"
    await settle(pilot)


async def _focus(pilot: Pilot[object], pane: str) -> None:
    _app(pilot).action_focus_pane(pane)
    await settle(pilot)


async def scene_empty(pilot: Pilot[object]) -> None:
    await settle(pilot)


async def scene_candidates(pilot: Pilot[object]) -> None:
    """fib and sq defined and run: both are candidates; focus on Candidates."""
    await settle(pilot)
    for line in (FIB, SQ, RUN):
        await _do(pilot, _app(pilot).evaluate(line))
    await _focus(pilot, "candidates")


async def scene_mid_patch(pilot: Pilot[object]) -> None:
    """JIT all, then step up to between the two memory patches; focus on Patches."""
    await scene_candidates(pilot)
    app = _app(pilot)
    await _do(pilot, app.generate(None))
    for _ in range(5):  # compile, instantiate, grow, fill, first patch
        await _do(pilot, app.step())
    await _focus(pilot, "patches")


async def scene_linked(pilot: Pilot[object]) -> None:
    """Link the rest and run again: the calls switch to JIT code; focus on Dispatch."""
    await scene_mid_patch(pilot)
    app = _app(pilot)
    await _do(pilot, app.step(to_end=True))
    await _do(pilot, app.evaluate(RUN))
    await _focus(pilot, "dispatch")


async def scene_memory(pilot: Pilot[object]) -> None:
    """Mid-patch, the memory inspector on sq's pending jitCode field; then the patch is
    applied and r reads again: the word it wrote is marked."""
    await scene_mid_patch(pilot)
    await pilot.press("down", "m")  # the second row: sq.jitCode, still pending
    await settle(pilot)
    await _do(pilot, _app(pilot).step())
    await pilot.press("r")
    await settle(pilot)


async def scene_error(pilot: Pilot[object]) -> None:
    """Three kinds of bad input, one line each in the log; the session carries on."""
    await settle(pilot)
    for line in ("(car 1)", "(undefined-thing 2)", ")", "(+ 1 2)"):
        await _do(pilot, _app(pilot).evaluate(line))


async def scene_code(pilot: Pilot[object]) -> None:
    """fib linked; its code view, the cursor on the first recursive call's Scheme line."""
    from jitscope.tui.code_view import CodeScreen
    from jitscope.tui.messages import CodeRequested

    await scene_linked(pilot)
    app = _app(pilot)
    fib = next(f for f in app.state.view.functions if f.name == "fib")
    app.post_message(CodeRequested(fib.id))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while not isinstance(app.screen, CodeScreen):  # built on a worker thread
        if loop.time() > deadline:
            raise TimeoutError("the code view did not open")
        await asyncio.sleep(0.01)
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, CodeScreen)
    screen.find("▸ 1:34", 1)
    await settle(pilot)


async def wait_for_stop(pilot: Pilot[object], timeout: float = 30.0) -> None:
    """Wait until the running evaluation has stopped at a breakpoint and the panes show it."""
    app = _app(pilot)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while app.stopped is None:
        if loop.time() > deadline:
            raise TimeoutError("the evaluation did not stop")
        await asyncio.sleep(0.005)
    await settle(pilot)


async def scene_stopped(pilot: Pilot[object]) -> None:
    """Auto mode with a tier-up breakpoint on fib: stopped right after its link, the stack of
    interpreted fib frames below."""
    await settle(pilot)
    app = _app(pilot)
    await _do(pilot, app.evaluate(FIB))
    await _do(pilot, app.evaluate(",break tier-up fib"))
    await _do(pilot, app.set_auto(20))
    assert app.evaluate("(fib 12)")
    await wait_for_stop(pilot)


SCENES: dict[str, Callable[[Pilot[object]], Awaitable[None]]] = {
    "empty": scene_empty,
    "candidates": scene_candidates,
    "mid_patch": scene_mid_patch,
    "linked": scene_linked,
    "memory": scene_memory,
    "error": scene_error,
    "code": scene_code,
    "stopped": scene_stopped,
}
