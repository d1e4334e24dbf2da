"""What the TUI keeps between runs: the theme, in ``settings.toml`` in the user's config
directory (``$JITSCOPE_SETTINGS`` names another file)."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

import platformdirs

from jitscope.runtime.files import write_atomic

__all__ = ["default_settings_path", "load_theme", "save_theme"]


def default_settings_path() -> Path:
    override = os.environ.get("JITSCOPE_SETTINGS")
    if override:
        return Path(override)
    return platformdirs.user_config_path("jitscope") / "settings.toml"


def load_theme(path: Path | None) -> tuple[str | None, str | None]:
    """(the saved theme or None, a warning when the file is there but unreadable)."""
    if path is None or not path.exists():
        return None, None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        return None, f"{path}: not used ({e})"
    theme = data.get("theme")
    if theme is not None and not isinstance(theme, str):
        return None, f"{path}: theme should be a string, not {type(theme).__name__}"
    return theme, None


def save_theme(path: Path | None, theme: str) -> str | None:
    """Keep ``theme`` for the next run; the error in words if the file cannot be written."""
    if path is None:
        return None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, f"theme = {json.dumps(theme)}\n")  # a JSON string is a TOML one
    except OSError as e:
        return f"could not keep the theme in {path}: {e.strerror or e}"
    return None
