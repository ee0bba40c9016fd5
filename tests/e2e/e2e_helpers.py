"""Helpers for the browser tests (imported by conftest.py and the test modules)."""

from pathlib import Path

from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"

# Streamlit marks its root element with the script's state: "initial" before the first run,
# "running" during one, "notRunning" when the page is drawn (as Streamlit's own e2e tests wait).
APP_CONNECTED = "[data-testid='stApp'][data-test-connection-state='CONNECTED']"
APP_IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
EXCEPTION = "[data-testid='stException']"


def wait_for_app(page: Page, timeout_ms: float = 30_000) -> None:
    """Wait until the app is connected and its script has finished; fail on any exception box."""
    page.wait_for_selector(APP_CONNECTED, state="attached", timeout=timeout_ms)
    page.wait_for_selector(APP_IDLE, state="attached", timeout=timeout_ms)
    exceptions = page.locator(EXCEPTION)
    if exceptions.count():
        raise AssertionError(
            "the app shows an exception:\n" + "\n---\n".join(exceptions.all_inner_texts())
        )


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as test-artifacts/<name>.png and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
