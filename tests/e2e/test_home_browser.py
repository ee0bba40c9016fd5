"""The home page in a real browser."""

from e2e_helpers import screenshot, wait_for_app
from playwright.sync_api import Page, expect


def test_home_page_renders(app_url: str, page: Page):
    page.goto(app_url)
    wait_for_app(page)

    expect(page.get_by_role("heading", name="Neural-network playground")).to_be_visible()
    expect(page.get_by_text("python -m engine train my.json")).to_be_visible()
    assert page.title() == "Neural-network playground"
    screenshot(page, "home")
