"""Helpers for the browser tests (imported by conftest.py and the test modules)."""

import contextlib
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"

# Streamlit marks its root element with the script's state: "initial" before the first run,
# "running" during one, "notRunning" when the page is drawn (as Streamlit's own e2e tests wait).
APP_CONNECTED = "[data-testid='stApp'][data-test-connection-state='CONNECTED']"
APP_IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
EXCEPTION = "[data-testid='stException']"
SKELETON = "[data-testid='stSkeleton']"


def wait_for_app(page: Page, timeout_ms: float = 30_000) -> None:
    """Wait until the app is connected and its script has finished; fail on any exception box."""
    page.wait_for_selector(APP_CONNECTED, state="attached", timeout=timeout_ms)
    page.wait_for_selector(APP_IDLE, state="attached", timeout=timeout_ms)
    # Streamlit loads each widget's code on first use and shows a skeleton meanwhile.
    page.wait_for_function(f'() => !document.querySelector("{SKELETON}")', timeout=timeout_ms)
    exceptions = page.locator(EXCEPTION)
    if exceptions.count():
        raise AssertionError(
            "the app shows an exception:\n" + "\n---\n".join(exceptions.all_inner_texts())
        )


# Counts every change of the script's state, so a press can wait for the rerun it caused: right
# after a click the page still says "notRunning" (the rerun has not started), and a test that
# only waited for that would read the page as it was before the press.
_WATCH_RUNS = """() => {
  if (window.__nvRuns === undefined) {
    window.__nvRuns = 0;
    const app = document.querySelector("[data-testid='stApp']");
    new MutationObserver((records) => { window.__nvRuns += records.length; })
      .observe(app, { attributes: true, attributeFilter: ["data-test-script-state"] });
  }
  return window.__nvRuns;
}"""


def press(page: Page, act: Callable[[], None], timeout_ms: float = 60_000) -> None:
    """Do `act` (a click, a key press) and wait for the rerun it causes to finish. A press
    that causes none (a slider already at its end) is waited for 3 s."""
    runs = page.evaluate(_WATCH_RUNS)
    act()
    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_function(f"() => window.__nvRuns > {runs}", timeout=3000)
    wait_for_app(page, timeout_ms)


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as test-artifacts/<name>.png and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def metric_value(page: Page, label: str, timeout_s: float = 20.0) -> str:
    """The text of the number labelled `label`: one the live view shows above its pictures
    (epoch, steps, losses), or an st.metric's. Waits up to `timeout_s` for it to appear: the
    live view draws once its component's code has loaded, which on a fresh server's first
    page comes after the script has finished."""
    import time

    deadline = time.monotonic() + timeout_s
    while True:
        live = page.locator(f".nv-metric[data-label='{label}'] .nv-metric-value")
        texts = live.all_inner_texts()
        if not texts:
            box = page.get_by_test_id("stMetric").filter(
                has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)
            )
            # while a fragment redraws, the outgoing element can linger next to the new one
            texts = box.get_by_test_id("stMetricValue").all_inner_texts()
        if texts:
            return texts[-1].strip()
        if time.monotonic() > deadline:
            raise AssertionError(f"no metric labelled {label!r} on the page")
        time.sleep(0.1)


def number(text: str) -> float:
    """'1,234' -> 1234.0; '–' (nothing yet) -> 0."""
    cleaned = text.replace(",", "").replace("%", "").strip()
    return float(cleaned) if cleaned and cleaned != "–" else 0.0


def wait_until(condition, timeout_s: float = 30.0, interval_s: float = 0.25, what: str = ""):
    """Poll `condition()` until it returns a truthy value; fail with `what` after the timeout."""
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what or condition}")


def click_button(page: Page, name: str) -> None:
    """Click the first button labelled `name` (Streamlit buttons carry an icon and text)."""
    page.get_by_role("button", name=name, exact=True).first.click()


def choose(page: Page, label: str, option: str) -> None:
    """Pick `option` in the st.selectbox labelled `label`."""
    box = page.get_by_test_id("stSelectbox").filter(has=page.get_by_text(label, exact=True))
    field = box.locator("input").first
    field.click()
    wanted = page.get_by_role("option", name=option, exact=True)
    try:
        wanted.wait_for(timeout=2000)
    except Exception:  # a box that just had focus opens on the keyboard, not a second click
        field.press("ArrowDown")
    wanted.click()


def charts_drawn(page: Page) -> int:
    """How many Vega-Lite charts have finished drawing (a canvas or svg inside)."""
    return page.locator(
        "[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg.marks"
    ).count()
