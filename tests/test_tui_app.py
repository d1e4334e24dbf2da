"""Functional tests: drive the whole app headless with keys, assert on the runtime and widgets.

Each test runs ``App.run_test()`` inside ``asyncio.run`` (no pytest-asyncio needed). After
every key that starts a session job, ``settle`` waits for the worker and the WAT printer, so
assertions see the state the user would see.
"""

from __future__ import annotations

import asyncio
import csv
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.events import Key, Paste
from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static, Tab, Tabs

from jitscope.runtime.session import Session, Stage
from jitscope.tui.app import JitscopeApp
from jitscope.tui.candidates import CandidatesTable
from jitscope.tui.code_view import CodeScreen, DiffScreen, _belongs
from jitscope.tui.dispatch import DispatchView
from jitscope.tui.export import ExportScreen
from jitscope.tui.help import HelpScreen
from jitscope.tui.messages import Evaluated, TieredUp
from jitscope.tui.module_view import ModuleView
from jitscope.tui.pane import PaneTable
from jitscope.tui.patches import PatchesView
from jitscope.tui.pipeline import PipelineStrip
from jitscope.tui.repl import ReplInput, ReplPane
from jitscope.tui.story import FIB, RUN, SQ, press, settle, type_line
from jitscope.tui.table_slots import TableSlotsView

Scenario = Callable[[JitscopeApp, Pilot[None], list[Message]], Awaitable[None]]


def run_app(
    scenario: Scenario,
    *,
    size: tuple[int, int] = (160, 48),
    history: Path | None = None,
    keymap: Path | None = None,
    settings: Path | None = None,
    session: Session | None = None,
) -> JitscopeApp:
    """Run ``scenario`` against a fresh app and session; returns the app for after-checks."""
    messages: list[Message] = []
    app = JitscopeApp(
        session or Session(),
        history_path=history,
        keymap_path=keymap,
        settings_path=settings,
        deterministic=True,
    )

    async def main() -> None:
        async with app.run_test(size=size, message_hook=messages.append) as pilot:
            await settle(pilot)
            await scenario(app, pilot, messages)

    try:
        asyncio.run(main())
    finally:
        app.session.close()
    return app


def log_text(app: JitscopeApp) -> str:
    return app.query_one(ReplPane).transcript()


def table_rows(app: JitscopeApp, pane: str) -> list[list[str]]:
    table = app.query_one(f"#{pane} PaneTable", PaneTable)
    return [
        [str(getattr(c, "plain", c)) for c in table.get_row_at(i)] for i in range(table.row_count)
    ]


def plain(widget: Static) -> str:
    return str(widget.render())


