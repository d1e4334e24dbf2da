"""The command palette provider: every jitscope action by name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from jitscope.tui.app import JitscopeApp

__all__ = ["JitscopeCommands", "PaletteCommand"]


@dataclass(frozen=True, slots=True)
class PaletteCommand:
    name: str
    help: str
    callback: Callable[[], object]


class JitscopeCommands(Provider):
    """Offers :meth:`JitscopeApp.palette_commands`, which knows what applies right now."""

    def _commands(self) -> list[PaletteCommand]:
        return cast("JitscopeApp", self.app).palette_commands()

    async def discover(self) -> Hits:
        for c in self._commands():
            yield DiscoveryHit(c.name, c.callback, help=c.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for c in self._commands():
            if (score := matcher.match(c.name)) > 0:
                yield Hit(score, matcher.highlight(c.name), c.callback, help=c.help)
