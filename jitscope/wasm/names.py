"""The ``name`` section: function (and other) names by index."""

from __future__ import annotations

from jitscope.wasm.leb128 import Cursor, DecodeError, uleb
from jitscope.wasm.sections import custom_section, encode_name, encode_section, sections

__all__ = [
    "encode_name_map",
    "function_names",
    "name_map",
    "name_subsections",
    "without_module_name",
]

MODULE, FUNCTIONS, LOCALS, GLOBALS, DATA_SEGMENTS = 0, 1, 2, 7, 9


def name_subsections(payload: bytes) -> dict[int, bytes]:
    """The subsections of a ``name`` section's payload, by id (1 functions, 2 locals, ...).
    Raises DecodeError where the framing breaks."""
    subs: dict[int, bytes] = {}
    c = Cursor(payload)
    while not c.done():
        sub = c.u8()
        size = c.uleb(32)
        end = c.pos + size
        if end > len(payload):
            raise DecodeError(f"name subsection {sub} at offset 0x{c.pos:x} runs past the section")
        subs[sub] = payload[c.pos : end]
        c.pos = end
    return subs


def name_map(subsection: bytes) -> dict[int, str]:
    """A name map (index → name), as subsections 1 (functions) and 7 (globals) hold."""
    c = Cursor(subsection)
    names: dict[int, str] = {}
    for _ in range(c.uleb(32)):
        index = c.uleb(32)
        names[index] = c.name()
    return names


def encode_name_map(entries: dict[int, bytes]) -> bytes:
    """A name map from already encoded entries (a name, or an inner map), in index order."""
    return uleb(len(entries)) + b"".join(uleb(i) + entries[i] for i in sorted(entries))


def function_names(wasm: bytes) -> dict[int, str]:
    """Function index to name, from the ``name`` section (empty when there is none)."""
    payload = custom_section(wasm, "name")
    if payload is None:
        return {}
    functions = name_subsections(payload).get(FUNCTIONS)
    return name_map(functions) if functions is not None else {}


def without_module_name(wasm: bytes) -> bytes:
    """``wasm`` with its ``name`` section's module name left out: two modules that differ only
    in what they are called compare equal.  Raises DecodeError where the framing breaks."""
    for s in sections(wasm):
        if s.is_custom and s.name == "name":
            subs = name_subsections(bytes(wasm[s.offset : s.end]))
            if MODULE not in subs:
                return bytes(wasm)
            payload = b"".join(
                bytes([k]) + uleb(len(v)) + v for k, v in subs.items() if k != MODULE
            )
            section = encode_section(0, encode_name("name") + payload)
            return bytes(wasm[: s.header_offset]) + section + bytes(wasm[s.end :])
    return bytes(wasm)
