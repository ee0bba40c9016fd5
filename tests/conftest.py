"""Shared test set-up: torch on one thread, as the app runs it, and no test writes to the user's
own run store or search database."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

# A throwaway PostgreSQL server (one per session) and a fresh database per test, for every test.
from tests.pg_server import postgres_server, postgres_url

__all__ = ["postgres_server", "postgres_url"]


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread() -> Iterator[None]:
    """Every test runs torch on one thread, as the app and the CLI set it at start-up: the
    small networks tests train run several times faster so, and a test sees the app's numbers."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def private_stores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the run store and the search storage at this test's temporary folder."""
    monkeypatch.setenv("PLAYGROUND_RUNS_DB", str(tmp_path / "runs.db"))
    monkeypatch.setenv("PLAYGROUND_SEARCH_DB", str(tmp_path / "search.db"))
