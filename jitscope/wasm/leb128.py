"""LEB128 numbers and length-prefixed names, read and written."""

from __future__ import annotations

__all__ = ["Cursor", "DecodeError", "sleb", "uleb"]


class DecodeError(ValueError):
    """A binary is malformed or uses something the codec does not support; the message names
    the offset (and the item) where it happened."""


class Cursor:
    """Reads LEB128 numbers and names from a byte string, naming the offset when it breaks."""

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    def u8(self) -> int:
        if self.pos >= self.end:
            raise DecodeError(f"truncated at offset 0x{self.pos:x}")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def uleb(self, max_bits: int = 64, what: str = "") -> int:
        """An unsigned LEB128 of at most ``max_bits``; ``what`` names it in errors."""
        start, result, shift = self.pos, 0, 0
        label = f"{what} LEB128" if what else "LEB128"
        while True:
            if self.pos >= self.end:
                raise DecodeError(f"truncated {label} at offset 0x{start:x}")
            b = self.data[self.pos]
            self.pos += 1
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                if result >> max_bits:
                    raise DecodeError(f"{label} at offset 0x{start:x} overflows u{max_bits}")
                return result
            shift += 7
            if shift >= max_bits + 7:
                raise DecodeError(f"{label} at offset 0x{start:x} is too long")

    def sleb(self) -> int:
        start, result, shift = self.pos, 0, 0
        while True:
            b = self.u8()
            result |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                if b & 0x40:
                    result -= 1 << shift
                return result
            if shift > 70:
                raise DecodeError(f"LEB128 at offset 0x{start:x} is too long")

    def name(self) -> str:
        return self.blob().decode("utf-8", "replace")

    def blob(self) -> bytes:
        """A uleb length, then that many bytes."""
        n = self.uleb(32)
        if self.pos + n > self.end:
            raise DecodeError(f"name at offset 0x{self.pos:x} runs past its section")
        b = bytes(self.data[self.pos : self.pos + n])
        self.pos += n
        return b

    def done(self) -> bool:
        return self.pos >= self.end


def uleb(n: int, width: int = 0) -> bytes:
    """Unsigned LEB128, padded with continuation bytes to at least ``width`` bytes."""
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n == 0 and len(out) + 1 >= width:
            out.append(byte)
            return bytes(out)
        out.append(byte | 0x80)


def sleb(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if (n == 0 and not byte & 0x40) or (n == -1 and byte & 0x40):
            out.append(byte)
            return bytes(out)
        out.append(byte | 0x80)
