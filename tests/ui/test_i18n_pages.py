"""The Playground entirely in Chinese with lang=zh (issue 12): every text the page shows after a
few steps (sidebar, buttons, banners, the live view's labels, the charts, the tables) has no
English word left but a short list of names, units and formulas."""

from __future__ import annotations

import json

from app_helpers import assert_clean, open_page
from zh_check import ALLOWED, HAN, ZH, english_words, shown_texts, untranslated

from engine.trainer import History
from ui import charts, i18n


def test_the_playground_in_chinese_shows_no_english() -> None:
    at = open_page("playground", {"lang": "zh"})
    assert_clean(at)
    for _ in range(3):
        at.button(key="pg.run.btn.step").click().run()
    assert_clean(at)
    texts = shown_texts(at)
    for tab in ("Inside the network", "Gradients"):  # only the open tab is drawn
        at.session_state["pg.tab"] = ZH["text"][tab]  # a tab's state is its shown label
        at.run()
        assert_clean(at)
        texts += shown_texts(at)
    assert any(ZH["text"]["Gradient norm by depth"] in text for text in texts)  # drawn
    assert len(texts) > 100  # the walk reached the sidebar, the view and the charts
    left = english_words(texts)
    assert not left, "\n".join(sorted({where[0] for where in left.values()}))


def test_the_collector_finds_english() -> None:
    """The check above would catch English: the same page in English is full of it."""
    at = open_page("playground")
    for _ in range(2):
        at.button(key="pg.run.btn.step").click().run()
    left = english_words(shown_texts(at))
    for word in ("Epoch", "Playground", "Loss", "Network", "Gradient"):
        assert word in left or word in ALLOWED, word


def test_text_in_and_layer_names_follow_the_table() -> None:
    assert i18n.text_in("zh", "Training loss") == ZH["text"]["Training loss"]
    assert i18n.text_in("en", "Training loss") == "Training loss"
    assert i18n.text_in("zh", "no such text") == "no such text"  # falls back to English
    assert i18n.layer_name("zh", "hidden 3") == ZH["text"]["hidden {n}"].format(n=3)
    assert i18n.layer_name("zh", "output") == ZH["text"]["output"]
    assert i18n.layer_name("en", "hidden 3") == "hidden 3"


def test_chart_specs_get_their_titles_and_legend_labels_translated() -> None:
    df = charts.curves_table(History(), 1, "loss", "test")
    spec = charts.spec(charts.curves_chart(df, "Loss", False, ("training", "test")))
    table = {"Loss": "损失", "epoch": "轮", "test": "测'试"}
    charts.translate_spec(spec, lambda text: table.get(text, text))
    assert spec["title"] == "损失" and spec["encoding"]["x"]["title"] == "轮"
    label = spec["encoding"]["color"]["legend"]["labelExpr"]
    assert label == "datum.label == 'test' ? '测\\'试' : datum.label"  # "training": unchanged
    # the cached template is per language
    en = json.loads(charts._template(charts.curves_chart, tuple(df.columns), ("Loss",), "en"))
    zh = json.loads(charts._template(charts.curves_chart, tuple(df.columns), ("Loss",), "zh"))
    assert en["title"] == "Loss" and zh["title"] == ZH["text"]["Loss"]


PAGE_MODULES = ("app_pages/playground.py", "ui/toy_view.py", "ui/panels.py", "ui/transport.py",
                "ui/presets.py", "ui/uploads.py", "ui/charts.py", "ui/controls.py")  # fmt: skip


def test_every_text_the_playground_translates_has_chinese() -> None:
    """Also the texts the walk above cannot reach: banners of finished or queued runs, errors,
    help. (A literal that names a key rather than a text, if any, would show up here too.)"""
    missing = untranslated(PAGE_MODULES)
    assert not missing, "\n".join(missing)


def test_the_live_views_own_buttons_have_chinese() -> None:
    """The copy-link button's and the drawing pad's words, which the page sends to the
    component's JavaScript (assets/components/liveview.js draws no English of its own)."""
    from ui import liveview

    for english in (*liveview.COPY_TEXT.values(), *liveview.PAD_TEXT.values()):
        assert HAN.search(ZH["text"].get(english, "")), english
    js = (i18n.I18N_DIR.parents[0] / "components" / "liveview.js").read_text(encoding="utf-8")
    for english in liveview.PAD_TEXT.values():
        assert english in js  # the fallback the script shows before the page's words arrive


def test_every_tooltip_field_has_a_chinese_title() -> None:
    """A chart's tooltip names the data columns it shows on hover: each has its Chinese."""
    import re
    from pathlib import Path

    fields: set[str] = set()
    for path in Path(i18n.I18N_DIR.parents[1] / "ui").glob("*.py"):
        for block in re.findall(r"tooltip=\[(.*?)\]", path.read_text(encoding="utf-8"), re.S):
            untitled = re.sub(r"alt\.Tooltip\([^)]*title=[^)]*\)", "", block)  # titled: text
            fields |= set(re.findall(r'"(\w+):[NOQT]"', untitled))
    assert {"run", "split", "value", "epoch"} <= fields  # the scan finds them
    missing = [f for f in sorted(fields) if i18n.tooltip_title("zh", f) == f]
    assert not missing, missing
    spec = charts.spec(charts.lr_chart(charts.lr_table(History(), 1)))
    charts.translate_spec(spec, str, lambda field: i18n.tooltip_title("zh", field))
    titles = [t.get("title") for t in spec["encoding"]["tooltip"]]
    assert titles == [ZH["tooltips"]["epoch"], ZH["tooltips"]["lr"]]
