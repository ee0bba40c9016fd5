"""The server's cap on sessions: at most PLAYGROUND_MAX_SESSIONS browser sessions use one server
process at once; the next one sees a "server is full" page instead of the app (shell.py).

Memory and CPU grow with every session that trains (docs/deploy.md has the figures): past the
cap a class is better served by a clear "try again" than by a server that swaps. A session
holds its slot while Streamlit's runtime counts it as active (its websocket is connected);
one that leaves (a closed tab, a lost connection) frees its slot for the next visitor.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

ENV_VAR = "PLAYGROUND_MAX_SESSIONS"
# Sized for a 2-core 4 GB host running two replicas (one per core, `make serve-class`): 16
# sessions each is a class of 32, and 2 x (0.5 GB idle + 16 x 0.06 GB per MNIST session) stays
# under 3 GB. Eight sessions on one core each still train >= 10 epochs/s (bench/bench_live.py);
# sixteen get about half that, still live.
DEFAULT_MAX_SESSIONS = 16


def max_sessions() -> int:
    """$PLAYGROUND_MAX_SESSIONS (at least 1), else the default; a bad value falls back to it."""
    try:
        return max(1, int(os.environ.get(ENV_VAR, DEFAULT_MAX_SESSIONS)))
    except ValueError:
        return DEFAULT_MAX_SESSIONS


class Gate:
    """Which sessions are admitted. `is_active(session_id)` says whether a session is still
    connected; admitted sessions that are not free their slots the next time anyone asks."""

    def __init__(self, is_active: Callable[[str], bool]) -> None:
        self.is_active = is_active
        self.admitted: set[str] = set()
        self._lock = threading.Lock()

    def admit(self, session_id: str, limit: int) -> bool:
        """Whether `session_id` may use the app: it already holds a slot, or one is free."""
        with self._lock:
            self.admitted = {s for s in self.admitted if s == session_id or self.is_active(s)}
            if session_id in self.admitted:
                return True
            if len(self.admitted) >= limit:
                return False
            self.admitted.add(session_id)
            return True

    def count(self) -> int:
        """Sessions holding a slot now."""
        with self._lock:
            self.admitted = {s for s in self.admitted if self.is_active(s)}
            return len(self.admitted)


def session_active(session_id: str) -> bool:
    """Whether Streamlit's runtime counts the session as connected. Without a runtime (page
    tests under AppTest, many in one process) none is, so only the asking session counts."""
    from streamlit import runtime

    if not runtime.exists():
        return False
    return runtime.get_instance().is_active_session(session_id)


_gate = Gate(session_active)


def gate() -> Gate:
    """The one gate of this server process (a module global: every session shares it)."""
    return _gate


def admitted() -> bool:
    """Whether this script run's session may use the app (True outside a session)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None:
        return True
    return _gate.admit(ctx.session_id, max_sessions())


def full_message(limit: int | None = None) -> str:
    """What a visitor past the cap reads."""
    n = max_sessions() if limit is None else limit
    students = "student" if n == 1 else "students"
    return (
        f"This server is full ({n} {students}). Try again in a minute, or ask your teacher "
        "for another link."
    )
