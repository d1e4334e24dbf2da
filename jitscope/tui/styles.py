"""Colours that follow the app theme: Rich styles for table cells, Content for WAT.

Table cells are Rich renderables, which need concrete colours, so :class:`Palette` reads them
from the current theme's variables and panes rebuild their rows when the theme changes. WAT is
highlighted into :class:`~textual.content.Content` whose spans name theme variables
(``$text-accent``), resolved at render time; the ``$text-*`` variants are the ones each theme
tunes for contrast against its background, which keeps WAT readable in light and dark themes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from pygments.token import Comment, Keyword, Name, Number, Operator, Punctuation, String, Token
from rich.style import Style
from textual.content import Content, Span

from jitscope.tui.wat_lexer import WatPlusLexer

__all__ = ["Palette", "function_lines", "highlight_wat"]


def _style(
    variables: Mapping[str, str],
    name: str,
    fallback: str,
    *,
    bold: bool | None = None,
    italic: bool | None = None,
    dim: bool | None = None,
) -> Style:
    value = variables.get(name, fallback)
    if not re.fullmatch(r"#[0-9A-Fa-f]{6}", value):  # "auto 60%" and alpha colours
        value = fallback
    return Style(color=value, bold=bold, italic=italic, dim=dim)


@dataclass(frozen=True, slots=True)
class Palette:
    """Rich styles for the tables, taken from the current theme."""

    interp: Style
    jit: Style
    accent: Style
    primary: Style
    error: Style
    changed: Style  # row background for what the last step changed
    muted: Style

    @classmethod
    def from_variables(cls, v: Mapping[str, str]) -> Palette:
        bg = v.get("success-muted", "#24452E")
        if not re.fullmatch(r"#[0-9A-Fa-f]{6}", bg):
            bg = "#24452E"
        return cls(
            interp=_style(v, "text-warning", "#FFC473"),
            jit=_style(v, "text-success", "#8AD4A1"),
            accent=_style(v, "text-accent", "#FFC473"),
            primary=_style(v, "text-primary", "#57A5E2"),
            error=_style(v, "text-error", "#D17E92"),
            changed=Style(bgcolor=bg, bold=True),
            muted=Style(dim=True),
        )


# Token → Content style. Instructions (the bulk) stay in the foreground colour; structure,
# names and constants carry the colour, so the eye finds `func $fib` and the addresses.
_WAT_STYLES: dict[object, str] = {
    Comment: "$text-muted italic",
    Keyword: "$text-primary bold",
    Keyword.Type: "$text-secondary",
    Name.Builtin: "$text",
    Name.Variable: "$text-success",
    Name.Decorator: "$text-accent",
    Name.Attribute: "$text-accent",
    Number: "$text-warning",
    String: "$text-success italic",
    Operator: "$text-muted",
    Punctuation: "$text-muted",
}


def _wat_style(token: object) -> str:
    t = token
    while t is not None and t is not Token:
        if (style := _WAT_STYLES.get(t)) is not None:
            return style
        t = t.parent  # type: ignore[attr-defined]
    return ""


def highlight_wat(text: str, marked_lines: frozenset[int] = frozenset()) -> Content:
    """WAT as theme-aware Content; ``marked_lines`` (0-based) get a highlighted background."""
    lexer = WatPlusLexer(stripnl=False, ensurenl=False)
    spans: list[Span] = []
    for start, token, value in lexer.get_tokens_unprocessed(text):
        if value and (style := _wat_style(token)):
            spans.append(Span(start, start + len(value), style))
    if marked_lines:
        offset = 0
        for number, line in enumerate(text.split("\n")):
            if number in marked_lines:
                spans.append(Span(offset, offset + len(line), "on $accent 25%"))
            offset += len(line) + 1
    return Content(text, spans=spans)


_FUNC_LINE = re.compile(r"^\s*\(func (\$(?:\"(?:[^\"\\]|\\.)*\"|\S+))")


def function_lines(wat: str) -> dict[str, int]:
    """``{"fib": line}`` for every ``(func $name`` in ``wat`` (0-based lines)."""
    out: dict[str, int] = {}
    for number, line in enumerate(wat.split("\n")):
        if m := _FUNC_LINE.match(line):
            name = m.group(1)[1:]
            if name.startswith('"'):
                name = name[1:-1]
            out.setdefault(name, number)
    return out