def test_the_whole_story_by_keyboard(tmp_path: Path) -> None:
    """Define fib, run it, JIT it, step every stage, run again: keys only, checks after each."""

    async def story(app: JitscopeApp, pilot: Pilot[None], messages: list[Message]) -> None:
        session = app.session
        # Empty session: each pane says what to do next.
        for pane in ("candidates", "module", "dispatch", "patches"):
            assert app.pane(pane).has_class("-empty"), pane
        assert "No functions yet" in plain(app.query_one("#candidates .hint", Static))
        assert "no JIT module yet" in str(app.query_one(PipelineStrip).render())
        assert isinstance(app.focused, ReplInput)

        # Define fib (typed key by key) and run it: fib becomes a candidate.
        await type_line(pilot, "(define (fib n)", keys=True)  # unfinished: continues
        assert app.query_one(ReplInput).text.startswith("(define (fib n)\n")
        await type_line(pilot, "(if (< n 2) 1 (+ (fib (- n 1)) (fib (- n 2)))))")  # pasted
        await type_line(pilot, "(fib 20)", keys=True)
        assert "⇒ 10946" in log_text(app)
        fib = session.function("fib")
        assert (fib.state, fib.interp_calls, fib.jit_calls) == ("candidate", 21891, 0)
        assert table_rows(app, "candidates")[0][:4] == ["  fib", "21,891", "0", "candidate"]
        assert table_rows(app, "dispatch")[0][3:5] == ["21,891", "0"]
        evaluated = [m for m in messages if isinstance(m, Evaluated)]
        assert [r.text for m in evaluated for r in m.results] == ["fib", "10946"]
        assert evaluated[-1].source == "(fib 20)"

        # Tab to Candidates, j: one module generated for fib, its patch pending.
        await press(pilot, "tab")
        assert isinstance(app.focused, PaneTable) and app.focused.id == "candidates-table"
        await press(pilot, "j")
        (mod,) = session.modules
        assert mod.stage is Stage.GENERATED and mod.names == ["fib"]
        assert any(
            isinstance(m, CandidatesTable.Selected) and m.function_ids == (fib.id,)
            for m in messages
        )
        assert app.state.selected_module == mod.id
        assert session.function("fib").state == f"compiled in module {mod.id}"
        view = app.query_one(ModuleView)
        wat = view.wat_text()
        assert wat is not None and "(func $fib" in wat
        assert [r[0] for r in table_rows(app, "patches")] == ["fib.jitCode"]
        assert table_rows(app, "patches")[0][1:3] == ["0 → ?", "pending"]
        slots_before = len(session.table_slots())

        # n, n, n, n, n: every stage is the real operation; each pane follows.
        await press(pilot, "n")
        assert mod.stage is Stage.COMPILED and mod.module is not None
        await press(pilot, "n")
        assert mod.stage is Stage.INSTANTIATED and mod.instance is not None
        await press(pilot, "n")
        assert mod.stage is Stage.TABLE_GROWN
        new_slot = slots_before
        assert len(session.table_slots()) == slots_before + 1 == mod.table_base + 1
        assert app.state.changes.slots == {new_slot}
        slot_row = table_rows(app, "table")[new_slot]
        assert slot_row[1] == "∅ empty" and "★" in slot_row[3]
        await press(pilot, "n")
        assert mod.stage is Stage.SLOTS_FILLED
        assert table_rows(app, "table")[new_slot][1:3] == ["fib", "jit 1"]
        assert session.read_u32(fib.jit_code_address) == 0  # not patched yet
        assert "next: patch fib.jitCode" in str(app.query_one(PipelineStrip).render())
        await press(pilot, "n")
        assert mod.stage is Stage.LINKED
        assert session.read_u32(fib.jit_code_address) == new_slot
        patch = mod.patches[0]
        assert (patch.before, patch.after) == (0, new_slot)
        assert table_rows(app, "patches")[0][1:3] == [f"0 → {new_slot}", "applied"]
        assert app.state.changes.patches == {(mod.id, 0)}
        assert session.function("fib").state == "linked"
        assert "module 1 linked" in log_text(app)

        # F2, ↑ recalls (fib 20) from history, ⏎: the calls now enter JIT code.
        await press(pilot, "f2", "up")
        assert app.query_one(ReplInput).text == "(fib 20)"
        await press(pilot, "enter")
        assert session.last_counts[fib.id] == (0, 21891)
        assert table_rows(app, "dispatch")[0][3:5] == ["0", "21,891"]
        # JIT share per evaluation: not called (the define), none, then all.
        assert table_rows(app, "dispatch")[0][2] == " ▁█"
        assert "100%" in plain(app.query_one("#dispatch-summary", Static))
        assert session.function("fib").jit_calls == 21891

        # Bad input: one red line with its position; the session carries on.
        await type_line(pilot, "(car 1)")
        assert "✗ <input 4>:1:1: car: expected a pair, got a number 1  (type error)  …ms" in (
            log_text(app).splitlines()
        )
        await type_line(pilot, "(fib 10)")
        assert log_text(app).rstrip().endswith("⇒ 89  …ms")

    history = tmp_path / "history.json"
    run_app(story, history=history)
    assert json.loads(history.read_text()) == [
        "(define (fib n)\n  (if (< n 2) 1 (+ (fib (- n 1)) (fib (- n 2)))))",
        "(fib 20)",
        "(car 1)",
        "(fib 10)",
    ]


def test_jit_marked_functions_and_back_to_interpreted() -> None:
    async def scenario(app: JitscopeApp, pilot: Pilot[None], messages: list[Message]) -> None:
        for line in (FIB, SQ, RUN):
            await type_line(pilot, line)
        await press(pilot, "f3", "space", "space", "j")  # mark fib and sq, JIT both
        (mod,) = app.session.modules
        assert sorted(mod.names) == ["fib", "sq"] and len(mod.patches) == 2
        await press(pilot, "n", "n")
        assert mod.stage is Stage.INSTANTIATED
        await press(pilot, "b")
        assert mod.stage is Stage.DISCARDED
        assert {f.state for f in app.session.functions() if not f.library} == {"candidate"}
        assert "back to interpreted" in log_text(app)
        pipeline = str(app.query_one(PipelineStrip).render())
        assert "candidates again" in pipeline
        # n now has nothing to act on: disabled, and says so if pressed anyway.
        assert app.check_action("step", ()) is None
        # JIT all (a), link at once (l), then unlink fib from Candidates (u).
        await press(pilot, "a", "l")
        second = app.session.modules[-1]
        assert second.stage is Stage.LINKED and second.id == 2
        assert [m.id for m in app.state.view.modules] == [1, 2]
        await press(pilot, "up")  # the cursor was left on sq; up to fib
        fib = app.session.function("fib")
        assert app.query_one(CandidatesTable).border_subtitle == (
            f"fib: {fib.interp_calls:,} interpreted · 0 JIT calls"
        )
        await press(pilot, "u")
        assert app.session.function("fib").state == "candidate"
        assert app.session.function("sq").state == "linked"
        # The patch that linked fib reads back as reverted, its slot as dead.
        rows = {r[0]: r for r in table_rows(app, "patches") if r[4] == "jit 2"}
        assert rows["fib.jitCode"][2] == "reverted, now 0"
        assert rows["sq.jitCode"][2] == "applied"
        assert "fib unlinked since" in str(app.query_one(PipelineStrip).render())
        assert any("dead (unlinked)" in r[3] for r in table_rows(app, "table"))

    run_app(scenario)


