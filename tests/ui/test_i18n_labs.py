"""The four lab pages entirely in Chinese with lang=zh (issue 12): for every experiment of every
lab, after one step of its runs, every text the page shows (walkthrough, sidebar, buttons,
summary table, every tab's charts and tables, the surface races, the loss landscape) has no
English word left but a short list of names, units and formulas."""

from __future__ import annotations

import json

import pytest
from app_helpers import assert_clean, live_view, open_page, values
from streamlit.testing.v1 import AppTest
from zh_check import ALLOWED, ZH, english_words, shown_texts, untranslated

from engine.presets import Preset, list_presets
from ui import charts, compare, i18n

SMALL_MNIST = 128  # training images: one epoch of every run draws every chart, and quickly

# page: (state prefix, preset folder, the comparison's tabs)
LABS = {
    "lab_init": ("lab_init", "labs/init", ["Curves", "Layers now", "Gradients"]),
    "lab_regularization": ("lab_reg", "labs/regularization", ["Curves", "Weights", "Boundaries"]),
    "lab_normalization": (
        "lab_norm",
        "labs/normalization",
        ["Curves", "Grid", "Layers now", "Gradients"],
    ),
    "lab_optimizers": ("lab_opt", "labs/optimizers", ["Curves", "Learning rate"]),
    "lab_sequences": (
        "lab_seq",
        "labs/sequences",
        ["Curves", "Memory by length", "Gradient through time", "Gates", "Gradients"],
    ),
}
MODULES = (
    "app_pages/lab_init.py",
    "app_pages/lab_normalization.py",
    "app_pages/lab_optimizers.py",
    "app_pages/lab_regularization.py",
    "ui/labs.py",
    "ui/lab_views.py",
    "ui/landscape_view.py",
    "ui/surfaces_view.py",
    "ui/compare.py",
    "ui/charts.py",
)


def preset_texts(preset: Preset) -> list[str]:
    """What the walkthrough of an experiment shows: its words are the presets' translators'."""
    texts = [preset.title, preset.summary, preset.look_for, preset.try_next]
    return [t for t in texts if t] + [v.label for v in preset.variants]


def all_presets() -> list[Preset]:
    folders = [folder for _, folder, _ in LABS.values()] + ["labs/surfaces"]
    return [p for folder in folders for p in list_presets(folder)]


# The experiments' Chinese is another part's (written alongside these pages); until it is
# there, a preset's own text is let through here and test_every_walkthrough_has_chinese skips.
WALKTHROUGHS = i18n.I18N_DIR / "zh" / "walkthroughs.json"


def untranslated_presets() -> list[str]:
    """The experiments' texts with English words and no Chinese."""
    texts = [t for p in all_presets() for t in preset_texts(p)]
    return [t for t in dict.fromkeys(texts) if t not in ZH["text"] and english_words([t])]


def without_english_words(texts: list[str]) -> dict[str, list[str]]:
    """english_words(texts), letting the presets' texts through (also inside a longer text:
    "**dropout 0.5**") while their part is missing."""
    waiting = [] if WALKTHROUGHS.exists() else sorted(untranslated_presets(), key=len)[::-1]
    kept = []
    for text in texts:
        for preset_text in waiting:
            text = text.replace(preset_text, "")
        kept.append(text)
    return english_words(kept)


def summary_texts(at: AppTest, key: str) -> list[str]:
    """The live summary table's column names and cells (shown_texts reads the live view's
    labels, not a table it carries)."""
    table = live_view(at, f"{key}.cmp.main.view")
    return [*table["columns"], *(str(cell) for row in table["rows"] for cell in row)]


def tab_texts(at: AppTest, key: str, tabs: list[str]) -> list[str]:
    """The page's texts with each tab of the comparison open in turn (only the open one is
    drawn); the tab's state is its shown label."""
    texts = summary_texts(at, key)
    for tab in tabs:
        at.session_state[f"{key}.cmp.main.tab"] = ZH["text"][tab]
        at.run()
        assert_clean(at)
        texts += shown_texts(at)
    return texts


@pytest.mark.parametrize("page", list(LABS))
def test_every_experiment_of_the_lab_in_chinese_shows_no_english(page: str) -> None:
    key, folder, tabs = LABS[page]
    first = list_presets(folder)[0].config.data.dataset
    small = {"data.train_subset": str(SMALL_MNIST)} if first == "mnist" else {}
    at = open_page(page, {"lang": "zh", **small})
    assert_clean(at)
    texts = shown_texts(at)
    for preset in list_presets(folder):
        at.selectbox(key=f"{key}.experiment").set_value(preset.name).run()
        assert_clean(at)
        subset = values(at, key)["data.train_subset"]
        if values(at, key)["data.dataset"] == "mnist" and not 0 < subset <= SMALL_MNIST:
            at.number_input(key=f"{key}.w.data.train_subset").set_value(SMALL_MNIST).run()
        at.button(key=f"{key}.cmp.main.btn.step").click().run()  # one epoch: every chart draws
        assert_clean(at)
        texts += tab_texts(at, key, tabs)
    assert any(ZH["text"]["Runs to compare"] in text for text in texts)  # the walk got there
    assert any(ZH["text"]["status"] == text for text in texts)  # the summary table's columns
    left = without_english_words(texts)
    assert not left, "\n".join(sorted({where[0] for where in left.values()}))


