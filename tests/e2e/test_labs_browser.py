"""The labs in a real browser: each loads its first experiment, trains its runs side by side
and draws their charts; the optimizer lab also races on a surface and maps a landscape."""

from __future__ import annotations

import pytest
from e2e_helpers import (
    EXCEPTION,
    charts_drawn,
    choose,
    click_button,
    screenshot,
    wait_for_app,
    wait_until,
)
from playwright.sync_api import Page, expect


def epochs_shown(page: Page) -> list[float]:
    """The 'epoch' column of the runs' summary table (drawn by the live view)."""
    cells = page.locator(".nv-table tbody tr td:nth-child(2)").all_inner_texts()
    return [float(c) for c in cells]


@pytest.mark.parametrize(
    ("path", "heading"),
    [
        ("lab_init", "Initialization and activations"),
        ("lab_normalization", "Normalization"),
        ("lab_regularization", "Regularization"),
    ],
)
def test_lab_trains_its_runs_side_by_side(app_url: str, page: Page, path: str, heading: str):
    page.goto(f"{app_url}/{path}")
    wait_for_app(page, timeout_ms=90_000)
    expect(page.get_by_role("heading", name=heading).first).to_be_visible()
    expect(page.get_by_text("The question.").first).to_be_visible()
    expect(page.get_by_text("What to look for.").first).to_be_visible()
    click_button(page, "Play")
    wait_until(lambda: epochs_shown(page) and min(epochs_shown(page)) >= 1, 90, what="an epoch")
    wait_until(lambda: charts_drawn(page) >= 2, what="the overlaid curves")
    pause = page.get_by_role("button", name="Pause", exact=True)
    if pause.count():  # short lab runs may have finished by now
        pause.first.click()
    wait_for_app(page)
    expect(page.get_by_role("button", name="Play", exact=True).first).to_be_visible()
    assert page.locator(EXCEPTION).count() == 0
    screenshot(page, f"{path}-playing")


def test_optimizer_lab_races_and_maps_a_landscape(app_url: str, page: Page) -> None:
    page.goto(f"{app_url}/lab_optimizers")
    wait_for_app(page, timeout_ms=90_000)
    expect(page.get_by_text("Contours of the surface").first).to_be_visible()
    choose(page, "Surface experiment", "Rosenbrock's banana valley")
    wait_until(lambda: "view.surface=2_rosenbrock" in page.evaluate("location.href"), what="link")
    wait_for_app(page)
    expect(page.get_by_text("Contours of the surface").first).to_be_visible()
    wait_until(lambda: charts_drawn(page) >= 1, what="the race's loss chart")

    click_button(page, "Step")  # one epoch of every MNIST run
    wait_for_app(page, timeout_ms=90_000)
    click_button(page, "Step")
    wait_for_app(page, timeout_ms=90_000)
    click_button(page, "Compute the landscape")
    expect(page.get_by_text("first two PCA directions").first).to_be_visible(timeout=90_000)
    assert page.locator(EXCEPTION).count() == 0
    screenshot(page, "lab-optimizers-landscape")
