"""The server's cap on sessions (PLAYGROUND_MAX_SESSIONS): a session past it sees a clear
"server is full" page and trains nothing; a session that leaves frees its slot."""

from __future__ import annotations

import pytest
from app_helpers import APP, TIMEOUT_S
from streamlit.testing.v1 import AppTest

from ui import sessions
from ui.sessions import Gate


@pytest.fixture
def connected(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Sessions the fake runtime counts as connected; the server's gate asks it."""
    ids: set[str] = set()
    gate = Gate(lambda session_id: session_id in ids)
    monkeypatch.setattr(sessions, "_gate", gate)
    return ids


def test_gate_admits_up_to_the_cap_and_frees_slots_of_sessions_that_left() -> None:
    ids = {"a", "b"}
    gate = Gate(lambda s: s in ids)
    assert gate.admit("a", 2) and gate.admit("b", 2)
    assert not gate.admit("c", 2)  # full
    assert gate.admit("a", 2)  # a rerun of an admitted session keeps its slot
    ids.discard("a")  # its tab closed: the runtime no longer counts it
    ids.add("c")
    assert gate.admit("c", 2)
    assert not gate.admit("d", 2)
    assert gate.count() == 2


def test_max_sessions_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAYGROUND_MAX_SESSIONS", "3")
    assert sessions.max_sessions() == 3
    monkeypatch.setenv("PLAYGROUND_MAX_SESSIONS", "lots")
    assert sessions.max_sessions() == sessions.DEFAULT_MAX_SESSIONS
    monkeypatch.setenv("PLAYGROUND_MAX_SESSIONS", "0")
    assert sessions.max_sessions() == 1


def test_a_session_past_the_cap_sees_the_full_page_and_trains_nothing(
    monkeypatch: pytest.MonkeyPatch, connected: set[str]
) -> None:
    monkeypatch.setenv("PLAYGROUND_MAX_SESSIONS", "1")
    connected.add("a classmate")
    assert sessions.gate().admit("a classmate", 1)

    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.switch_page("app_pages/playground.py").run()
    assert not at.exception
    assert [w.value for w in at.warning] == [
        "This server is full (1 student). Try again in a minute, or ask your teacher for "
        "another link."
    ]
    assert "pg.run" not in at.session_state  # no network built, nothing to train

    connected.discard("a classmate")  # the classmate closed the tab
    at.button[0].click().run()
    assert not at.exception
    assert not at.warning
    assert "pg.run" in at.session_state  # the Playground is there now


def test_the_full_page_speaks_the_visitors_language(
    monkeypatch: pytest.MonkeyPatch, connected: set[str]
) -> None:
    from ui import i18n

    monkeypatch.setenv("PLAYGROUND_MAX_SESSIONS", "1")
    connected.add("a classmate")
    assert sessions.gate().admit("a classmate", 1)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.query_params["lang"] = "zh"
    at.switch_page("app_pages/playground.py").run()
    assert [t.value for t in at.title] == [i18n.text_in("zh", "Neural-network playground")]
    (warning,) = [w.value for w in at.warning]
    assert warning.startswith("服务器已满（1 名学生）")
    assert at.button[0].label == i18n.text_in("zh", "Try again")
