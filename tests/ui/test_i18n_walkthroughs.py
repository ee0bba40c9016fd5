"""The lab walkthroughs in Chinese (assets/i18n/zh/walkthroughs.json): every text a lab
experiment shows (title, question, what to look for, what to try next, run labels) has Chinese
that keeps every number of the English and uses the course notes' terms, and where the notes
are wrong (AdaGrad's step "growing") both languages say so."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest
from zh_check import ALLOWED, HAN, WORD

from engine.presets import PRESETS_DIR, Preset, list_presets
from ui import i18n

ZH = i18n.table("zh")["text"]
GLOSSARY = json.loads((i18n.I18N_DIR / "glossary.json").read_text(encoding="utf-8"))["terms"]
FOLDERS = sorted(p.relative_to(PRESETS_DIR).as_posix() for p in (PRESETS_DIR / "labs").iterdir())
# The app's spelling of a method name (engine/optimizers.py); zh_check.ALLOWED has "RMSprop".
NAMES = ALLOWED | {"RMSProp"}
# A number as a student reads it: 0.001, 1,000, 93%, 1e-5 (as 1 and 5).
NUMBER = re.compile(r"\d+(?:[.,]\d+)*%?")


def texts(preset: Preset) -> list[tuple[str, str]]:
    """(where, English) for every text the lab page shows of `preset`."""
    out = [
        (f"{preset.name}.{key}", getattr(preset, key))
        for key in ("title", "summary", "look_for", "try_next")
    ]
    out += [(f"{preset.name}.variants[{i}]", v.label) for i, v in enumerate(preset.variants)]
    return [(where, text) for where, text in out if text]


def worded(english: str) -> bool:
    """A text with words to translate (not only names and numbers: "Xavier", "SGD 0.05")."""
    return any(word not in NAMES for word in WORD.findall(english))


PRESETS = [p for folder in FOLDERS for p in list_presets(folder)]
ALL = [(where, text) for p in PRESETS for where, text in texts(p)]
WORDED = [(where, text) for where, text in ALL if worded(text)]


def test_the_labs_are_all_found() -> None:
    """30 experiments in six labs, each with a question and a walkthrough."""
    labs = ("init", "normalization", "optimizers", "regularization", "sequences", "surfaces")
    assert [f"labs/{lab}" for lab in labs] == FOLDERS
    assert len(PRESETS) == 30 and all(p.summary and p.look_for and p.try_next for p in PRESETS)
    assert len(WORDED) > 100


@pytest.mark.parametrize(("where", "english"), WORDED, ids=[w for w, _ in WORDED])
def test_every_walkthrough_text_has_chinese(where: str, english: str) -> None:
    assert HAN.search(ZH.get(english, "")), f"{where}: no Chinese for {english!r}"


def test_names_and_numbers_alone_stay_as_they_are() -> None:
    """Labels such as "SGD 0.05" or "N(0, 1)" are shown as written: the rule above must not
    ask for them, and must ask for a label with a word in it."""
    assert not worded("SGD 0.05") and not worded("N(0, 1)") and not worded("RMSProp 0.001")
    assert worded("Momentum 0.05") and worded("no dropout")


@pytest.mark.parametrize(("where", "english"), WORDED, ids=[w for w, _ in WORDED])
def test_the_chinese_keeps_every_number(where: str, english: str) -> None:
    """The walkthroughs make quantitative claims (93%, 2.30, 1e-5): none may be lost or
    changed in translation."""
    chinese = ZH.get(english, "")
    assert Counter(NUMBER.findall(chinese)) == Counter(NUMBER.findall(english)), (
        f"{where}: {english!r} -> {chinese!r}"
    )


def glossary_misses(english: str, chinese: str) -> list[str]:
    """The glossary terms `english` uses whose notes' word `chinese` lacks (the rule of
    test_i18n.py::test_translations_use_the_glossarys_terms)."""
    return [
        f"'{term['en']}' -> one of {[term['zh'], *term.get('also', [])]}"
        for term in GLOSSARY
        if re.search(rf"\b{re.escape(term['en'])}s?\b", english, re.IGNORECASE)
        and not any(form in chinese for form in [term["zh"], *term.get("also", [])])
    ]


def test_the_chinese_uses_the_glossarys_terms() -> None:
    wrong = [
        f"{where}: {miss} in {ZH.get(english, '')!r}"
        for where, english in WORDED
        for miss in glossary_misses(english, ZH.get(english, ""))
    ]
    assert not wrong, f"{len(wrong)} translations leave the glossary:\n" + "\n".join(wrong)


def test_the_checks_catch_a_bad_translation() -> None:
    """A dropped number, a word outside the notes' terms and English left as it was are each
    found: the checks above can fail."""
    english = "With N(0, 0.01) the histograms collapse onto 0 layer after layer"
    assert Counter(NUMBER.findall("用 N(0, 0.1) 时，直方图一层接一层地收缩")) != Counter(
        NUMBER.findall(english)
    )
    assert glossary_misses("Add BatchNorm and dropout", "加上 BN 和丢弃") == [
        "'batchnorm' -> one of ['批归一化']",
        "'dropout' -> one of ['Dropout', '随机失活']",
    ]
    assert not HAN.search(ZH.get("A text nobody translated", ""))


def test_the_optimizer_race_says_adagrads_step_only_shrinks_in_both_languages() -> None:
    """Note 002 says AdaGrad's step ends up larger as squared gradients pile up (最后的学习速率
    更高); the lab says it is the other way round, in English and in Chinese."""
    race = next(p for p in list_presets("labs/optimizers") if p.name == "1_race_mnist")
    assert "Some notes say AdaGrad's step grows" in race.look_for
    assert "the effective step, lr divided by the square root of that sum, only shrinks" in (
        race.look_for
    )
    chinese = ZH[race.look_for]
    assert "有些笔记说" in chinese and "步长最后会变大" in chinese
    assert "事实正好相反" in chinese and "只会越来越小" in chinese


def test_the_part_file_repeats_no_interface_text() -> None:
    """walkthroughs.json holds only what interface.json lacks ("Dropout and its variants" is
    both a lab title and a Components heading: one copy to keep in step) and only texts a lab
    shows (none left behind by a rewording)."""
    folder = i18n.I18N_DIR / "zh"
    mine = json.loads((folder / "walkthroughs.json").read_text(encoding="utf-8"))["text"]
    interface = json.loads((folder / "interface.json").read_text(encoding="utf-8"))["text"]
    assert not set(mine) & set(interface)
    assert set(mine) <= {text for _, text in ALL}
