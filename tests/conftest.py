"""Shared fixtures: the bundled module is rebuilt when native/ changed (a no-op otherwise)."""

from __future__ import annotations

import pytest

from jitscope.buildwasm import build_wasm
from jitscope.runtime.session import Session


def pytest_configure(config: pytest.Config) -> None:
    build_wasm()


@pytest.fixture(scope="session")
def seed_only(request: pytest.FixtureRequest):
    """interplib.wasm built with only the seed's interface: once per checkout (the build is
    incremental, kept in pytest's cache directory), shared by every test that needs it."""
    out = request.config.cache.mkdir("seed-only") / "seedonly.wasm"
    return build_wasm(out=out, extra_flags=["-DJITSCOPE_SEED_ONLY"])


@pytest.fixture
def session():
    with Session() as s:
        yield s


def values(session: Session, source: str) -> list[str]:
    """Printed values of the non-definition forms; an error becomes 'error: KIND: message'."""
    out = []
    for r in session.eval(source):
        if r.kind == "value":
            out.append(r.text)
        elif r.kind == "error":
            assert r.error is not None
            out.append(f"error: {r.error.kind}: {r.error.message}")
    return out
