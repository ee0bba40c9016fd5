"""What a visitor puts in a link shows as text (issue 10.7): a link parameter that is
Markdown must not become a real link, an image fetched from another host, or a styled fake
message in the notice that reports it."""

from __future__ import annotations

from urllib.parse import quote, urlparse

from e2e_helpers import wait_for_app
from playwright.sync_api import Page, expect

LINK = "[Your session expired - log in again](http://example.invalid/login)"
IMAGE = "![logo](http://example.invalid/logo.png)"


def test_markdown_in_a_link_parameter_is_shown_as_typed(app_url: str, page: Page) -> None:
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(
        f"{app_url}/playground?train.optimizer={quote(LINK)}&data.dataset={quote(IMAGE)}"
        f"&train.loss={quote(':red[fast] :material/warning:')}"
    )
    wait_for_app(page, timeout_ms=60_000)
    notices = page.get_by_test_id("stAlert")
    expect(notices.first).to_be_visible()
    # the text as typed (the invisible word joiners that break autolinks aside)
    shown = " ".join(notices.all_inner_texts()).replace("\u2060", "")
    for typed in (LINK, IMAGE, ":red[fast] :material/warning:"):
        assert typed in shown, shown
    assert page.locator("a[href*='example.invalid']").count() == 0
    assert page.locator("img[src*='example.invalid']").count() == 0
    assert not [u for u in requested if urlparse(u).hostname == "example.invalid"]
