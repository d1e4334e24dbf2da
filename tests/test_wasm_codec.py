"""The wasm codec (jitscope.wasm): LEB128, framing, names, jitscope's sections, instructions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jitscope.wasm.custom import (
    BakedSlot,
    SnapshotRecord,
    encode_snapshot_record,
    parse_snapshot_record,
)
from jitscope.wasm.instructions import IDENTITY, Remap, callees, translate
from jitscope.wasm.leb128 import Cursor, DecodeError, sleb, uleb
from jitscope.wasm.names import encode_name_map, name_map
from jitscope.wasm.sections import encode_name, header_problem


@given(st.integers(min_value=0, max_value=(1 << 64) - 1), st.integers(min_value=0, max_value=10))
def test_uleb_round_trips_at_any_width(n, width):
    data = uleb(n, width)
    assert len(data) >= width
    c = Cursor(data)
    assert c.uleb() == n and c.done()


@given(st.integers(min_value=-(1 << 63), max_value=(1 << 63) - 1))
def test_sleb_round_trips(n):
    c = Cursor(sleb(n))
    assert c.sleb() == n and c.done()


def test_cursor_errors_name_the_offset():
    with pytest.raises(DecodeError, match="truncated section size LEB128 at offset 0x1"):
        Cursor(b"\x00\x80", 1).uleb(32, "section size")
    with pytest.raises(DecodeError, match="overflows u32"):
        Cursor(uleb(1 << 32)).uleb(32)
    with pytest.raises(DecodeError, match="too long"):
        Cursor(b"\x80" * 12 + b"\x00").uleb()


@pytest.mark.parametrize(
    "data, problem",
    [
        (b"\0asm\x01\0\0\0", None),
        (b"\0as", "truncated header"),
        (b"hello world", "not a wasm binary"),
        (b"\0asm\x0d\0\x01\0", "is a wasm component"),
        (b"\0asm\x02\0\0\0", "unsupported version 02000000"),
    ],
)
def test_one_header_check(data, problem):
    got = header_problem(data)
    assert got is None if problem is None else problem in got


def test_the_snapshot_record_round_trips():
    record = SnapshotRecord(
        3,
        (BakedSlot(40, 900, 2, 1, "fib"), BakedSlot(41, 901, 5, 3, "λ")),
        {1: "<repl 1>", 7: "fib.scm"},
        {7: "(define (fib n) n) ; \udcff not UTF-8, kept byte for byte"},
    )
    encoded = encode_snapshot_record(record)
    assert parse_snapshot_record(encoded) == record
    with pytest.raises(DecodeError, match="left over"):
        parse_snapshot_record(encoded + b"\x00")
    # Version 1 (before source texts) is still read: the same record without them.
    v1 = b"\x01" + encoded[1 : encoded.rindex(b"\x01\x07")]
    assert parse_snapshot_record(v1) == SnapshotRecord(3, record.slots, record.sources)


def test_name_maps_round_trip():
    names = {0: "main", 5: "fib", 300: "a b"}
    assert name_map(encode_name_map({i: encode_name(n) for i, n in names.items()})) == names


def test_callees_lists_direct_calls_only():
    # no locals; call 3, i32.const 16 (the byte of call), return_call 9, end
    body = bytes([0x00, 0x10, 0x03, 0x41, 0x10, 0x1A, 0x12, 0x09, 0x0B])
    assert callees(body, 0, len(body), "f") == {3, 9}


def test_the_decoder_does_not_mistake_immediates_for_opcodes():
    # i32.const 0x11 (the byte of call_indirect), call 0x10, i64.const with 0x10 bytes, end
    code = bytes([0x41, 0x11, 0x10, 0x00, 0x1A, 0x42, 0x90, 0x10, 0x1A, 0x0B])
    seen = []
    remap = Remap(
        func=lambda i: seen.append(i) or 300,
        type=lambda i: 1000 + i,
        table=lambda i: i,
        memory=lambda i: i,
        global_=lambda i: i,
    )
    out, end = translate(code, 0, len(code), remap, "f")
    assert end == len(code) and seen == [0]
    assert out == bytes([0x41, 0x11, 0x10, 0xAC, 0x02, 0x1A, 0x42, 0x90, 0x10, 0x1A, 0x0B])
    # call_indirect's type is renumbered; its table stays
    out, _ = translate(bytes([0x11, 0x02, 0x00, 0x0B]), 0, 4, remap, "f")
    assert out == bytes([0x11, 0xEA, 0x07, 0x00, 0x0B])


@pytest.mark.parametrize(
    "code, message",
    [
        (bytes([0xFD, 0x0C]), r"opcode 0xfd \(the SIMD prefix\)"),
        (bytes([0xFC, 0x08, 0x00, 0x00]), r"0xfc 8 \(memory.init\)"),
        (bytes([0x27]), r"unknown opcode 0x27"),
        (bytes([0x41]), r"truncated"),
        (bytes([0x01, 0x01]), r"run past the end"),
    ],
)
def test_the_decoder_names_what_it_cannot_relocate(code, message):
    with pytest.raises(DecodeError, match=message):
        translate(code, 0, len(code), IDENTITY, "JIT module 9: function 0 (f)")
