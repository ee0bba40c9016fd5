"""A student who closes the tab while a run plays does not lose it (issue 10: runs are never
lost): the training service notices the session has left, stops the run and stores it."""

from __future__ import annotations

import re

from e2e_helpers import click_button, metric_value, number, wait_for_app, wait_until
from playwright.sync_api import Browser, Page


def stored_runs(page: Page, url: str) -> int:
    """How many runs the Runs page says the store holds ("... (N runs)")."""
    page.goto(f"{url}/runs")
    wait_for_app(page, timeout_ms=60_000)
    caption = page.get_by_text(re.compile(r"Stored in .*\(\d+ runs\)")).first
    caption.wait_for(timeout=30_000)
    return int(re.search(r"\((\d+) runs\)", caption.inner_text()).group(1))


def test_a_run_playing_when_its_tab_closes_is_stored(app_url: str, browser: Browser) -> None:
    watcher = browser.new_page()
    before = stored_runs(watcher, app_url)
    student = browser.new_context().new_page()
    student.goto(f"{app_url}/playground?train.epochs=10000")
    wait_for_app(student, timeout_ms=60_000)
    click_button(student, "Play")
    wait_until(lambda: number(metric_value(student, "Steps")) > 50, what="training to start")
    student.context.close()  # the tab goes, mid-run: nobody pressed Pause or Reset
    wait_until(
        lambda: stored_runs(watcher, app_url) > before,
        timeout_s=60,
        interval_s=3,
        what="the left session's run to be stored",
    )
    watcher.close()
