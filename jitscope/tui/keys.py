"""Keys: the user's keymap file, and the key tables of the help screen, built from bindings.

Every binding has an id (``jit.step``, ``candidates.jit`` …).  A keymap file remaps them, as in
Posting: TOML in the platform's config directory (or ``$JITSCOPE_KEYMAP``)::

    [keys]
    "jit.step" = "f10"
    "candidates.jit" = "j,ctrl+j"

A file that cannot be read, or that names ids no binding has, costs only a warning.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import platformdirs
from textual.binding import Binding, BindingType

__all__ = ["KeyGroup", "default_keymap_path", "help_tables", "key_label", "load_keymap"]

KEYMAP_ENV = "JITSCOPE_KEYMAP"

_NAMES = {
    "escape": "esc",
    "enter": "⏎",
    "left_square_bracket": "[",
    "right_square_bracket": "]",
    "space": "space",
    "tab": "tab",
}


def default_keymap_path() -> Path:
    """``$JITSCOPE_KEYMAP``, else ``keymap.toml`` in the platform's user config directory."""
    override = os.environ.get(KEYMAP_ENV)
    if override:
        return Path(override).expanduser()
    return platformdirs.user_config_path("jitscope") / "keymap.toml"


def binding_ids(bindings: Iterable[BindingType]) -> set[str]:
    return {b.id for b in bindings if isinstance(b, Binding) and b.id}


def load_keymap(path: Path | None, known: set[str]) -> tuple[dict[str, str], str | None]:
    """The keymap in ``path`` (binding id -> keys) and a warning, if any; a missing file is an
    empty keymap without a warning."""
    if path is None or not path.exists():
        return {}, None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError) as e:
        return {}, f"keymap {path} not used: {e}"
    keys = data.get("keys", {})
    if not isinstance(keys, dict):
        return {}, f'keymap {path} not used: [keys] must be a table of binding id = "keys"'
    keymap = {k: v for k, v in keys.items() if isinstance(v, str) and v.strip()}
    bad = sorted(k for k in keys if k not in keymap)
    unknown = sorted(k for k in keymap if k not in known)
    for k in unknown:
        del keymap[k]
    problems = []
    if unknown:
        problems.append(f"no binding has the id {', '.join(unknown)}")
    if bad:
        problems.append(f"not a key string: {', '.join(bad)}")
    warning = f"keymap {path}: {'; '.join(problems)}" if problems else None
    return keymap, warning


def key_label(keys: str) -> str:
    """``left_square_bracket,f1`` -> ``[ / F1``: keys as the help and footer show them."""

    def one(key: str) -> str:
        *mods, name = key.strip().split("+")
        label = _NAMES.get(
            name, name.upper() if name.startswith("f") and name[1:].isdigit() else name
        )
        return "+".join([*mods, label])

    return " / ".join(one(k) for k in keys.split(","))


@dataclass(frozen=True, slots=True)
class KeyGroup:
    """One table of the help screen: a title and the bindings that make it."""

    title: str
    bindings: Sequence[BindingType]
    extra: Sequence[tuple[str, str]] = ()  # keys no Binding owns (Textual's, the widget's)


def help_tables(groups: Iterable[KeyGroup], keymap: Mapping[str, str]) -> str:
    """Markdown tables of every binding with a description, under the keys in force."""
    out = []
    for group in groups:
        rows = []
        for b in group.bindings:
            if not isinstance(b, Binding) or not b.description:
                continue
            keys = keymap.get(b.id or "", b.key)
            shown = b.key_display if b.key_display and keys == b.key else key_label(keys)
            rows.append((shown, b.tooltip or b.description))
        rows += list(group.extra)
        if rows:
            out.append(
                f"## {group.title}\n\n| key | does |\n|---|---|\n"
                + "".join(f"| {k} | {d} |\n" for k, d in rows)
            )
    return "\n".join(out)
