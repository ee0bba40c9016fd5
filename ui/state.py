"""Session-state keys. Every key is prefixed by its page ("pg", "mnist", ...) so that pages
never share a run by accident; each browser tab is its own session, so tabs never do either."""

from __future__ import annotations


def skey(page: str, name: str) -> str:
    """The session-state key of `name` on `page`, e.g. skey("pg", "run") -> "pg.run"."""
    return f"{page}.{name}"
