"""The Playground in a real browser: play, watch it learn, pause, reset, share, upload."""

from __future__ import annotations

import re

from e2e_helpers import (
    EXCEPTION,
    charts_drawn,
    choose,
    click_button,
    metric_value,
    number,
    screenshot,
    wait_for_app,
    wait_until,
)
from playwright.sync_api import Browser, Page, expect

from ui.i18n import table


def open_playground(page: Page, url: str, query: str = "") -> None:
    page.goto(f"{url}/playground{query}")
    wait_for_app(page, timeout_ms=60_000)


def location(page: Page) -> str:
    """The address bar now (Streamlit rewrites it with history.replaceState)."""
    return page.evaluate("() => window.location.href")


def steps(page: Page) -> float:
    return number(metric_value(page, "Steps"))


def test_play_learns_live_then_pause_and_reset(app_url: str, page: Page) -> None:
    open_playground(page, app_url)
    expect(page.get_by_role("heading", name="Playground")).to_be_visible()
    # the network and the decision boundary, drawn in the browser before any training
    live = page.locator(".nv-root[data-kind='network']")
    for part in ("nv-net-canvas", "nv-out-canvas"):
        assert live.locator(f"canvas.{part}").bounding_box()["height"] > 200, part
    assert metric_value(page, "Epoch") == "0.00"

    click_button(page, "Play")
    wait_until(lambda: steps(page) > 0, what="the step counter to move after Play")
    first_epoch = number(metric_value(page, "Epoch"))
    wait_until(lambda: charts_drawn(page) >= 2, what="the loss and accuracy charts")
    loss_before = metric_value(page, "Training loss")
    wait_until(
        lambda: number(metric_value(page, "Epoch")) > first_epoch + 5,
        what="five more epochs of live training",
    )
    wait_until(
        lambda: metric_value(page, "Training loss") != loss_before,
        what="the training loss to change as it learns",
    )
    screenshot(page, "playground-playing")

    click_button(page, "Pause")
    expect(page.get_by_role("button", name="Play", exact=True)).to_be_visible()
    wait_for_app(page)
    page.wait_for_timeout(1000)  # a tick already under way when Pause was pressed may land
    paused = steps(page)
    page.wait_for_timeout(1500)
    assert steps(page) == paused  # no ticks while paused
    assert page.locator(EXCEPTION).count() == 0

    click_button(page, "Reset")
    wait_until(lambda: steps(page) == 0, what="Reset to clear the step counter")


def test_a_shared_link_opens_the_same_settings_in_a_new_browser(
    app_url: str, page: Page, browser: Browser
) -> None:
    open_playground(page, app_url)
    choose(page, "Dataset", "Spiral")
    wait_until(lambda: "data.dataset=spiral" in location(page), what="the link to follow")
    wait_for_app(page)
    choose(page, "Activation", "ReLU")
    wait_until(lambda: "model.activation=relu" in location(page), what="the link to follow")
    link = location(page)

    other = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    try:
        other.goto(link)
        wait_for_app(other, timeout_ms=60_000)
        dataset = other.get_by_test_id("stSelectbox").filter(has_text="Dataset")
        activation = other.get_by_test_id("stSelectbox").filter(has_text="Activation")
        expect(dataset.get_by_role("combobox")).to_have_value("Spiral")
        expect(activation.get_by_role("combobox")).to_have_value("ReLU")
        screenshot(other, "playground-shared-link")
    finally:
        other.context.close()


def test_a_garbage_link_falls_back_with_a_visible_notice(app_url: str, page: Page) -> None:
    open_playground(page, app_url, "?train.lr=fast&model.hidden=-1&nonsense=3")
    notices = page.get_by_test_id("stAlert")
    expect(notices.filter(has_text="train.lr")).to_be_visible()
    expect(notices.filter(has_text="nonsense")).to_be_visible()
    click_button(page, "Play")
    wait_until(lambda: steps(page) > 0, what="training with the default settings")


def test_uploading_a_bad_csv_shows_what_is_wrong(app_url: str, page: Page) -> None:
    open_playground(page, app_url)
    page.get_by_text("Use your own points").click()
    rows = [f"{i},{-i},{i % 2}" for i in range(12)]
    rows[2] = "2,oops,0"  # line 4 of the file, after the header
    content = ("x1,x2,label\n" + "\n".join(rows) + "\n").encode()
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
        files=[{"name": "broken.csv", "mimeType": "text/csv", "buffer": content}]
    )
    error = page.get_by_test_id("stAlert").filter(has_text="broken.csv")
    expect(error).to_be_visible(timeout=20_000)
    expect(error).to_contain_text(re.compile("line 4.*oops.*not a number"))
    screenshot(page, "playground-bad-csv")
    assert page.locator(EXCEPTION).count() == 0


def test_the_page_in_chinese_keeps_its_language_while_it_trains(app_url: str, page: Page) -> None:
    """lang=zh: the page's own texts, and the live view's, whose frames the training service
    builds outside the page's script, stay Chinese while the run plays."""
    zh = table("zh")["text"]
    open_playground(page, app_url, "?lang=zh")
    expect(page.get_by_role("heading", name=zh["Playground"])).to_be_visible()
    assert metric_value(page, zh["Epoch"]) == "0.00"
    click_button(page, zh["Play"])
    wait_until(lambda: number(metric_value(page, zh["Steps"])) > 20, what="live frames")
    wait_until(lambda: charts_drawn(page) >= 2, what="the loss and accuracy charts")
    live = page.locator(".nv-root[data-kind='network']")
    expect(live).to_contain_text(zh["Output (decision boundary)"])
    expect(page.locator(".nv-copy")).to_contain_text(zh["Copy link"])
    screenshot(page, "playground-zh")
    click_button(page, zh["Pause"])
    expect(page.get_by_role("button", name=zh["Play"], exact=True)).to_be_visible()
