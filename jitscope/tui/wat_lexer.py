"""A pygments lexer for the WAT that ``wasm-tools print`` writes.

pygments' stock :class:`~pygments.lexers.webassembly.WatLexer` knows the MVP instruction set
and plain ``$names``. The modules jitscope shows come from ``wasm-tools print`` and contain
more, which the stock lexer marks as ``Token.Error`` (drawn as red boxes in the WAT pane):

* quoted identifiers, ``$"a b"`` or ``$"fib jit"``, for names that are not valid bare ids;
* annotations: ``(@producers (processed-by "clang" "19") ...)`` and
  ``(@custom "jitscope.patches" (after code) "\\01...")``, the form custom sections print in;
* keywords and instructions added after the MVP: ``declare``, ``v128``, ``memory.fill``,
  ``table.grow``, ``ref.null``, ``return_call``, SIMD shapes like ``i32x4``, and others;
* instructions that merely start like an MVP one (``return_call`` lexed as ``return`` and an
  error, ``i32x4.add`` as ``i32`` and an error), since the stock rules have no word boundary.

It also fixes the stock number rules, whose unescaped ``.`` makes ``1048576`` a float. Rather
than list every proposal's instructions, any keyword-shaped word (the spec's ``keyword``
token: a lowercase letter then idchars) is accepted and classified: structure words as
``Keyword``, value and heap types as ``Keyword.Type``, everything else as an instruction
(``Name.Builtin``). Only characters that cannot start any WAT token remain errors, so
:func:`highlight_errors` on wasm-tools output is empty and a regression is easy to spot.
"""

from __future__ import annotations

from collections.abc import Iterator
from re import Match
from typing import Any, ClassVar

from pygments.lexer import Lexer, bygroups, inherit
from pygments.lexers.webassembly import WatLexer
from pygments.token import (
    Comment,
    Error,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Text,
)

__all__ = ["WatPlusLexer", "highlight_errors"]

# The spec's idchar: what may follow `$` in an identifier or continue a keyword.
_IDCHAR = r"[0-9A-Za-z!#$%&'*+\-./:<=>?@\\^_`|~]"
_END = rf"(?!{_IDCHAR})"  # a token ends where no idchar follows
_DEC = r"\d(?:_?\d)*"
_HEX = r"[0-9A-Fa-f](?:_?[0-9A-Fa-f])*"

# fmt: off
STRUCTURE_KEYWORDS = frozenset((
    "module", "import", "export", "func", "type", "param", "result", "local", "global", "mut",
    "memory", "table", "elem", "data", "start", "tag", "declare", "item", "offset", "shared",
    "pagesize", "rec", "sub", "final", "field", "struct", "array", "ref", "null", "exact",
    "if", "then", "else", "end", "block", "loop", "try", "try_table", "catch", "catch_ref",
    "catch_all", "catch_all_ref", "delegate", "do", "after", "before", "binary", "quote",
    "definition", "instance", "component", "core",
))
"""Words that shape a module rather than compute; highlighted as ``Keyword``."""

TYPE_KEYWORDS = frozenset((
    "i8", "i16", "i32", "i64", "f32", "f64", "v128",
    "i8x16", "i16x8", "i32x4", "i64x2", "f32x4", "f64x2",
    "funcref", "externref", "anyref", "eqref", "i31ref", "structref", "arrayref", "exnref",
    "nullref", "nullfuncref", "nullexternref", "nullexnref",
    "extern", "any", "eq", "i31", "exn", "none", "noextern", "nofunc", "noexn", "cont", "nocont",
))
"""Value, shape and heap types; highlighted as ``Keyword.Type``."""
# fmt: on


def _keyword(lexer: Lexer, match: Match[str]) -> Iterator[tuple[int, Any, str]]:
    word = match.group()
    if word in STRUCTURE_KEYWORDS:
        token = Keyword
    elif word in TYPE_KEYWORDS:
        token = Keyword.Type
    else:
        token = Name.Builtin  # an instruction, from any proposal
    yield match.start(), token, word


# Rules shared by the top level and the inside of annotations.
_COMMON = [
    (r"\s+", Text),
    (r";;.*?$", Comment.Single),
    (r"\(;", Comment.Multiline, "nesting_comment"),
    (r'\$"(?:[^"\\]|\\.)*"', Name.Variable),  # quoted identifier: $"fib jit"
    (rf"\${_IDCHAR}+", Name.Variable),
    (r'"', String.Double, "string"),
    # Numbers, longest forms first; each must end at a token boundary.
    (rf"[+-]?0x{_HEX}(?:\.(?:{_HEX})?)?[pP][+-]?{_DEC}{_END}", Number.Float),
    (rf"[+-]?0x{_HEX}\.(?:{_HEX})?{_END}", Number.Float),
    (rf"[+-]?{_DEC}(?:\.(?:{_DEC})?)?[eE][+-]?{_DEC}{_END}", Number.Float),
    (rf"[+-]?{_DEC}\.(?:{_DEC})?{_END}", Number.Float),
    (rf"[+-]?(?:inf|nan(?::0x{_HEX}|:canonical|:arithmetic)?){_END}", Number.Float),
    (rf"[+-]?0x{_HEX}{_END}", Number.Hex),
    (rf"[+-]?{_DEC}{_END}", Number.Integer),
    # Memory arguments and the like: offset=16, align=0x4.
    (
        rf"([a-z][0-9a-z_]*)(=)(0x{_HEX}|{_DEC}){_END}",
        bygroups(Keyword, Operator, Number.Integer),
    ),
]


class WatPlusLexer(WatLexer):
    """:class:`WatLexer` extended to everything ``wasm-tools print`` emits (see module doc)."""

    name = "WebAssembly (wasm-tools)"
    aliases: ClassVar[list[str]] = ["wat-wasm-tools"]
    filenames: ClassVar[list[str]] = []
    url = "https://github.com/bytecodealliance/wasm-tools"

    tokens: ClassVar[dict[str, list[Any]]] = {
        "root": [
            # An annotation `(@name ...)`: its words are data, not instructions.
            (rf"(\()(@{_IDCHAR}+)", bygroups(Punctuation, Name.Decorator), "annotation"),
            *_COMMON,
            (rf"[a-z]{_IDCHAR}*", _keyword),
            inherit,
        ],
        "annotation": [
            *_COMMON,
            (rf"(\()(@{_IDCHAR}+)", bygroups(Punctuation, Name.Decorator), "annotation"),
            (r"\(", Punctuation, "annotation_group"),
            (r"\)", Punctuation, "#pop"),
            (rf"[a-z]{_IDCHAR}*", Name.Attribute),
            (r"[^\s()\";$]+", Text),  # annotations may hold any token; none of it is an error
        ],
        "annotation_group": [
            *_COMMON,
            (r"\)", Punctuation, "#pop"),
            (r"\(", Punctuation, "#push"),
            (rf"[a-z]{_IDCHAR}*", Name.Attribute),
            (r"[^\s()\";$]+", Text),
        ],
    }


def highlight_errors(text: str) -> list[tuple[int, str]]:
    """``(offset, text)`` of every ``Token.Error`` that :class:`WatPlusLexer` yields.

    Empty for anything ``wasm-tools print`` writes; tests use it to catch lexer gaps.
    """
    lexer = WatPlusLexer(stripnl=False, ensurenl=False)
    return [
        (pos, value) for pos, token, value in lexer.get_tokens_unprocessed(text) if token in Error
    ]
