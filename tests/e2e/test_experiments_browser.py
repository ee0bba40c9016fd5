"""Experiments in a real browser: a finished run lands in Runs and opens back in its page;
Compare, Search and Evaluation work on it."""

from __future__ import annotations

from e2e_helpers import (
    EXCEPTION,
    charts_drawn,
    click_button,
    metric_value,
    number,
    screenshot,
    wait_for_app,
    wait_until,
)
from playwright.sync_api import Page, expect


def test_run_store_compare_search_and_evaluation(app_url: str, page: Page) -> None:
    # 1. train two short runs to the end on the Playground: each is saved when it finishes
    for lr in ("0.03", "0.3"):
        page.goto(f"{app_url}/playground?train.epochs=3&train.lr={lr}")
        wait_for_app(page, timeout_ms=60_000)
        click_button(page, "Play")
        expect(page.get_by_text("Saved in the run store as run").first).to_be_visible(
            timeout=60_000
        )

    # 2. Runs lists them; open the newest back in the Playground
    page.goto(f"{app_url}/runs")
    wait_for_app(page)
    expect(page.get_by_text("(2 runs)")).to_be_visible()
    expect(page.get_by_role("button", name="PyTorch script")).to_be_visible()
    screenshot(page, "runs")
    click_button(page, "Open in Playground")
    wait_for_app(page, timeout_ms=60_000)
    wait_until(lambda: "/playground" in page.url, what="the Playground")
    assert number(metric_value(page, "Steps")) == 75  # 3 epochs of 25 steps, restored

    # 3. Compare shows both, with the one setting that differs
    page.goto(f"{app_url}/compare")
    wait_for_app(page)
    expect(page.get_by_text("Settings that differ")).to_be_visible()
    expect(page.get_by_role("cell", name="Learning rate", exact=True)).to_be_visible()
    wait_until(lambda: charts_drawn(page) >= 2, what="overlaid curves")

    # 4. Evaluation of a stored run
    page.goto(f"{app_url}/evaluation")
    wait_for_app(page)
    expect(page.get_by_text("Accuracy").first).to_be_visible()
    wait_until(lambda: charts_drawn(page) >= 3, what="confusion matrix and curves")
    screenshot(page, "evaluation")

    # 5. A short search from the Playground's start
    page.goto(f"{app_url}/search")
    wait_for_app(page)
    page.get_by_label("Trials").fill("2")
    page.get_by_label("Trials").press("Enter")
    wait_for_app(page)
    click_button(page, "Start or resume")
    expect(page.get_by_text("2 of 2 run here")).to_be_visible(timeout=120_000)
    expect(page.get_by_role("button", name="Open the best config in MNIST digits")).to_be_visible()
    assert page.locator(EXCEPTION).count() == 0
    screenshot(page, "search")