def test_auto_tier_up_is_shown_when_it_happens() -> None:
    async def scenario(app: JitscopeApp, pilot: Pilot[None], messages: list[Message]) -> None:
        await type_line(pilot, FIB)
        await press(pilot, "f3", "t")
        assert app.state.auto_threshold == 1000
        await press(pilot, "f2")
        await type_line(pilot, "(fib 18)")
        tiered = [m for m in messages if isinstance(m, TieredUp)]
        assert len(tiered) == 1 and tiered[0].event.name == "fib"
        assert tiered[0].event.interp_calls == 1000
        fib = app.session.function("fib")
        assert fib.state == "linked" and fib.interp_calls == 1000
        interp, jit = app.state.view.last_counts[fib.id]
        assert interp == 1000 and interp + jit >= 8361  # fib(18) makes 8361 calls
        summary = plain(app.query_one("#dispatch-summary", Static))
        # 1,000 of 8,362 calls interpreted: the ⚡ sits an eighth of the way along.
        assert "⚡ fib interp ━━⚡━━━━━━━━━━━━━━━━━━━━━ JIT" in summary
        assert "linked as module 1 after 1,000 interpreted calls" in summary
        assert "auto tier-up: fib linked as module 1" in log_text(app)
        assert app.query_one(ModuleView).state.module.auto  # type: ignore[union-attr]

    run_app(scenario)


@pytest.mark.parametrize("key", ["escape", "ctrl+c"])
def test_interrupt_a_running_evaluation(key: str) -> None:
    async def scenario(app: JitscopeApp, pilot: Pilot[None], messages: list[Message]) -> None:
        await type_line(pilot, "(define (spin) (spin))")
        # Keys go in as the driver delivers them: pilot.press waits for the CPU to go idle,
        # which it will not while (spin) runs.
        app.post_message(Paste("(spin)"))
        app.post_message(Key("enter", None))
        for _ in range(400):
            await asyncio.sleep(0.005)
            if app.session.running:
                break
        assert app.busy == "eval" and app.check_action("interrupt", ()) is True
        # The UI keeps working while the evaluation runs; a second job is refused.
        app.post_message(Key("f5", None))
        for _ in range(400):
            await asyncio.sleep(0.005)
            if app.query_one(DispatchView).contains_focus():
                break
        assert app.query_one(DispatchView).contains_focus()
        assert app.generate(None) is False
        # The key as the driver delivers it (pilot.press would wait for the busy CPU to idle).
        app.post_message(Key(key, None))
        await settle(pilot)
        assert "✗ interrupted" in log_text(app)
        await press(pilot, "f2")
        await type_line(pilot, "(+ 1 2)")
        assert log_text(app).rstrip().endswith("⇒ 3  …ms")

    run_app(scenario)


BAD_INPUT = [
    (")", "✗ <input 1>:1:1: unexpected ')'  (read error)"),
    ("(car 1)", "✗ <input 3>:1:1: car: expected a pair, got a number 1  (type error)"),
    ("(nope 1)", "✗ <input 5>:1:2: unbound variable nope  (unbound error)"),
    ('(display "unterminated', "✗ <input 7>:1:10: unterminated string  (read error)"),
    (
        "(define (deep n) (+ 1 (deep n))) (deep 1)",
        "✗ <input 9>:1:23 (in deep): stack exhausted: recursion too deep",
    ),
]


def test_bad_input_is_one_line_and_never_fatal() -> None:
    async def scenario(app: JitscopeApp, pilot: Pilot[None], messages: list[Message]) -> None:
        for source, expected in BAD_INPUT:
            before = len(app.query_one(ReplPane).entries)
            if source.count('"') % 2:
                # An open string continues on the next line; ctrl+r sends it as it is.
                app.post_message(Paste(source))
                await press(pilot, "enter")
                assert app.query_one(ReplInput).text.startswith(source + "\n")
                await press(pilot, "ctrl+r")
            else:
                await type_line(pilot, source)
            repl = app.query_one(ReplPane)
            errors = [line for line in repl.transcript().splitlines() if line.startswith("✗")]
            errors = errors[len([e for e in repl.entries[:before] if e.kind == "error"]) :]
            assert len(errors) == 1 and errors[0].startswith(expected), errors
            await type_line(pilot, "(* 6 7)")
            assert log_text(app).rstrip().endswith("⇒ 42  …ms")

    run_app(scenario, size=(80, 24))


