"""Session-state keys. Every key is prefixed by its page ("pg", "mnist", ...) so that pages
never share a run by accident; each browser tab is its own session, so tabs never do either."""

from __future__ import annotations

import streamlit as st


def skey(page: str, name: str) -> str:
    """The session-state key of `name` on `page`, e.g. skey("pg", "run") -> "pg.run"."""
    return f"{page}.{name}"


def forget(page: str, prefix: str) -> None:
    """Drop every session-state key of `page` whose name starts with `prefix`, e.g. its
    widgets' ("w."), so that they are drawn afresh from the page's values."""
    start = skey(page, prefix)
    for key in [k for k in st.session_state if str(k).startswith(start)]:
        del st.session_state[key]
