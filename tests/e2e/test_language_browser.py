"""中文 / English in a real browser: switching mid-run keeps the run, its counter and its charts,
and the link carries the language."""

from __future__ import annotations

from e2e_helpers import EXCEPTION, charts_drawn, metric_value, number, wait_for_app, wait_until
from playwright.sync_api import Page, expect

from ui.i18n import table

ZH = table("zh")


def zh(english: str) -> str:
    """The Chinese the page shows for an interface text (English if not translated yet)."""
    return ZH["text"].get(english, english)


def steps(page: Page, lang: str) -> float:
    return number(metric_value(page, "Steps" if lang == "en" else zh("Steps")))


def switch_to(page: Page, name: str) -> None:
    """Press the sidebar's language switch ("English" or "中文")."""
    group = page.get_by_test_id("stSidebar").get_by_test_id("stButtonGroup")
    group.get_by_role("radio", name=name, exact=True).click()


def test_switching_language_mid_run_keeps_the_run_and_its_charts(app_url: str, page: Page) -> None:
    page.goto(f"{app_url}/playground")
    wait_for_app(page, timeout_ms=60_000)
    page.get_by_role("button", name="Play", exact=True).click()
    wait_until(lambda: steps(page, "en") > 0, what="the run to start")
    wait_until(lambda: charts_drawn(page) >= 2, what="the loss and accuracy charts")

    switch_to(page, "中文")
    title = ZH["pages"]["pg"]["title"]
    expect(page.get_by_role("heading", name=zh("Playground"))).to_be_visible(timeout=30_000)
    wait_until(
        lambda: "lang=zh" in page.evaluate("() => location.href"), what="lang=zh in the link"
    )
    wait_for_app(page)
    before = steps(page, "zh")
    assert before > 0  # the same run, not a new one
    wait_until(lambda: steps(page, "zh") > before, what="the run to keep training in Chinese")
    wait_until(lambda: charts_drawn(page) >= 2, what="the charts after the switch")
    assert page.get_by_test_id("stSidebar").get_by_text(title, exact=True).count() >= 1

    switch_to(page, "English")
    expect(page.get_by_role("heading", name="Playground")).to_be_visible(timeout=30_000)
    wait_for_app(page)
    later = steps(page, "en")
    assert later > before
    wait_until(lambda: "lang=" not in page.evaluate("() => location.href"), what="lang off")
    assert page.locator(EXCEPTION).count() == 0
