"""Tests for jitscope.runtime.wat (wasm-tools wrapper, section walker) and the WAT lexer.

Modules are made from WAT text with `wasm-tools parse` (on stdin), so nothing here needs the
interpreter from native/.
"""

from __future__ import annotations

import itertools
import random
import re
import subprocess

import pytest
from pygments.lexers.webassembly import WatLexer
from pygments.token import Error

from jitscope.tui.wat_lexer import WatPlusLexer, highlight_errors
from jitscope.wasm import tools
from jitscope.wasm.sections import sections as wasm_sections

# Shaped like a JIT module: imports memory and table, names with odd characters, a custom
# section, a producers section, a data segment and post-MVP instructions.
JIT_LIKE_WAT = r"""
(module $"jit module 1"
  (import "env" "memory" (memory 1))
  (import "env" "__indirect_function_table" (table $tbl 1 funcref))
  (type $t (func (param i32) (result i32)))
  (func $fib (export "fib") (type $t)
    local.get 0
    i32.const 2
    i32.lt_s
    if (result i32)
      local.get 0
    else
      local.get 0
      i32.const 1
      i32.sub
      call $"fib jit"
      local.get 0
      i32.const 2
      i32.sub
      call $fib
      i32.add
    end)
  (func $"fib jit" (type $t) local.get 0)
  (func $loop-1 (param $"a b" i32) (result i32) (local $x f64)
    f64.const 0x1.8p+1
    local.set $x
    i32.const 0 i32.const 0 i32.const 16 memory.fill
    ref.func $fib i32.const 1 table.grow $tbl drop
    i32.const 0 i32.load8_u offset=4 drop
    i32.const 1048576
    return_call $fib)
  (elem declare func $fib)
  (data (i32.const 1024) "hi\00\ff")
  (@custom "jitscope.patches" (after code) "\01\02\03\04")
  (@producers (language "Scheme" "") (processed-by "jitscope" "0.1.0")))
"""


def parse_wat(text: str) -> bytes:
    """WAT text to a binary with the same wasm-tools the code under test runs."""
    proc = subprocess.run(
        [str(tools.wasm_tools()), "parse", "-"],
        input=text.encode(),
        capture_output=True,
        check=True,
    )
    return proc.stdout


@pytest.fixture(scope="module")
def jit_like() -> bytes:
    return parse_wat(JIT_LIKE_WAT)


_OBJDUMP_LINE = re.compile(
    r'^\s*(?:custom "(?P<custom>.*)"|(?P<name>[a-z][a-z ]*?))\s*\|'
    r"\s*0x(?P<start>[0-9a-f]+) -\s*0x(?P<end>[0-9a-f]+) \|\s*(?P<size>\d+) bytes"
)


def objdump_sections(wasm: bytes) -> list[tuple[str, int, int]]:
    """(name, offset, size) per section line of `wasm-tools objdump`."""
    rows = []
    for line in tools.objdump(wasm).splitlines():
        m = _OBJDUMP_LINE.match(line)
        assert m, f"unexpected objdump line: {line!r}"
        name = m["custom"] if m["custom"] is not None else m["name"]
        start, end, size = int(m["start"], 16), int(m["end"], 16), int(m["size"])
        assert end - start == size
        rows.append((name, start, size))
    return rows


# --- validate -----------------------------------------------------------------------------


def test_validate_accepts_a_good_module(jit_like: bytes) -> None:
    tools.validate(jit_like)  # no exception


def test_validate_rejects_an_ill_typed_module_with_wasm_tools_reason() -> None:
    # `wasm-tools parse` does not validate, so this makes a well-formed but invalid binary.
    bad = parse_wat("(module (func $f (result i32) i64.const 1))")
    with pytest.raises(tools.WasmToolsError) as info:
        tools.validate(bad)
    message = str(info.value)
    assert "type mismatch" in message
    assert "offset 0x" in message
    assert info.value.returncode not in (None, 0)


def test_validate_rejects_corrupt_bytes(jit_like: bytes) -> None:
    with pytest.raises(tools.WasmToolsError, match="unexpected end-of-file"):
        tools.validate(jit_like[:40])
    corrupt = bytearray(jit_like)
    code = next(s for s in wasm_sections(jit_like) if s.name == "code")
    corrupt[code.end - 2] = 0xFF  # an opcode byte that no proposal defines on its own
    with pytest.raises(tools.WasmToolsError, match="failed to validate|illegal opcode|unknown"):
        tools.validate(bytes(corrupt))


def test_text_input_is_refused_not_parsed_as_wat() -> None:
    # wasm-tools would happily read WAT text; a debugger must say the bytes are not a module.
    with pytest.raises(tools.WasmToolsError, match="not a wasm binary"):
        tools.validate(b"(module)")


# --- print and objdump --------------------------------------------------------------------


def test_print_wat_uses_the_name_section(jit_like: bytes) -> None:
    text = tools.print_wat(jit_like)
    assert text.startswith('(module $"jit module 1"')
    assert '(func $"fib jit"' in text
    assert "call $fib" in text
    assert "(@producers" in text
    assert '(@custom "jitscope.patches"' in text
    assert "\x1b[" not in text  # no colour codes


def test_print_wat_name_unnamed_synthesizes_names() -> None:
    module = parse_wat("(module (func (param i32)) (func call 0))")
    assert "$" not in tools.print_wat(module)
    assert "call $#func0" in tools.print_wat(module, name_unnamed=True)


