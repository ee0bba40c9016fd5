"""The MNIST page in a real browser, and several sessions training at once."""

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
from playwright.sync_api import Browser, Page, expect


def test_mnist_trains_live_and_shows_digits(app_url: str, page: Page) -> None:
    page.goto(f"{app_url}/mnist?train.epochs=300")  # long enough to still be playing
    wait_for_app(page, timeout_ms=60_000)
    expect(page.get_by_role("heading", name="MNIST digits")).to_be_visible()
    click_button(page, "Play")
    wait_until(lambda: number(metric_value(page, "Steps")) > 0, what="MNIST steps")
    wait_until(lambda: metric_value(page, "Validation accuracy") != "–", what="an evaluation")
    wait_until(lambda: charts_drawn(page) >= 2, what="the curves")
    # the live validation digits, drawn by the component, say how many are right
    grid = page.locator(".nv-root[data-kind='digits']")
    expect(grid.locator(".nv-caption")).to_contain_text("of 50 validation digits right")
    assert grid.locator("canvas").bounding_box()["height"] > 300
    screenshot(page, "mnist-playing")
    click_button(page, "Pause")
    expect(page.get_by_role("button", name="Play", exact=True)).to_be_visible()
    assert page.locator(EXCEPTION).count() == 0


def test_four_sessions_train_at_once(app_url: str, browser: Browser) -> None:
    """Four students on one server: every session progresses, none errors."""
    contexts = [browser.new_context(viewport={"width": 1280, "height": 900}) for _ in range(4)]
    pages = [c.new_page() for c in contexts]
    try:
        for p in pages:
            p.goto(f"{app_url}/playground")
            wait_for_app(p, timeout_ms=60_000)
        for p in pages:
            click_button(p, "Play")
        starts = [number(metric_value(p, "Steps")) for p in pages]
        for i, p in enumerate(pages):
            wait_until(
                lambda p=p, i=i: number(metric_value(p, "Steps")) > starts[i] + 50,
                timeout_s=60,
                what=f"session {i + 1} to progress",
            )
        for p in pages:
            assert p.locator(EXCEPTION).count() == 0
            click_button(p, "Pause")
    finally:
        for c in contexts:
            c.close()
