"""Module framing: the header, the sections, custom sections; and encoders for sections."""

from __future__ import annotations

from dataclasses import dataclass

from jitscope.wasm.leb128 import Cursor, DecodeError, uleb

__all__ = [
    "MAGIC",
    "MODULE_VERSION",
    "SECTION_NAMES",
    "VALTYPES",
    "Section",
    "custom_section",
    "encode_name",
    "encode_section",
    "encode_vec",
    "header_problem",
    "sections",
]

MAGIC = b"\0asm"
MODULE_VERSION = b"\x01\x00\x00\x00"

#: Names of the known section ids, spelled as ``wasm-tools objdump`` spells them so the two
#: listings read alike.
SECTION_NAMES: dict[int, str] = {
    0: "custom",
    1: "types",
    2: "imports",
    3: "functions",
    4: "tables",
    5: "memories",
    6: "globals",
    7: "exports",
    8: "start",
    9: "elements",
    10: "code",
    11: "data",
    12: "data count",
    13: "tags",
}

#: Value types by their binary code.
VALTYPES = {
    0x7F: "i32",
    0x7E: "i64",
    0x7D: "f32",
    0x7C: "f64",
    0x7B: "v128",
    0x70: "funcref",
    0x6F: "externref",
}


def header_problem(data: bytes) -> str | None:
    """What is wrong with the first 8 bytes of a would-be core module, or None: the one check
    of magic and version that every reader makes."""
    if len(data) < 8 and MAGIC.startswith(data[:4]):
        return f"truncated header: {len(data)} bytes, a module starts with 8"
    if data[:4] != MAGIC:
        return f"not a wasm binary: bad magic {data[:4]!r} at offset 0x0, expected {MAGIC!r}"
    if data[4:8] != MODULE_VERSION:
        kind = "this is a wasm component; " if data[6:8] == b"\x01\x00" else ""
        return (
            f"unsupported version {data[4:8].hex()} at offset 0x4: {kind}jitscope reads "
            "core modules (version 1)"
        )
    return None


@dataclass(frozen=True, slots=True)
class Section:
    """One section of a module binary.

    ``offset`` and ``size`` cover the section's payload, as ``wasm-tools objdump`` reports it:
    for a custom section that is the data after its name. ``header_offset`` is where the section
    id byte sits, so ``header_offset .. end`` is the whole section as stored.
    """

    id: int
    name: str
    offset: int
    size: int
    header_offset: int

    @property
    def end(self) -> int:
        """One past the last byte of the payload."""
        return self.offset + self.size

    @property
    def is_custom(self) -> bool:
        return self.id == 0


def sections(wasm: bytes) -> list[Section]:
    """Walk the section headers of a core module binary; nothing validated.

    Only the framing is checked (magic, version, LEB lengths, sections within the file);
    raises :class:`DecodeError` naming the offset where the framing breaks.
    """
    data = bytes(wasm)
    problem = header_problem(data)
    if problem is not None:
        raise DecodeError(problem)
    found: list[Section] = []
    c = Cursor(data, 8)
    while not c.done():
        header = c.pos
        section_id = c.u8()
        size = c.uleb(32, "section size")
        payload = c.pos
        end = payload + size
        if end > len(data):
            raise DecodeError(
                f"section {section_id} at offset 0x{header:x} claims {size} bytes but only "
                f"{len(data) - payload} remain"
            )
        if section_id == 0:
            name_len = c.uleb(32, "custom section name length")
            name_end = c.pos + name_len
            if name_end > end:
                raise DecodeError(
                    f"custom section name at offset 0x{c.pos:x} runs past its section end 0x{end:x}"
                )
            try:
                name = data[c.pos : name_end].decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DecodeError(
                    f"custom section name at offset 0x{c.pos:x} is not UTF-8"
                ) from exc
            found.append(Section(0, name, name_end, end - name_end, header))
        else:
            name = SECTION_NAMES.get(section_id, f"unknown {section_id}")
            found.append(Section(section_id, name, payload, size, header))
        c.pos = end
    return found


def custom_section(wasm: bytes, name: str) -> bytes | None:
    """The payload of the first custom section called ``name``, if any."""
    for s in sections(wasm):
        if s.is_custom and s.name == name:
            return bytes(wasm[s.offset : s.end])
    return None


def encode_name(s: str) -> bytes:
    b = s.encode("utf-8")
    return uleb(len(b)) + b


def encode_vec(items: list[bytes]) -> bytes:
    return uleb(len(items)) + b"".join(items)


def encode_section(sid: int, payload: bytes) -> bytes:
    return bytes([sid]) + uleb(len(payload)) + payload
