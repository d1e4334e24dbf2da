"""Hatch build hook: compile the interpreter to wasm while building a wheel.

Runs for standard and editable wheels alike, so ``pip install -e .`` on a fresh clone leaves
``jitscope/data/interplib.wasm`` in the source tree (which the editable install's path entry
points at) and a regular wheel carries it as an artifact. The build logic is
``jitscope/buildwasm.py``, loaded by file path because the ``jitscope`` package's own runtime
dependencies are not installed in the isolated build environment.

Set ``JITSCOPE_NATIVE_SRC`` to build another C++ file instead of ``native/interp.cc``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


def _load_buildwasm(root: Path) -> Any:
    path = root / "jitscope" / "buildwasm.py"
    spec = importlib.util.spec_from_file_location("jitscope_buildwasm", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


class CustomBuildHook(BuildHookInterface):
    """Builds interplib.wasm before hatchling collects the wheel's files."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        root = Path(self.root)
        bw = _load_buildwasm(root)
        out = root / "jitscope" / "data" / "interplib.wasm"
        try:
            bw.build_wasm(bw.default_source(), out, log=self.app.display_info)
        except bw.BuildError as exc:
            self.app.abort(f"jitscope: building interplib.wasm failed: {exc}")
            raise  # abort() exits; this is for type checkers and unusual apps
        # The file is git-ignored, so hatchling would leave it out without this.
        build_data["artifacts"].append("jitscope/data/interplib.wasm")
