"""The TUI's pure parts: snapshots and their diff, history on disk, WAT text."""

from __future__ import annotations

import json
import os

import pytest

from jitscope.debugger.code import redact_addresses
from jitscope.debugger.history import History
from jitscope.runtime.session import Session, Stage
from jitscope.tui.model import (
    diff,
    fmt_count_fit,
    record_history,
    redact_hex,
    take_view,
)
from jitscope.tui.styles import function_lines, highlight_wat

FIB = "(define (fib n) (if (< n 2) 1 (+ (fib (- n 1)) (fib (- n 2)))))"


def test_snapshot_and_diff_follow_each_step(session: Session) -> None:
    first = take_view(session, 1)
    assert diff(type(first)(), first) == diff(first, first)  # the first snapshot changes nothing
    session.eval(FIB + " (fib 10)")
    ran = take_view(session, 2)
    (fib,) = [f for f in ran.functions if f.name == "fib"]
    assert (fib.name, fib.state, fib.interp_calls) == ("fib", "candidate", 177)
    assert ran.last_counts[fib.id] == (177, 0)
    assert {c for i, c in ran.last_counts.items() if i != fib.id} <= {(0, 0)}
    assert diff(first, ran).functions == {fib.id}

    mod = session.generate()
    assert mod is not None
    generated = take_view(session, 3)
    changes = diff(ran, generated)
    assert changes.modules == {mod.id}
    assert changes.patches == {(mod.id, 0)}
    m = generated.module(mod.id)
    assert m is not None and m.in_flight and m.next_step == "compile (validate)"
    assert [s.state for s in m.pipeline()][:3] == ["done", "next", "todo"]

    prev = generated
    for _ in range(2):  # compile, instantiate
        session.step(mod)
    prev = take_view(session, 4)
    session.step(mod)  # grow: one new slot, still empty (null)
    grown = take_view(session, 5)
    (new_slot,) = diff(prev, grown).slots
    slot = grown.slots[new_slot]
    assert slot.grown and slot.empty and len(grown.slots) == len(prev.slots) + 1
    session.step(mod)  # fill
    filled = take_view(session, 6)
    assert diff(grown, filled).slots == {new_slot}
    assert (filled.slots[new_slot].name, filled.slots[new_slot].owner) == ("fib", "jit 1")
    session.step(mod)  # the one patch
    linked = take_view(session, 7)
    changes = diff(filled, linked)
    assert changes.patches == {(mod.id, 0)} and changes.functions == {fib.id}
    lm = linked.module(mod.id)
    assert lm is not None and lm.stage is Stage.LINKED and not lm.in_flight
    patch = lm.patches[0]
    assert (patch.before, patch.after, patch.label) == (0, new_slot, "fib.jitCode")
    assert all(s.state == "done" for s in lm.pipeline())
    assert linked.function(fib.id).jit_code == new_slot  # type: ignore[union-attr]


def test_discarded_module_pipeline(session: Session) -> None:
    session.eval(FIB + " (fib 5)")
    mod = session.generate()
    assert mod is not None
    session.step(mod)
    session.discard(mod)
    snap = take_view(session, 1)
    m = snap.module(mod.id)
    assert m is not None and m.stage is Stage.DISCARDED
    states = [s.state for s in m.pipeline()]
    assert states[:2] == ["done", "done"] and set(states[2:]) == {"dropped"}
    assert [f.state for f in snap.functions if f.name == "fib"] == ["candidate"]


def test_history_keeps_the_last_evaluations() -> None:
    h: tuple = ()
    for i in range(30):
        h = record_history(h, i, {0: (i, 0)}, 0.1)
    assert len(h) == 24 and h[-1].seq == 29 and h[0].seq == 6


def test_redaction() -> None:
    assert redact_hex("patch fib.jitCode @ 0x1131110") == "patch fib.jitCode @ 0x……"
    assert redact_addresses("i32.const 18026768\ni32.const 48\ni64.const 65535") == (
        "i32.const …\ni32.const 48\ni64.const 65535"
    )
    assert redact_addresses("local.get $x12345678") == "local.get $x12345678"


def test_wat_highlighting_and_function_lines() -> None:
    wat = '(module\n  (func $fib (param i64)\n    i32.const 1)\n  (func $"a b" (result i32)))\n'
    content = highlight_wat(wat, frozenset({1}))
    assert content.plain == wat
    styles = {wat[s.start : s.end]: str(s.style) for s in content.spans}
    assert styles["$fib"] == "$text-success" and styles["module"] == "$text-primary bold"
    assert function_lines(wat) == {"fib": 1, "a b": 3}


# --------------------------------------------------------------------------------- history


def test_history_round_trip_and_browsing(tmp_path) -> None:
    path = tmp_path / "deep" / "history.json"
    h = History(path)
    h.load()
    assert h.entries == [] and h.warning is None
    for entry in ["(fib 1)", "(fib 1)", "(define (f x)\n  x)", "  ", "(f 2)"]:
        h.add(entry)
    h.save()
    assert json.loads(path.read_text()) == ["(fib 1)", "(define (f x)\n  x)", "(f 2)"]
    assert [p.name for p in path.parent.iterdir()] == ["history.json"]  # no temp files left

    again = History(path)
    again.load()
    assert again.previous("draft") == "(f 2)"
    assert again.previous("ignored") == "(define (f x)\n  x)"
    assert again.previous("") == "(fib 1)"
    assert again.previous("") is None
    assert again.next() == "(define (f x)\n  x)"
    assert again.next() == "(f 2)"
    assert again.next() == "draft"  # past the newest: what was being typed
    assert again.next() is None


@pytest.mark.parametrize(
    "content", [b"{not json", b'{"a": 1}', b"[1, 2]", b"\xff\xfe", b"[" * 100_000 + b"]" * 100_000]
)
def test_corrupt_history_is_set_aside(tmp_path, content: bytes) -> None:
    path = tmp_path / "history.json"
    path.write_bytes(content)
    h = History(path)
    h.load()
    assert h.entries == []
    assert h.warning is not None and "unreadable" in h.warning
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("history.json.corrupt-")]
    assert len(aside) == 1 and aside[0].read_bytes() == content
    h.add("(+ 1 2)")
    h.save()
    assert json.loads(path.read_text()) == ["(+ 1 2)"]


def test_history_save_failure_leaves_old_file(tmp_path, monkeypatch) -> None:
    path = tmp_path / "history.json"
    h = History(path)
    h.add("(a)")
    h.save()
    h.add("(b)")

    def boom(*_args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        h.save()
    assert json.loads(path.read_text()) == ["(a)"]
    assert [p.name for p in tmp_path.iterdir()] == ["history.json"]


@pytest.mark.parametrize(
    ("n", "shown"),
    [(0, "0"), (99_999_999, "99,999,999"), (700_496_147, "700.5M"), (12_345_678_901, "12.3G")],
)
def test_counts_are_never_cut(n: int, shown: str) -> None:
    text = fmt_count_fit(n, 10)
    assert text == shown and len(text) <= 10