def test_objdump_lists_custom_sections(jit_like: bytes) -> None:
    names = [name for name, _, _ in objdump_sections(jit_like)]
    assert {"jitscope.patches", "producers", "name", "code", "imports"} <= set(names)


# --- section_sizes ------------------------------------------------------------------------


def test_section_sizes_agrees_with_objdump(jit_like: bytes) -> None:
    ours = [(s.name, s.offset, s.size) for s in wasm_sections(jit_like)]
    assert ours == objdump_sections(jit_like)


@pytest.mark.parametrize("seed", range(6))
def test_section_sizes_agrees_with_objdump_on_random_modules(seed: int) -> None:
    module = _smith(seed, "--generate-custom-sections", "true", "--min-uleb-size", "2")
    ours = [(s.name, s.offset, s.size) for s in wasm_sections(module)]
    assert ours == objdump_sections(module)


def test_section_framing_covers_the_file(jit_like: bytes) -> None:
    sections = wasm_sections(jit_like)
    assert sections[0].header_offset == 8
    for before, after in itertools.pairwise(sections):
        assert before.end == after.header_offset
    assert sections[-1].end == len(jit_like)
    patches = next(s for s in sections if s.is_custom and s.name == "jitscope.patches")
    assert jit_like[patches.offset : patches.end] == b"\x01\x02\x03\x04"


def test_section_sizes_reads_padded_lebs() -> None:
    # A type section whose size (1) is spelled in five LEB bytes; legal, and emitted by
    # module builders that patch lengths in place.
    module = b"\0asm\x01\0\0\0" + b"\x01\x81\x80\x80\x80\x00" + b"\x00"
    [section] = wasm_sections(module)
    assert (section.id, section.name, section.offset, section.size) == (1, "types", 14, 1)
    assert objdump_sections(module) == [("types", 14, 1)]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\0as", "truncated header"),
        (b"\0asX\x01\0\0\0", r"bad magic .* offset 0x0"),
        (b"\0asm\x0d\0\x01\0", r"unsupported version .* offset 0x4"),
        (b"\0asm\x01\0\0\0\x01\x80", r"truncated section size LEB128 at offset 0x9"),
        (b"\0asm\x01\0\0\0\x01\x80\x80\x80\x80\x10", r"offset 0x9 overflows u32"),
        (b"\0asm\x01\0\0\0\x01\x05\x00", r"offset 0x8 claims 5 bytes but only 1 remain"),
        (b"\0asm\x01\0\0\0\x00\x02\x05a", r"custom section name at offset 0xb runs past"),
        (b"\0asm\x01\0\0\0\x00\x02\x01\xff", r"offset 0xb is not UTF-8"),
    ],
)
def test_section_sizes_rejects_malformed_framing(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        wasm_sections(data)


# --- the WAT lexer ------------------------------------------------------------------------


def test_stock_lexer_marks_wasm_tools_output_as_errors(jit_like: bytes) -> None:
    # Guards the premise: if pygments ever learns all this, WatPlusLexer can shrink.
    text = tools.print_wat(jit_like)
    stock = [v for _, t, v in WatLexer().get_tokens_unprocessed(text) if t in Error]
    assert stock


@pytest.mark.parametrize("options", [{}, {"name_unnamed": True}])
def test_lexer_has_no_errors_on_wasm_tools_output(jit_like: bytes, options: dict) -> None:
    text = tools.print_wat(jit_like, **options)
    assert highlight_errors(text) == []


def test_lexer_token_kinds(jit_like: bytes) -> None:
    text = tools.print_wat(jit_like)
    tokens = {(str(t), v) for _, t, v in WatPlusLexer().get_tokens_unprocessed(text)}
    assert ("Token.Name.Variable", '$"fib jit"') in tokens
    assert ("Token.Name.Variable", '$"a b"') in tokens
    assert ("Token.Name.Decorator", "@producers") in tokens
    assert ("Token.Name.Decorator", "@custom") in tokens
    assert ("Token.Name.Attribute", "processed-by") in tokens
    assert ("Token.Name.Builtin", "memory.fill") in tokens
    assert ("Token.Name.Builtin", "return_call") in tokens
    assert ("Token.Keyword", "declare") in tokens
    assert ("Token.Literal.Number.Integer", "1048576") in tokens  # the stock lexer: a float
    assert ("Token.Literal.Number.Float", "0x1.8p+1") in tokens
    assert ("Token.Comment.Multiline", "(;") in tokens  # (;0;) index comments
    assert ("Token.Comment.Single", ";; label = @1") in tokens
    assert ("Token.Keyword", "offset") in tokens


@pytest.mark.parametrize("seed", range(12))
def test_lexer_has_no_errors_on_random_modules(seed: int) -> None:
    features = (
        "--simd-enabled", "true", "--gc-enabled", "true", "--exceptions-enabled", "true",
        "--tail-call-enabled", "true", "--memory64-enabled", "true",
        "--generate-custom-sections", "true",
    )  # fmt: skip
    module = _smith(seed, *features)
    for text in (tools.print_wat(module), tools.print_wat(module, name_unnamed=True)):
        assert highlight_errors(text) == []


def test_highlight_errors_reports_positions() -> None:
    assert highlight_errors("(module §)") == [(8, "§")]


def _smith(seed: int, *options: str) -> bytes:
    """A random valid module from `wasm-tools smith`, deterministic for a given seed."""
    entropy = random.Random(seed).randbytes(4096)
    proc = subprocess.run(
        [str(tools.wasm_tools()), "smith", *options],
        input=entropy,
        capture_output=True,
        check=True,
    )
    return proc.stdout
