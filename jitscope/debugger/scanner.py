"""Is a piece of typed text a whole input yet?  The reader's syntax, seen from the front ends.

The REPLs (``jitscope repl`` and the TUI's) keep reading lines while a form is open; this
scanner answers that question the way native/interp.cc's reader would read the text: strings,
``|symbols|``, ``;`` comments, nested ``#| |#`` block comments, ``#\\(`` characters, and prefixes that still
need their datum (``'`` `` ` `` ``,`` ``,@`` and the ``#;`` datum comment).
"""

from __future__ import annotations

__all__ = ["open_depth"]

_DELIMITERS = set("()[]\";'`, \t\n\r\f")
_QUOTE, _DATUM_COMMENT = "'", "#;"


def open_depth(text: str) -> int:
    """How open ``text`` is at its end: 0 when it is complete, the number of open lists (at
    least 1 inside a string or block comment, or after a prefix still waiting for its datum)
    while more must be read, negative after a stray closer (the reader reports it)."""
    depth = 0
    # Per open list (and the top level), prefixes still waiting for their datum.
    pending: list[list[str]] = [[]]
    i, n = 0, len(text)

    def datum_done() -> None:
        waiting = pending[-1]
        while waiting:
            if waiting.pop() == _DATUM_COMMENT:
                return  # the datum was skipped: it completes nothing below the comment

    while i < n:
        c = text[i]
        if c in " \t\n\r\f":
            i += 1
        elif c == ";":
            while i < n and text[i] != "\n":
                i += 1
        elif text.startswith("#|", i):
            nest, i = 1, i + 2
            while i < n and nest:
                if text.startswith("#|", i):
                    nest, i = nest + 1, i + 2
                elif text.startswith("|#", i):
                    nest, i = nest - 1, i + 2
                else:
                    i += 1
            if nest:
                return depth + 1
        elif text.startswith("#;", i):
            pending[-1].append(_DATUM_COMMENT)
            i += 2
        elif c in "'`,":
            pending[-1].append(_QUOTE)
            i += 2 if text.startswith(",@", i) else 1
        elif c in '"|':  # a string or a |symbol|, up to the unescaped closing quote
            i += 1
            while i < n and text[i] != c:
                i += 2 if text[i] == "\\" else 1
            if i >= n:
                return depth + 1
            i += 1
            datum_done()
        elif c in "([" or text.startswith("#(", i):
            i += 1 if c in "([" else 2
            depth += 1
            pending.append([])
        elif c in ")]":
            i += 1
            depth -= 1
            if depth < 0:
                return depth
            pending.pop()
            datum_done()
        else:  # an atom, up to a delimiter; #\x takes its first character whatever it is
            i += 3 if text.startswith("#\\", i) else 1
            while i < n and text[i] not in _DELIMITERS:
                i += 1
            datum_done()
    if depth == 0 and pending[0]:
        return 1
    return depth