def test_every_pane_is_reachable_at_80x24() -> None:
    async def scenario(app: JitscopeApp, pilot: Pilot[None], messages: list[Message]) -> None:
        assert app.screen.has_class("-narrow")
        tabs = app.query_one(Tabs)
        assert tabs.display and tabs.tab_count == 5
        assert app.query_one(ReplPane).region.height >= 8
        for key, pane in (
            ("f3", "candidates"),
            ("f4", "module"),
            ("f5", "dispatch"),
            ("f6", "table"),
            ("f7", "patches"),
        ):
            await press(pilot, key)
            widget = app.pane(pane)
            assert widget.display and widget.region.height >= 8, pane
            assert tabs.active == f"tab-{pane}"
            assert widget.contains_focus(), pane
            others = [
                p for p in ("candidates", "module", "dispatch", "table", "patches") if p != pane
            ]
            assert not any(app.pane(p).region.height for p in others)
        # Clicking a tab switches too.
        await pilot.click("#tab-candidates")
        await settle(pilot)
        assert app.pane("candidates").region.height > 0
        # Grow to 160x48: all five panes side by side, tabs hidden.
        await pilot.resize_terminal(160, 48)
        await settle(pilot)
        assert not tabs.display
        assert all(
            app.pane(p).region.height > 8
            for p in ("candidates", "module", "dispatch", "table", "patches")
        )

    run_app(scenario, size=(80, 24))


def test_at_80x24_the_tabs_mark_the_panes_the_last_step_changed() -> None:
    def marked(app: JitscopeApp) -> list[str]:
        return [
            str(t.label).split()[0] for t in app.query_one(Tabs).query(Tab) if "★" in str(t.label)
        ]

    async def scenario(app: JitscopeApp, pilot: Pilot[None], messages: list[Message]) -> None:
        await type_line(pilot, FIB)
        await type_line(pilot, RUN)
        assert marked(app) == ["Candidates", "Dispatch"]
        await press(pilot, "f3", "a")
        assert marked(app) == ["Candidates", "Module", "Patches"]
        await press(pilot, "n", "n", "n")  # compile, instantiate, grow the table
        assert marked(app) == ["Module", "Table"]
        await press(pilot, "f7", "n", "n")  # fill, then the patch
        assert marked(app) == ["Candidates", "Module", "Patches"]
        assert table_rows(app, "patches")[0][2] == "applied"

    run_app(scenario, size=(80, 24))


def test_help_palette_and_export(tmp_path: Path) -> None:
    async def scenario(app: JitscopeApp, pilot: Pilot[None], messages: list[Message]) -> None:
        await press(pilot, "f1")
        assert isinstance(app.screen, HelpScreen)
        await press(pilot, "escape")
        assert not isinstance(app.screen, HelpScreen)

        await type_line(pilot, FIB)
        await type_line(pilot, "(fib 5)")
        names = [c.name for c in app.palette_commands()]
        assert "JIT fib" in names and "JIT all candidates" in names
        assert not any(n.startswith("Step") for n in names)  # nothing in flight yet
        # The command palette runs an action by name.
        await press(pilot, "ctrl+p")
        app.post_message(Paste("JIT fib"))
        await pilot.pause(0.3)
        await press(pilot, "enter")
        assert [m.stage for m in app.session.modules] == [Stage.GENERATED]
        names = [c.name for c in app.palette_commands()]
        assert "Step module 1: compile (validate)" in names
        assert "Go to func $fib" in names and "Export WAT to a file" in names

        # Export the WAT (w in the module view), atomically, to a path typed in the dialog.
        target = tmp_path / "out" / "fib.wat"
        target.parent.mkdir()  # a missing directory is an error, not made silently
        await press(pilot, "f4", "w")
        assert isinstance(app.screen, ExportScreen)
        await press(pilot, "ctrl+u")
        await type_line(pilot, str(target))
        assert target.read_text() == app.query_one(ModuleView).wat_text()
        assert [p.name for p in target.parent.iterdir()] == ["fib.wat"]
        assert any(isinstance(m, ModuleView.Exported) and m.error is None for m in messages)

        # g: jump to a function; the line is marked and scrolled into view.
        await press(pilot, "g")
        app.post_message(Paste("grow"))
        await pilot.pause(0.3)
        await press(pilot, "enter")
        view = app.query_one(ModuleView)
        lines = (view.wat_text() or "").split("\n")
        assert view.marked_line is not None
        assert lines[view.marked_line].startswith("  (func $grow_table")

    run_app(scenario)


def test_corrupt_history_warns_and_carries_on(tmp_path: Path) -> None:
    history = tmp_path / "history.json"
    history.write_text("[1, 2")

    async def scenario(app: JitscopeApp, pilot: Pilot[None], messages: list[Message]) -> None:
        assert "history file" in log_text(app) and "unreadable" in log_text(app)
        await type_line(pilot, "(+ 1 1)")
        assert "⇒ 2" in log_text(app)

    run_app(scenario, history=history)
    assert json.loads(history.read_text()) == ["(+ 1 1)"]
    assert len(list(tmp_path.glob("history.json.corrupt-*"))) == 1


