"""Shared test set-up: no test writes to the user's own run store or search database."""

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def private_stores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the run store and the search storage at this test's temporary folder."""
    monkeypatch.setenv("PLAYGROUND_RUNS_DB", str(tmp_path / "runs.db"))
    monkeypatch.setenv("PLAYGROUND_SEARCH_DB", str(tmp_path / "search.db"))
