"""Shared test set-up: no test writes to the user's own run store or search database."""

from pathlib import Path

import pytest

# A throwaway PostgreSQL server (one per session) and a fresh database per test, for every test.
from tests.pg_server import postgres_server, postgres_url

__all__ = ["postgres_server", "postgres_url"]


@pytest.fixture(autouse=True)
def private_stores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the run store and the search storage at this test's temporary folder."""
    monkeypatch.setenv("PLAYGROUND_RUNS_DB", str(tmp_path / "runs.db"))
    monkeypatch.setenv("PLAYGROUND_SEARCH_DB", str(tmp_path / "search.db"))
