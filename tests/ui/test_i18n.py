"""The interface in Chinese and English (ui/i18n.py): every field, component and page has its
Chinese text in the course's terms, the language comes from the link, the switch or the
browser, and switching keeps the run."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace
from typing import Any

import pytest
from app_helpers import assert_clean, open_page, run_of

import engine
import engine.surfaces  # noqa: F401 (the optimizers lab's surfaces: a registry too)
from engine.config import field_info, field_paths
from engine.registry import by_field
from ui import controls, i18n
from ui.navigation import PAGES
from ui.widgets import SPECS

ZH = i18n.table("zh")
GLOSSARY = json.loads((i18n.I18N_DIR / "glossary.json").read_text(encoding="utf-8"))["terms"]
HAN = re.compile(r"[\u4e00-\u9fff]")


def english_label(path: str) -> str:
    spec = SPECS.get(path) or controls._derived_spec(path)
    return spec.label


def sources() -> list[tuple[str, str, str]]:
    """(where, English source, Chinese) for every text the sidebar, the components and the
    page table show."""
    out = []
    for path in field_paths():
        zh = ZH["fields"].get(path, {})
        out.append((f"fields.{path}.label", english_label(path), zh.get("label", "")))
        out.append((f"fields.{path}.help", field_info(path)["help"], zh.get("help", "")))
    for path, registry in by_field().items():
        for entry in registry:
            zh = ZH["registries"].get(path, {}).get(entry.name, {})
            where = f"registries.{path}.{entry.name}"
            out.append((f"{where}.label", entry.label, zh.get("label", "")))
            out.append((f"{where}.help", entry.help, zh.get("help", "")))
    for page in PAGES:
        zh = ZH["pages"].get(page.key, {})
        out.append((f"pages.{page.key}.title", page.title, zh.get("title", "")))
        if page.blurb:
            out.append((f"pages.{page.key}.blurb", page.blurb, zh.get("blurb", "")))
        if page.section:
            zh_section = ZH["sections"].get(page.section, "")
            out.append((f"sections.{page.section}", page.section, zh_section))
    return out


def test_every_field_component_and_page_has_chinese_text() -> None:
    missing = [where for where, _, zh in sources() if not HAN.search(zh)]
    assert not missing, f"{len(missing)} texts lack Chinese (assets/i18n/zh/): {missing[:20]}"


def test_the_chinese_table_names_only_what_exists() -> None:
    """A renamed field or entry must not leave a translation nobody reads."""
    stale = [p for p in ZH["fields"] if p not in field_paths()]
    registries = by_field()
    for path, entries in ZH["registries"].items():
        names = registries[path].names() if path in registries else []
        stale += [f"{path}.{name}" for name in entries if name not in names]
    keys = {p.key for p in PAGES}
    stale += [f"pages.{k}" for k in ZH["pages"] if k not in keys]
    assert not stale, stale


# Where a glossary word means something else: "a class" of students, "for example", a name
# in code (model.dropout), a formula (∂loss/∂W) or a template's slot ({dataset}).
OTHER_SENSE = re.compile(r"talk a class|for example|\w+\.\w+|∂\w+|\{\w+\}")
LONGEST_FIRST = sorted(GLOSSARY, key=lambda term: -len(term["en"]))


def off_glossary(english: str, zh: str) -> list[str]:
    """The glossary terms `english` uses whose Chinese `zh` does not use. A longer term is
    matched first and takes its words with it ("batch normalization" is 批归一化, and its
    "batch" asks for no 批量)."""
    rest = OTHER_SENSE.sub(" ", english)
    wrong = []
    for term in LONGEST_FIRST:
        pattern = re.compile(rf"\b{re.escape(term['en'])}s?\b", re.IGNORECASE)
        if pattern.search(rest):
            rest = pattern.sub(" ", rest)
            forms = [term["zh"], *term.get("also", [])]
            if not any(form in zh for form in forms):
                wrong.append(f"'{term['en']}' -> one of {forms}, got {zh!r}")
    return wrong


def test_translations_use_the_glossarys_terms() -> None:
    """Where an English text uses a glossary term, its Chinese uses the notes' word for it."""
    wrong = [f"{where}: {w}" for where, english, zh in sources() for w in off_glossary(english, zh)]
    assert not wrong, f"{len(wrong)} translations leave the glossary:\n" + "\n".join(wrong[:30])


def test_the_pages_own_texts_use_the_glossarys_terms() -> None:
    """The same rule for every interface text, walkthrough, message and export text."""
    tables = {**ZH["text"], **ZH.get("messages", {})}
    wrong = [f"{en[:50]!r}: {w}" for en, zh in tables.items() for w in off_glossary(en, zh)]
    assert not wrong, f"{len(wrong)} translations leave the glossary:\n" + "\n".join(wrong[:30])


def test_the_glossary_has_the_notes_terms() -> None:
    words = {t["zh"] for t in GLOSSARY} | {a for t in GLOSSARY for a in t.get("also", [])}
    notes = ("过拟合", "正则化", "权重衰减", "批归一化", "梯度消失", "梯度爆炸", "早停", "动量")
    for term in notes:
        assert term in words, term