def test_panes_render_from_snapshots_only() -> None:
    """The panes hold frozen snapshots: nothing they show comes from the live session."""

    async def scenario(app: JitscopeApp, pilot: Pilot[None], messages: list[Message]) -> None:
        await type_line(pilot, FIB + " (fib 3)")
        for pane in (CandidatesTable, ModuleView, DispatchView, TableSlotsView, PatchesView):
            assert app.query_one(pane).state is app.state
        assert app.session.function("fib").interp_calls == 5

    run_app(scenario, size=(100, 30))


def test_snapshot_action_writes_a_module_that_resumes_with_jit_code(tmp_path: Path) -> None:
    target = tmp_path / "fib-jit.wasm"

    async def scenario(app: JitscopeApp, pilot: Pilot[None], messages: list[Message]) -> None:
        await type_line(pilot, FIB)
        await type_line(pilot, "(fib 10)")
        await press(pilot, "f3", "a", "l")
        assert app.session.function("fib").state == "linked"
        assert "Write a snapshot (static link) to a file…" in [
            c.name for c in app.palette_commands()
        ]
        await press(pilot, "f8")
        assert isinstance(app.screen, ExportScreen)
        await press(pilot, "ctrl+u")
        await type_line(pilot, str(target))
        await settle(pilot)
        assert f"wrote {target}" in log_text(app)

    run_app(scenario)
    with Session(target) as s:
        assert s.function("fib").state == "linked"
        [r] = s.eval("(fib 12)")
        assert r.text == "233"
        assert s.last_counts[s.function("fib").id][0] == 0  # no interpreted calls


def test_a_seed_only_module_works_in_every_pane_that_needs_no_debugger(seed_only: Path) -> None:
    program = (
        "(letrec ((fib (lambda (n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2))))))) (fib 15))"
    )

    async def scenario(app: JitscopeApp, pilot: Pilot[None], messages: list[Message]) -> None:
        assert "no debugger interface" in plain(app.query_one("#candidates Static", Static))
        assert "only the seed's interface: each input is one program" in log_text(app)
        assert "(define" not in log_text(app)  # the seed's Scheme has no define
        assert "Calls are not counted here" in plain(app.query_one("#dispatch .hint", Static))
        await type_line(pilot, program)
        assert "⇒ 610" in log_text(app)
        await type_line(pilot, "(car 1)")  # an error without details, and the session goes on
        await press(pilot, "f3", "a")
        assert [m.stage for m in app.session.modules] == [Stage.LINKED]
        assert ["fib", "jit 1"] in [row[1:3] for row in table_rows(app, "table")]
        assert "module 1: fib (" in log_text(app)
        strip = str(app.query_one(PipelineStrip).render())
        assert "▶" not in strip and "✓ linked" in strip and "its calls enter JIT code" in strip
        await press(pilot, "f2")
        await type_line(pilot, program)
        assert log_text(app).count("⇒ 610") == 2

    run_app(scenario, session=Session(seed_only))


def test_a_keymap_file_remaps_keys_and_the_help_shows_the_keys_in_force(tmp_path: Path) -> None:
    keymap = tmp_path / "keymap.toml"
    keymap.write_text('[keys]\n"jit.step" = "s"\n"no.such" = "x"\n')

    async def scenario(app: JitscopeApp, pilot: Pilot[None], messages: list[Message]) -> None:
        notes = [n.message for n in app._notifications]
        assert any("no binding has the id no.such" in n for n in notes)
        await type_line(pilot, FIB)
        await type_line(pilot, "(fib 5)")
        await press(pilot, "f3", "a")  # generate: a module in flight
        [mod] = app.session.modules
        assert mod.stage is Stage.GENERATED
        await press(pilot, "s")  # the remapped step key
        assert mod.stage is Stage.COMPILED
        await press(pilot, "f1")
        assert isinstance(app.screen, HelpScreen)
        tables = app.screen.key_tables
        assert "| s | next step of the selected JIT module |" in tables
        assert "| F10 | next step of the JIT module in flight, wherever focus is |" in tables
        assert "| ctrl+q | quit |" in tables

    run_app(scenario, keymap=keymap)


def test_step_and_link_keys_work_with_focus_in_the_repl() -> None:
    async def scenario(app: JitscopeApp, pilot: Pilot[None], messages: list[Message]) -> None:
        await type_line(pilot, FIB)
        await type_line(pilot, "(fib 5)")
        await press(pilot, "f3", "a", "f2")
        [mod] = app.session.modules
        assert app.focused is app.query_one(ReplInput)
        await press(pilot, "f10")
        assert mod.stage is Stage.COMPILED
        assert app.query_one(ReplInput).text == ""  # nothing typed into the REPL
        await press(pilot, "f9")
        assert mod.stage is Stage.LINKED

    run_app(scenario)


