"""Guards that keep the layers as DESIGN.md draws them: data flows front end → operations →
runtime → codec, and nothing below imports what is above it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "jitscope"

# What each layer must never import (module prefixes).
FORBIDDEN = {
    "wasm": (
        "wasmtime",
        "textual",
        "rich",
        "jitscope.runtime",
        "jitscope.debugger",
        "jitscope.cli",
        "jitscope.tui",
    ),
    "runtime": ("textual", "rich", "jitscope.debugger", "jitscope.cli", "jitscope.tui"),
    "debugger": ("textual", "rich", "jitscope.cli", "jitscope.tui"),
    "tui": ("jitscope.cli",),
}


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(layer):
    bad = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        for name in sorted(imports_of(path)):
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN[layer]):
                bad.append(f"{path.relative_to(PACKAGE.parent)} imports {name}")
    assert not bad, "\n".join(bad)


def test_the_guard_sees_imports():
    # The guard itself must be able to fail: the TUI does import Textual.
    assert "textual.app" in imports_of(PACKAGE / "tui" / "app.py")