def editor_texts(at: AppTest) -> list[str]:
    """The racers table's column names and the optimizer column's choices (shown_texts does
    not read a data editor's column settings)."""
    texts = []
    for element in at.get("dataframe"):
        for column in json.loads(element.proto.columns or "{}").values():
            texts.append(column.get("label") or "")
            options = column.get("type_config", {}).get("options", [])
            texts += [o["label"] for o in options if isinstance(o, dict)]
    return [t for t in texts if t]


def test_surface_races_and_the_landscape_in_chinese_show_no_english() -> None:
    at = open_page("lab_optimizers", {"lang": "zh", "data.train_subset": str(SMALL_MNIST)})
    texts = []
    for preset in list_presets("labs/surfaces"):
        at.selectbox(key="lab_opt.surface").set_value(preset.name).run()
        assert_clean(at)
        editor = editor_texts(at)
        assert ZH["text"]["learning rate"] in editor, editor  # the racers' table was read
        texts += shown_texts(at) + editor
    for _ in range(2):  # two epochs: enough weight snapshots for the trajectory's PCA
        at.button(key="lab_opt.cmp.main.btn.step").click().run()
    at.select_slider(key="lab_opt.ls.grid").set_value(11)  # the smallest map: quick
    at.select_slider(key="lab_opt.ls.n").set_value(200)
    for directions in ("pca", "random"):
        at.selectbox(key="lab_opt.ls.dirs").set_value(directions).run()
        at.button(key="lab_opt.ls.go").click().run()
        assert_clean(at)
        texts += shown_texts(at)
    captions = [c for image in at.get("image") for c in [x.caption for x in image.proto.imgs]]
    assert any("两个按滤波器归一化的随机方向" in c for c in captions), captions  # computed
    left = without_english_words(texts + captions)
    assert not left, "\n".join(sorted({where[0] for where in left.values()}))


def test_the_collector_finds_english_on_the_english_lab() -> None:
    """The checks above would catch English: the same page in English is full of it."""
    at = open_page("lab_init")
    at.button(key="lab_init.cmp.main.btn.step").click().run()
    left = english_words(shown_texts(at) + summary_texts(at, "lab_init"))
    for word in ("Initialization", "Runs", "training", "status", "Loss"):
        assert word in left or word in ALLOWED, word


def test_every_walkthrough_has_chinese() -> None:
    """Every experiment's title, question, hints and run names (assets/i18n/zh/
    walkthroughs.json, written for the lab pages to show through i18n.t)."""
    if not WALKTHROUGHS.exists():
        pytest.skip("assets/i18n/zh/walkthroughs.json has not landed yet")
    missing = untranslated_presets()
    assert not missing, "\n".join(missing)


def test_every_text_the_labs_translate_has_chinese() -> None:
    """Also the texts the walks above cannot reach: warnings, errors, empty states."""
    missing = untranslated(MODULES)
    assert not missing, "\n".join(missing)


def test_summary_table_speaks_the_language_it_is_given() -> None:
    """The summary is drawn in the training service's thread too: its words follow the
    language handed to it, not a session."""
    assert set(compare.STATUS_WORDS.values()) <= set(ZH["text"])
    assert all(name in ZH["text"] for pair in compare.HELD_OUT_COLUMNS.values() for name in pair)
    assert i18n.text_in("zh", "{gap} points").format(gap="+1.0") == "+1.0 个百分点"


def test_facet_headers_of_a_fixed_order_get_translated_labels() -> None:
    """The runs' and the modes' panel headers (data values in a fixed order) show translated."""
    import pandas as pd

    df = pd.DataFrame({"mode": ["train mode", "eval mode"], "example": 0, "unit": 0, "value": 1})
    spec = charts.spec(charts.mode_grid_chart(df.iloc[:0]))
    tr = {"train mode": "训练模式"}.get
    charts.translate_spec(spec, lambda text: tr(text, text))
    # Vega-Lite draws a facet header without a labelExpr (seen in Chromium): the data carries
    # the translated values, and the sort order names them
    shown = charts.translate_facets(spec, df, lambda text: tr(text, text))
    assert list(shown["mode"]) == ["训练模式", "eval mode"]
    assert spec["facet"]["column"]["sort"] == ["训练模式", "eval mode"]
    assert "translated" not in json.dumps(spec)  # the mark is not sent to the browser


def test_engine_messages_of_the_labs_are_translated() -> None:
    """What the engine says when a racer diverges or leaves the map, made by the engine."""
    from engine.config import TrainConfig
    from engine.surfaces import SURFACES, Racer, race

    racers = [Racer("sgd", TrainConfig(optimizer="sgd", lr=lr)) for lr in (10.0, 100.0)]
    for name in ("quadratic", *SURFACES.names()):
        start = SURFACES.get(name).extra["start"]
        for path in race(name, start, racers, 50):
            if path.diverged:
                shown = i18n.message(path.message, "zh")
                assert not english_words([shown]) and shown != path.message, path.message
    # those no race above makes: a path that turns NaN in place, too few snapshots for a PCA
    for english in (
        "diverged at step 12: the loss became nan; lower the learning rate (it was 3)",
        "the loss at the start point is inf: start closer to the minimum",
        "the trajectory PCA needs at least 3 snapshots, got 2; record more with "
        "Trainer(snapshot_every=...)",
        "the snapshots lie on a line: no second direction to show",
    ):
        assert not english_words([i18n.message(english, "zh")]), english