def test_a_broken_keymap_file_is_a_warning_not_a_crash(tmp_path: Path) -> None:
    keymap = tmp_path / "keymap.toml"
    keymap.write_text("[keys\n")

    async def scenario(app: JitscopeApp, pilot: Pilot[None], messages: list[Message]) -> None:
        assert any("not used" in n.message for n in app._notifications)
        await type_line(pilot, "(+ 1 2)")
        assert "3" in log_text(app)

    run_app(scenario, keymap=keymap)


def test_c_on_a_linked_function_opens_its_wasm_and_x86_64() -> None:
    async def scenario(app: JitscopeApp, pilot: Pilot[None], messages: list[Message]) -> None:
        await type_line(pilot, FIB)
        await type_line(pilot, RUN)
        await press(pilot, "f3", "c")  # not compiled yet: says so, opens nothing
        assert not isinstance(app.screen, CodeScreen)
        await press(pilot, "j", "l", "c")
        for _ in range(50):  # the listing is built on a worker thread
            if isinstance(app.screen, CodeScreen):
                break
            await pilot.pause(0.1)
        assert isinstance(app.screen, CodeScreen)
        body = "\n".join(line.text for line in app.screen.view.listing.lines)
        assert "call $fib" in body and "; wasm[0]::function[0]::fib" in body
        assert "▸ 1:34  (fib (- n 1))" in body
        assert "x86-64 instructions" in str(app.screen.query_one("#code-head", Static).render())
        await press(pilot, "escape")
        assert not isinstance(app.screen, CodeScreen)
        # The same view from fib's row in Patches and in Table (its JIT slot).
        for pane, keys in (("f7", ()), ("f6", ("end",))):
            await press(pilot, pane, *keys, "c")
            for _ in range(50):
                if isinstance(app.screen, CodeScreen):
                    break
                await pilot.pause(0.1)
            assert isinstance(app.screen, CodeScreen), pane
            assert app.screen.listing.function == "fib"
            await press(pilot, "escape")

    run_app(scenario)


def test_the_code_view_links_levels_folds_searches_and_exports(tmp_path: Path) -> None:
    async def scenario(app: JitscopeApp, pilot: Pilot[None], messages: list[Message]) -> None:
        await type_line(pilot, FIB)
        await type_line(pilot, RUN)
        await press(pilot, "f3", "j", "l", "c")
        for _ in range(50):
            if isinstance(app.screen, CodeScreen):
                break
            await pilot.pause(0.1)
        screen = app.screen
        assert isinstance(screen, CodeScreen)
        view = screen.view
        status = screen.query_one("#code-status", Static)
        # Search: / opens the box, enter jumps to the first match, n to the next.
        await press(pilot, "slash")
        await pilot.press(*"call $fib")
        await press(pilot, "enter")
        assert view.current is not None and view.current.text.strip() == "call $fib"
        assert "match 1 of 2" in str(status.render())
        first = view.cursor
        await press(pilot, "n")
        assert view.cursor > first and "match 2 of 2" in str(status.render())
        # The cursor's wasm line lights its x86 and its Scheme expression: the linked lines.
        here = view.current
        linked = [k for k in view.listing.lines if _belongs(k, here)]
        assert {k.level for k in linked} == {"scheme", "wasm", "x86"}
        assert any(k.text.endswith("(fib (- n 2))") for k in linked if k.level == "scheme")
        # Folding x86 keeps the cursor on the same wasm line; the last level shown stays.
        await press(pilot, "x")
        assert view.current is here and all(k.level != "x86" for k in view._shown)
        await press(pilot, "w", "s")
        assert view.levels == {"scheme"} and "Scheme is the last level shown" in str(
            status.render()
        )
        await press(pilot, "x", "w")
        assert view.levels == {"scheme", "wasm", "x86"}
        # Export: text and HTML beside it.
        await press(pilot, "e")
        box = app.screen.query_one("#export-path", Input)
        box.value = str(tmp_path / "fib.txt")
        await press(pilot, "enter")
        text = (tmp_path / "fib.txt").read_text()
        assert text.startswith(";; fib in module 1:") and "call $fib" in text
        html = (tmp_path / "fib.html").read_text()
        assert re.search(r'<span class="scheme"> *▸ 1:34  \(fib \(- n 1\)\)</span>', html)
        assert "written to" in str(status.render())

    run_app(scenario)


