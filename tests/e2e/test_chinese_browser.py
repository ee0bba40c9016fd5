"""Every page and every lab experiment in Chinese in a real browser (issue 12): with lang=zh
the text Chromium shows (the page, the sidebar, the live view's shadow DOM, the charts' SVG)
has no English left but names and formulas (tests/zh_words.py)."""

from __future__ import annotations

import re

import pytest
from e2e_helpers import EXCEPTION, click_button, screenshot, wait_for_app, wait_until
from playwright.sync_api import Page

from engine.presets import list_presets
from tests.zh_words import ALLOWED, HAN, WORD
from ui.i18n import table
from ui.navigation import PAGES

ZH = table("zh")
# The text a reader sees: the document's, each live view's (a custom element's shadow root),
# and the charts' (SVG text); without code blocks (commands and JSON stay as they are), icons
# (Material icons are ligatures: "play_arrow" drawn as a triangle) and Streamlit's own
# "Skip to main content" link for keyboard users, which only shows when focused.
SHOWN_TEXT = """() => {
  const hide = document.createElement('style');
  hide.textContent = "pre, code, [data-testid*='Icon'], [translate='no'][aria-hidden='true'], " +
    "[data-testid='stSkipToContent'] { display: none !important; }";
  document.head.appendChild(hide);
  const texts = [document.body.innerText];
  const inShadow = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if (!el.shadowRoot) continue;
      for (const child of el.shadowRoot.children) {
        if (child.innerText) texts.push(child.innerText);
      }
      inShadow(el.shadowRoot);
    }
  };
  inShadow(document);
  for (const t of document.querySelectorAll('svg text')) texts.push(t.textContent);
  hide.remove();
  return texts.join('\\n');
}"""
# Two English words in a row inside a Chinese line: a phrase left untranslated (a name or a
# formula inside a Chinese sentence is fine, and so is a title in 《》, a cited paper's).
PHRASE = re.compile(r"\b[A-Za-z]{3,}\s+[A-Za-z]{3,}\b")
CITED = re.compile(r"《[^》]*》")

LAB_FOLDERS = {
    "lab_init": [("experiment", "labs/init")],
    "lab_normalization": [("experiment", "labs/normalization")],
    "lab_regularization": [("experiment", "labs/regularization")],
    "lab_optimizers": [("experiment", "labs/optimizers"), ("surface", "labs/surfaces")],
    "lab_sequences": [("experiment", "labs/sequences")],
}


def english_left(text: str) -> list[str]:
    """Lines with English: any word outside the allow-list in a line without Chinese, an
    English phrase in a line with Chinese."""
    left = []
    for line in text.splitlines():
        words = [w for w in WORD.findall(line) if w not in ALLOWED]
        if HAN.search(line):
            words = [
                p for p in PHRASE.findall(CITED.sub("", line)) if not set(p.split()) <= ALLOWED
            ]
        if words:
            left.append(f"{words}: {line.strip()[:120]}")
    return left


def urls() -> list[str]:
    """Every page, and each lab once per experiment (as a link chooses it)."""
    out = []
    for page in PAGES:
        path = page.path.removesuffix(".py").split("/")[-1]
        path = "" if page.key == "home" else path
        out.append(f"/{path}?lang=zh")
        for slot, folder in LAB_FOLDERS.get(path, []):
            out += [f"/{path}?lang=zh&view.{slot}={p.name}" for p in list_presets(folder)[1:]]
    return out


def test_every_address_is_listed() -> None:
    """The walk covers the page table and every experiment (23 across the labs)."""
    listed = urls()
    assert len(listed) == len(PAGES) + sum(
        len(list_presets(f)) - 1 for slots in LAB_FOLDERS.values() for _, f in slots
    )
    assert len(listed) >= len(PAGES) + 18


def test_the_check_catches_english() -> None:
    assert english_left("Training loss\n训练损失 Adam") == ["['Training', 'loss']: Training loss"]
    assert english_left("学习率 is too high") == ["['too high']: 学习率 is too high"]
    assert not english_left("初始化：Xavier / He，N(0, 1)")


@pytest.mark.parametrize("address", urls())
def test_every_page_and_experiment_shows_chinese(app_url: str, page: Page, address: str) -> None:
    page.goto(app_url + address)
    wait_for_app(page, timeout_ms=90_000)
    # One Step on each page's first address draws the live view's numbers, tables and
    # charts; a lab's other experiments differ in their texts, which show without training
    # (tests/ui/test_i18n_labs.py trains every experiment and reads its tables and charts).
    first = "&" not in address
    if first and page.get_by_role("button", name=ZH["text"]["Step"], exact=True).count():
        click_button(page, ZH["text"]["Step"])
        wait_for_app(page, timeout_ms=90_000)
    wait_until(lambda: page.evaluate(SHOWN_TEXT).strip(), what="the page's text")
    assert page.locator(EXCEPTION).count() == 0
    left = english_left(page.evaluate(SHOWN_TEXT))
    if left:
        screenshot(page, "zh" + re.sub(r"[^\w]+", "-", address))
    assert not left, f"{address}: {len(left)} lines with English:\n" + "\n".join(left[:40])
