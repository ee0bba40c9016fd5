"""The live view as a class sees it: on a 1280x720 projector and a narrow screen, while
playing (no flicker, no jumps, no fading), and the drawing pad on MNIST."""

from __future__ import annotations

from pathlib import Path

from e2e_helpers import (
    EXCEPTION,
    click_button,
    metric_value,
    number,
    screenshot,
    wait_for_app,
    wait_until,
)
from playwright.sync_api import Browser, Page, expect

SAMPLER = (Path(__file__).parent / "live_sampler.js").read_text()


def boxes(page: Page) -> dict[str, dict]:
    """Where the parts a teacher needs in view are: the run buttons, the network and the
    output map (bounding boxes in CSS pixels)."""
    parts = {
        name: page.get_by_role("button", name=name, exact=True).first
        for name in ("Play", "Step", "Reset", "New data")
    }
    parts["network"] = page.locator("canvas.nv-net-canvas")
    parts["output"] = page.locator("canvas.nv-out-canvas")
    out = {}
    for name, locator in parts.items():
        box = locator.bounding_box()
        assert box is not None, f"{name} is not on the page"
        out[name] = box
    return out


def overlap(a: dict, b: dict) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


def assert_in_view_and_apart(page: Page, width: int, height: int | None) -> None:
    found = boxes(page)
    for name, box in found.items():
        assert box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, (name, box)
        if height is not None:
            assert box["y"] >= 0 and box["y"] + box["height"] <= height + 0.5, (name, box)
    names = list(found)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not overlap(found[a], found[b]), f"{a} overlaps {b}"


def open_with(browser: Browser, url: str, width: int, height: int) -> Page:
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.goto(url)
    wait_for_app(page, timeout_ms=60_000)
    return page


def test_the_playground_fits_a_1280x720_projector(app_url: str, browser: Browser) -> None:
    page = open_with(browser, f"{app_url}/playground", 1280, 720)
    try:
        page.get_by_test_id("stSidebar").hover()  # the collapse button shows on hover
        page.get_by_role("button", name="Collapse sidebar").click()
        expect(page.get_by_test_id("stSidebar")).to_have_attribute("data-collapsed", "true")
        page.wait_for_timeout(600)  # the sidebar slides away
        assert_in_view_and_apart(page, 1280, 720)
        screenshot(page, "projector-1280x720")
    finally:
        page.context.close()
    page = open_with(browser, f"{app_url}/playground?view.present=1", 1280, 720)
    try:  # the presenter view: sidebar collapsed, larger text and pictures, still in view
        expect(page.get_by_test_id("stSidebar")).to_have_attribute("data-collapsed", "true")
        assert_in_view_and_apart(page, 1280, 720)
        net = page.locator("canvas.nv-out-canvas").bounding_box()
        assert net["width"] >= 350  # larger than the normal view's 290
        screenshot(page, "presenter-1280x720")
    finally:
        page.context.close()


def test_a_narrow_screen_keeps_everything_apart_and_readable(
    app_url: str, browser: Browser
) -> None:
    page = open_with(browser, f"{app_url}/playground", 800, 1000)
    try:
        assert_in_view_and_apart(page, 800, None)
        for name in ("Play", "Step", "Reset", "New data"):
            button = page.get_by_role("button", name=name, exact=True).first
            text = button.inner_text().strip()
            assert text.endswith(name), f"the {name} button reads {text!r}"
            clipped = button.evaluate(
                "b => Array.from(b.querySelectorAll('p')).some(p => p.scrollWidth > p.clientWidth)"
            )
            assert not clipped, f"the {name} button's label is cut off"
        screenshot(page, "narrow-800")
    finally:
        page.context.close()


def test_playing_neither_flickers_nor_jumps_nor_fades(app_url: str, page: Page) -> None:
    page.goto(f"{app_url}/playground?train.epochs=100000")
    wait_for_app(page, timeout_ms=60_000)
    click_button(page, "Play")
    wait_until(lambda: number(metric_value(page, "Steps")) > 0, what="training")
    page.evaluate(SAMPLER, {"intervalMs": 50})
    page.wait_for_timeout(5000)
    report = page.evaluate("() => window.__liveSampler.report()")
    click_button(page, "Pause")
    assert report["samples"] >= 20, report
    assert report["missing"] == 0, f"pictures missing or without size: {report}"
    assert report["jumps"] == 0, f"the content below the pictures moved: {report}"
    assert report["stale"] <= 0.1 * report["samples"], f"faded too often: {report}"
    assert report["redraws"] >= 5, f"the live view hardly moved: {report}"
    assert page.locator(EXCEPTION).count() == 0


def test_a_digit_drawn_with_the_mouse_is_read(app_url: str, page: Page) -> None:
    page.goto(f"{app_url}/mnist")
    wait_for_app(page, timeout_ms=60_000)
    for _ in range(3):  # three epochs: a network that reads digits
        click_button(page, "Step")
        wait_for_app(page, timeout_ms=60_000)
    pad = page.locator("canvas.nv-pad")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    x, top, bottom = box["x"] + box["width"] * 0.5, box["y"] + 30, box["y"] + box["height"] - 30
    page.mouse.move(x, top)  # a one: a straight stroke down the middle
    page.mouse.down()
    for i in range(1, 21):
        page.mouse.move(x + 2, top + (bottom - top) * i / 20)
    page.mouse.up()
    result = page.locator(".nv-result")
    expect(result).to_contain_text("The network reads", timeout=30_000)
    assert "The network reads 1" in result.inner_text()
    assert page.locator("figure.nv-step").count() == 3  # cropped, 20x20, centred 28x28
    screenshot(page, "mnist-drawn-digit")
    page.get_by_role("button", name="Clear", exact=True).click()
    expect(result).to_contain_text("Draw a digit", timeout=30_000)