def test_the_code_view_shows_stack_and_offsets_and_diffs_two_generations() -> None:
    async def scenario(app: JitscopeApp, pilot: Pilot[None], messages: list[Message]) -> None:
        async def open_code() -> CodeScreen:
            await press(pilot, "f3", "end", "c")
            for _ in range(50):
                if isinstance(app.screen, CodeScreen):
                    break
                await pilot.pause(0.1)
            assert isinstance(app.screen, CodeScreen)
            return app.screen

        await type_line(pilot, SQ)
        await type_line(pilot, "(sq 3)")
        await press(pilot, "f3", "j", "l")
        screen = await open_code()
        await press(pilot, "t", "o")
        assert screen.view.stack and screen.view.offsets
        await press(pilot, "d")  # one generation: says so, in the log
        assert not isinstance(app.screen, DiffScreen)
        assert "No diff: sq has one generation" in log_text(app)
        await press(pilot, "escape", "f2")
        await type_line(pilot, "(define (sq x) (+ x x))")
        await type_line(pilot, "(sq 3)")
        await press(pilot, "f3", "a", "l")  # the new sq, the one candidate
        await open_code()
        await press(pilot, "d")
        for _ in range(50):
            if isinstance(app.screen, DiffScreen):
                break
            await pilot.pause(0.1)
        assert isinstance(app.screen, DiffScreen), log_text(app)[-600:]
        assert "-  ▸ 1:16  (* x x)" in app.screen.text and "+  ▸ 1:16  (+ x x)" in app.screen.text

    run_app(scenario)


def test_m_on_a_patch_or_a_slot_opens_the_memory_inspector_at_its_field() -> None:
    from jitscope.tui.memory_view import MemoryScreen

    async def scenario(app: JitscopeApp, pilot: Pilot[None], messages: list[Message]) -> None:
        await type_line(pilot, FIB)
        await type_line(pilot, RUN)
        await press(pilot, "f3", "j")  # generated, not linked: fib.jitCode is still 0
        await press(pilot, "f7", "m")
        screen = app.screen
        assert isinstance(screen, MemoryScreen)
        assert "fib.jitCode = 0 (interpreted)" in screen.words[0].line()
        await press(pilot, "escape", "f3", "l")  # link: the patch writes the slot
        await press(pilot, "f7", "m")
        screen = app.screen
        assert isinstance(screen, MemoryScreen)
        first = screen.words[0]
        assert first.changed and "(table slot)" in first.line() and first.line().startswith("*")
        await press(pilot, "plus")
        assert len(screen.words) == 16
        await press(pilot, "escape", "f6", "end", "m")  # fib's slot: its record
        assert isinstance(app.screen, MemoryScreen)
        assert any("fib.interpCalls" in w.line() for w in app.screen.words)

    run_app(scenario)


def test_the_theme_is_kept_between_runs(tmp_path: Path) -> None:
    settings = tmp_path / "config" / "settings.toml"

    async def choose(app: JitscopeApp, pilot: Pilot[None], messages: list[Message]) -> None:
        assert app.theme != "nord"
        app.theme = "nord"
        await pilot.pause()

    run_app(choose, settings=settings)
    assert settings.read_text() == 'theme = "nord"\n'

    async def check(app: JitscopeApp, pilot: Pilot[None], messages: list[Message]) -> None:
        assert app.theme == "nord"

    run_app(check, settings=settings)
    settings.write_text('theme = "no-such-theme"\n')

    async def unknown(app: JitscopeApp, pilot: Pilot[None], messages: list[Message]) -> None:
        assert app.theme != "no-such-theme"
        assert any("no theme called 'no-such-theme'" in n.message for n in app._notifications)

    run_app(unknown, settings=settings)
    settings.write_text("theme = [\n")

    async def broken(app: JitscopeApp, pilot: Pilot[None], messages: list[Message]) -> None:
        assert any("not used" in n.message for n in app._notifications)
        await type_line(pilot, "(+ 1 2)")
        assert "3" in log_text(app)

    run_app(broken, settings=settings)


def test_slash_searches_the_module_pane_and_n_steps_again_once_it_ends() -> None:
    from jitscope.tui.module_view import ModuleView

    async def scenario(app: JitscopeApp, pilot: Pilot[None], messages: list[Message]) -> None:
        await type_line(pilot, FIB)
        await type_line(pilot, RUN)
        await press(pilot, "f3", "j", "f4")
        view = app.query_one(ModuleView)
        await press(pilot, "slash")
        await pilot.press(*"call $fib")
        await press(pilot, "enter")
        assert view.search_text == "call $fib" and "match 1 of 2" in view.border_subtitle
        first = view.marked_line
        assert first is not None
        await press(pilot, "n")
        assert view.marked_line != first and "match 2 of 2" in view.border_subtitle
        await press(pilot, "N")
        assert view.marked_line == first
        mod = app.state.view.modules[-1]
        assert mod.next_step.startswith("compile")  # n searched: the module did not step
        await press(pilot, "escape")
        assert view.search_text == ""
        await press(pilot, "n")  # no search on: n steps the module again
        assert app.state.view.modules[-1].next_step.startswith("instantiate")

    run_app(scenario)