@pytest.mark.parametrize(
    ("link", "locale", "expected"),
    [
        ({"lang": "zh"}, "en-US", "zh"),
        ({"lang": "en"}, "zh-CN", "en"),
        ({}, "zh-CN", "zh"),
        ({}, "zh-TW", "zh"),
        ({}, "de-DE", "en"),
        ({}, None, "en"),
        ({"lang": "<script>"}, "en-US", "en"),  # anything else: the browser's language
    ],
)
def test_the_language_comes_from_the_link_then_the_browser(
    monkeypatch: pytest.MonkeyPatch, link: dict[str, str], locale: str | None, expected: str
) -> None:
    fake: Any = SimpleNamespace(
        query_params=link, context=SimpleNamespace(locale=locale), session_state={}
    )
    monkeypatch.setattr(i18n, "st", fake)
    assert i18n.lang() == expected


def test_a_chinese_link_shows_the_sidebar_in_chinese_and_keeps_its_language() -> None:
    at = open_page("playground", {"lang": "zh", "train.lr": "0.1"})
    assert_clean(at)
    assert not at.warning, [w.value for w in at.warning]  # lang is not a config key
    lr = at.select_slider(key="pg.w.train.lr")
    assert lr.label == ZH["fields"]["train.lr"]["label"] and lr.value == 0.1
    optimizer = at.selectbox(key="pg.w.train.optimizer")
    assert optimizer.label == ZH["fields"]["train.optimizer"]["label"]
    chosen = ZH["registries"]["train.optimizer"][optimizer.value]["label"]
    assert chosen in optimizer.options  # the choices as the browser shows them
    assert at.query_params["lang"] == "zh" and at.query_params["train.lr"] == "0.1"


def test_switching_the_language_keeps_the_run_and_its_settings() -> None:
    at = open_page("playground", {"train.lr": "0.1"})
    assert at.select_slider(key="pg.w.train.lr").label == english_label("train.lr")
    for _ in range(3):
        at.button(key="pg.run.btn.step").click().run()
    trainer = run_of(at, "pg").trainer
    steps = trainer.step_count
    assert steps > 0

    at.segmented_control(key=i18n.WIDGET).set_value("zh").run()
    assert_clean(at)
    assert at.select_slider(key="pg.w.train.lr").label == ZH["fields"]["train.lr"]["label"]
    assert run_of(at, "pg").trainer is trainer and trainer.step_count == steps
    assert at.select_slider(key="pg.w.train.lr").value == 0.1
    assert at.query_params["lang"] == "zh"

    at.segmented_control(key=i18n.WIDGET).set_value("en").run()
    assert at.select_slider(key="pg.w.train.lr").label == english_label("train.lr")
    assert run_of(at, "pg").trainer is trainer and trainer.step_count == steps
    assert "lang" not in at.query_params  # English links stay as short as before


@pytest.mark.parametrize(
    ("page", "key", "link"),
    [
        ("lab_normalization", "lab_norm.cmp.main", {"view.experiment": "2_before_after"}),
        ("mnist", "mnist.run", {"data.train_subset": "300"}),
    ],
)
def test_switching_the_language_keeps_a_labs_runs_and_the_mnist_run(
    page: str, key: str, link: dict[str, str]
) -> None:
    """The same on a lab (its side-by-side runs, its experiment) and on the MNIST page: the
    switch redraws the words and keeps what trained; the link keeps the experiment."""
    at = open_page(page, link)
    step = f"{key}.btn.step" if page != "mnist" else "mnist.run.btn.step"
    at.button(key=step).click().run()
    assert_clean(at)
    run = at.session_state[key]
    steps = [t.step_count for t in run.trainers]
    assert all(steps)
    at.segmented_control(key=i18n.WIDGET).set_value("zh").run()
    assert_clean(at)
    assert at.session_state[key] is run and [t.step_count for t in run.trainers] == steps
    assert at.query_params["lang"] == "zh"
    for name, value in link.items():
        assert at.query_params[name] == value
    at.segmented_control(key=i18n.WIDGET).set_value("en").run()
    assert at.session_state[key] is run and [t.step_count for t in run.trainers] == steps


def test_every_preset_the_pages_show_has_chinese() -> None:
    """The Playground's and the MNIST page's presets and every lab experiment: titles,
    questions, hints and run labels with words in them."""
    from engine.presets import list_presets

    folders = ["playground", "mnist", "search"] + [
        f"labs/{p.name}" for p in sorted((i18n.I18N_DIR.parents[0] / "presets/labs").iterdir())
    ]
    missing = []
    for folder in folders:
        presets = list_presets(folder)
        assert presets, folder
        for p in presets:
            texts = [p.title, p.summary, getattr(p, "look_for", ""), getattr(p, "try_next", "")]
            texts += [v.label for v in p.variants]
            worded = [t for t in texts if t and re.search(r"[a-z]{3,} [a-z]{3,}", t, re.I)]
            missing += [
                f"{folder}/{p.name}: {text[:60]!r}"
                for text in worded
                if not HAN.search(ZH["text"].get(text, ""))
            ]
    assert not missing, "\n".join(missing)
