"""REPL input history, kept across runs in the user's data directory.

The file is JSON (a list of strings: entries may span lines). It is written atomically, a
temporary file in the same directory renamed over the old one, so a crash mid-write never
leaves half a history. A file that cannot be read back is moved aside, not deleted, and the
REPL starts empty with a warning.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import platformdirs

from jitscope.runtime.files import write_atomic

__all__ = ["History", "default_history_path"]

#: Entries kept on disk; older ones are dropped.
MAX_ENTRIES = 1000


def default_history_path() -> Path:
    """``$JITSCOPE_HISTORY``, else ``history.json`` in the platform's user data directory."""
    override = os.environ.get("JITSCOPE_HISTORY")
    if override:
        return Path(override).expanduser()
    return platformdirs.user_data_path("jitscope") / "history.json"


class History:
    """A list of past inputs with a cursor for up/down browsing."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: list[str] = []
        self.warning: str | None = None  # set when loading had to give up on the file
        self._cursor = 0
        self._draft = ""

    # ----------------------------------------------------------------------------- disk

    def load(self) -> None:
        """Read the file; a corrupt one is renamed to ``*.corrupt-<time>`` and reported."""
        self.entries = []
        if self.path is None or not self.path.exists():
            self.reset_cursor()
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(data, list) or not all(isinstance(e, str) for e in data):
                raise ValueError("not a list of strings")
            self.entries = data[-MAX_ENTRIES:]
        # JSONDecodeError and UnicodeDecodeError included; RecursionError for [[[[…]]]]
        except (OSError, ValueError, RecursionError) as e:
            aside = self.path.with_name(
                f"{self.path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}"
            )
            try:
                self.path.replace(aside)
                where = f"moved to {aside}"
            except OSError:
                where = "left in place"
            self.warning = f"history file {self.path} unreadable ({e}); {where}, starting afresh"
        self.reset_cursor()

    def save(self) -> None:
        """Write atomically: temp file beside the target, fsync, rename over it."""
        if self.path is None:
            return
        text = json.dumps(self.entries[-MAX_ENTRIES:], ensure_ascii=False, indent=0)
        self.path.parent.mkdir(parents=True, exist_ok=True)  # the data directory, first time
        write_atomic(self.path, text)

    # ----------------------------------------------------------------------------- browsing

    def add(self, entry: str) -> None:
        entry = entry.strip()
        if entry and (not self.entries or self.entries[-1] != entry):
            self.entries.append(entry)
            del self.entries[:-MAX_ENTRIES]
        self.reset_cursor()

    def reset_cursor(self) -> None:
        self._cursor = len(self.entries)
        self._draft = ""

    def previous(self, current: str) -> str | None:
        """The entry before the cursor (remembering ``current`` as the draft), or None."""
        if self._cursor == 0:
            return None
        if self._cursor == len(self.entries):
            self._draft = current
        self._cursor -= 1
        return self.entries[self._cursor]

    def next(self) -> str | None:
        """The entry after the cursor, the draft past the newest, or None at the draft."""
        if self._cursor >= len(self.entries):
            return None
        self._cursor += 1
        if self._cursor == len(self.entries):
            return self._draft
        return self.entries[self._cursor]