def test_ctrl_s_saves_a_panes_table_as_csv_or_text(tmp_path: Path) -> None:
    async def scenario(app: JitscopeApp, pilot: Pilot[None], messages: list[Message]) -> None:
        await type_line(pilot, FIB)
        await type_line(pilot, RUN)
        for name, keys in (("candidates.csv", ("f3",)), ("patches.txt", ("f3", "j", "l", "f7"))):
            await press(pilot, *keys, "ctrl+s")
            box = app.screen.query_one("#export-path", Input)
            box.value = str(tmp_path / name)
            await press(pilot, "enter")
        rows = list(csv.reader((tmp_path / "candidates.csv").open()))
        assert rows[0][:4] == ["function", "interp", "JIT", "state"]
        assert [r[0].strip() for r in rows[1:]] == ["fib"]
        fib = next(r for r in rows[1:] if r[0].strip() == "fib")
        assert fib[1].strip() == "1,973"
        text = (tmp_path / "patches.txt").read_text().splitlines()
        assert text[0].split()[:3] == ["field", "before", "→"]
        assert any(line.startswith("fib.jitCode") and "applied" in line for line in text)

    run_app(scenario)


def test_footer_keys_the_highlighted_function_cannot_use_look_disabled() -> None:
    from textual.widgets._footer import FooterKey

    def enabled(app: JitscopeApp) -> dict[str, bool]:
        return {k.key: not k.has_class("-disabled") for k in app.query(FooterKey)}

    async def scenario(app: JitscopeApp, pilot: Pilot[None], messages: list[Message]) -> None:
        await type_line(pilot, FIB)
        await type_line(pilot, "(fib 5)")
        await press(pilot, "f3")
        keys = enabled(app)  # a candidate: JIT it, nothing to unlink, no code yet, no step
        assert keys["j"] and not keys["u"] and not keys["c"] and not keys["n"]
        assert keys["ctrl+q"]  # quit is in the footer
        await press(pilot, "j")
        keys = enabled(app)  # pending in a module: it can step, and has no JIT code to run
        assert not keys["j"] and keys["n"] and keys["c"]
        await press(pilot, "l")
        keys = enabled(app)  # linked: unlink it, see its code; nothing left to step
        assert not keys["j"] and keys["u"] and keys["c"] and not keys["n"]

    run_app(scenario)


def test_a_breakpoint_stops_the_evaluation_and_the_panes_show_that_moment() -> None:
    async def scenario(app: JitscopeApp, pilot: Pilot[None], messages: list[Message]) -> None:
        from jitscope.tui.stop_view import StopPanel
        from jitscope.tui.story import wait_for_stop

        await type_line(pilot, FIB)
        await type_line(pilot, ",break tier-up fib")
        assert "breakpoint 1: stops when fib tiers up" in log_text(app)
        assert app.set_auto(20)
        await settle(pilot)
        await type_line(pilot, "(fib 12)", wait=False)
        await wait_for_stop(pilot)
        panel = app.query_one(StopPanel)
        assert panel.display and app.focused is panel.query_one("#stop-stack")
        stack = panel.query_one("#stop-stack", DataTable)
        first = [str(c) for c in stack.get_row_at(0)]
        assert first[1:3] == ["(fib 2)", "interpreter"]
        # The panes show the live state: fib is linked already, mid-evaluation.
        fib = next(f for f in app.state.view.functions if f.name == "fib")
        assert fib.jit_code and fib.interp_calls == 20
        assert app.state.stopped and app.state.view.last_counts[fib.id] == (20, 0)
        summary = str(app.query_one("#dispatch-summary", Static).render())
        assert "this evaluation so far (stopped): 20 interpreted · 0 JIT" in summary
        # Reads run on the stopped thread; evaluating waits for the answer.
        words = app._read_words(app.session.function("fib").jit_code_address, 1)
        assert (
            words is not None and words[0].fields[0] == f"fib.jitCode = {fib.jit_code} (table slot)"
        )
        app.query_one(ReplInput).focus()
        await type_line(pilot, ",bt", wait=False)
        await pilot.pause()
        assert "#0   (fib 2)" in log_text(app)
        assert not app.evaluate("(+ 1 2)")
        await type_line(pilot, ",step", wait=False)  # to the next event: fib's first JIT entry
        await wait_for_stop(pilot)
        assert app.stopped is not None and app.stopped.breakpoint is None
        assert app.stopped.stack.frames[0].tier == "JIT module 1"
        assert app.focused is panel.query_one("#stop-stack")
        await pilot.press("c")
        await settle(pilot)
        assert app.stopped is None and not panel.display
        assert "⇒ 233" in log_text(app)
        # An abort ends the evaluation; the session carries on.
        await type_line(pilot, ",break enter fib")
        await type_line(pilot, "(fib 3)", wait=False)
        await wait_for_stop(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert "aborted at a stop: fib entered through its JIT code" in log_text(app)
        await type_line(pilot, ",break clear")
        await type_line(pilot, "(fib 10)")
        assert "⇒ 89" in log_text(app)

    run_app(scenario)
