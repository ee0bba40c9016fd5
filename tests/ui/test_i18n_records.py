"""The Runs, Compare, Search and Evaluation pages entirely in Chinese with lang=zh (issue 12):
with runs in the store, every text these pages show (titles, captions, buttons, tables, status
words, charts, notices, engine-made errors) has no English word left but names and formulas;
run names, being the visitor's, stay as they are. And the ROC chart plots the true-positive
rate against the false-positive rate, with a caption saying so next to it."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from app_helpers import assert_clean, chart_data, open_page, unplain
from sklearn.metrics import roc_curve
from streamlit.testing.v1 import AppTest
from zh_check import ALLOWED, HAN, ZH, english_words, shown_texts, untranslated

from engine.config import Config, check_value, parse_value
from engine.metrics import evaluate_classifier
from engine.registry import ConfigError
from engine.search.limits import check_study_name
from engine.store import RunStore, StoreError
from engine.trainer import Trainer
from ui import i18n, search_view
from ui.evaluation_view import AXES, ROC_NOTE, curves_table
from ui.text import plain

TINY = {"device": "cpu", "model.hidden": [6, 4], "train.epochs": 3}
PLAYGROUND_START = "Playground preset: TensorFlow Playground's start: circle, 4-2 tanh"
MODULES = (
    "app_pages/runs.py",
    "app_pages/compare.py",
    "app_pages/search.py",
    "app_pages/evaluation.py",
    "ui/runstore.py",
    "ui/search_view.py",
    "ui/evaluation_view.py",
    "ui/stored_compare.py",
)


def stored(n: int = 2) -> RunStore:
    """`n` small Playground runs (learning rates 0.01, 0.1) and one of the regularization lab."""
    store = RunStore()  # PLAYGROUND_RUNS_DB points into this test's tmp folder
    for lr in (0.01, 0.1)[:n]:
        t = Trainer(Config().replace(**{**TINY, "train.lr": lr}))
        t.run()
        store.save(t, page="pg")
    t = Trainer(Config().replace(**TINY))
    t.run()
    store.save(t, page="lab_reg", label="dropout 0.5")
    return store


def without_run_names(texts: list[str]) -> list[str]:
    """The texts but those showing a stored run's name (the visitor's text, never translated:
    the default names are made of config values such as 'mlp 6-4 tanh sgd 0.01 · circle')."""
    names = [r.name for r in RunStore().list()]
    names += [plain(name) for name in names]  # as a table that renders Markdown shows them
    return [t for t in texts if not any(name in t for name in names)]


def assert_chinese(at: AppTest, least: int = 20) -> list[str]:
    """The page shows no English word outside the allowed names; returns what it shows."""
    assert_clean(at)
    texts = without_run_names(shown_texts(at))
    assert len(texts) >= least, texts  # the walk reached the page
    left = english_words(texts)
    assert not left, "\n".join(sorted({where[0] for where in left.values()}))
    return texts


def assert_frame_chinese(df: pd.DataFrame) -> None:
    """A table's column names and word cells (st.dataframe is not in the walk) are Chinese."""
    cells = [str(c) for c in df.columns]
    cells += [str(v) for column in df.columns if df[column].dtype == object for v in df[column]]
    left = english_words(without_run_names(cells))
    assert not left, left


def test_runs_page_in_chinese() -> None:
    store = stored(2)
    at = open_page("runs", {"lang": "zh"})
    texts = assert_chinese(at)
    assert ZH["pages"]["runs"]["title"] in texts
    table = at.dataframe[0].value
    assert_frame_chinese(table)
    assert set(table[ZH["text"]["status"]]) == {ZH["text"]["finished"]}
    assert ZH["text"]["{title} lab"].format(title="正则化") in set(table[ZH["text"]["from"]])
    pills = at.button_group(key="runs.from")
    assert "正则化实验课" in pills.options and "lab_reg" not in pills.options
    # a name the store refuses: the store's message, in Chinese
    newest = store.list()[0].id
    at.text_input(key=f"runs.name.{newest}").input("   ").run()
    at.button(key="runs.rename").click().run()
    assert [e.value for e in at.error] == [ZH["messages"][
        "a run name cannot be empty; type a few words that describe the run"
    ]]  # fmt: skip
    # importing a config: a bad one, then a good one
    upload = next(u for u in at.file_uploader if u.key == "runs.import")
    upload.set_value(("bad.json", b'{"train": {"lr": "fast"}}', "application/json")).run()
    said = ZH["messages"]["{path}: must be a number, got {value}"]
    assert [unplain(e.value) for e in at.error] == [
        ZH["text"]["{file} is not a usable config: {error}"].format(
            file="bad.json", error=said.format(path="train.lr", value="'fast'")
        )
    ]
    cfg = Config().replace(**{"data.dataset": "mnist"})
    upload = next(u for u in at.file_uploader if u.key == "runs.import")
    upload.set_value(("good.json", cfg.to_json().encode(), "application/json")).run()
    assert_chinese(at)
    at.text_input(key="runs.q").input("nothing like this").run()
    assert_chinese(at, least=10)
    assert any("没有匹配" in i.value for i in at.info)


def test_compare_page_in_chinese() -> None:
    stored(2)
    at = open_page("compare", {"lang": "zh"})
    texts = assert_chinese(at)
    finals, diff = at.table[0].value, at.table[1].value
    assert ZH["text"]["validation accuracy"] in finals.columns
    assert set(finals[ZH["text"]["status"]]) == {ZH["text"]["finished"]}
    assert list(diff[ZH["text"]["setting"]]) == [ZH["fields"]["train.lr"]["label"]]
    assert len(at.get("vega_lite_chart")) == 2  # loss and accuracy, overlaid
    assert ZH["text"]["Loss"] in texts and ZH["text"]["Accuracy"] in texts  # chart titles
    # a bad sweep value: the config's message in Chinese, the typed value as typed
    at.text_input(key="compare.values.train.lr").input("fast").run()
    assert_chinese(at)
    said = ZH["messages"]["{path}: must be a number, got {value}"]
    assert [unplain(w.value) for w in at.warning] == [
        "fast: " + said.format(path="train.lr", value="'fast'")
    ]
    # a sweep is keyed by its runs' labels: a language switch keeps it (and its training)
    at.text_input(key="compare.values.train.lr").input("0.01; 0.3").run()
    sweep = at.session_state["compare.cmp.sweep"]
    assert sweep.labels == ["Learning rate = 0.01", "Learning rate = 0.3"]
    at.segmented_control(key=i18n.WIDGET).set_value("en").run()
    assert_clean(at)
    assert at.session_state["compare.cmp.sweep"] is sweep


def test_search_page_in_chinese() -> None:
    at = open_page("search", {"lang": "zh"})
    assert_chinese(at)
    at.selectbox(key="search.source").set_value(PLAYGROUND_START).run()
    at.number_input(key="search.trials").set_value(2).run()
    at.number_input(key="search.epochs").set_value(1).run()
    at.button(key="search.start").click().run()
    for _ in range(6):
        if not at.session_state["search.run"].searching:
            break
        at.run()
    texts = assert_chinese(at)
    assert at.session_state["search.run"].done_here == 2
    assert len(at.get("vega_lite_chart")) == 2  # metric by knob, best so far
    assert ZH["text"]["Best {objective} so far"].format(objective="验证准确率") in texts
    best = at.table[-1].value
    assert {"试验编号", "试验状态", "学习率", "优化器"} <= set(best.columns)
    assert set(best["试验状态"]) == {ZH["text"]["COMPLETE"]}
    # the search-space editor: its column labels and the shown names of its cells
    editor = json.loads(at.data_editor[0].proto.columns)
    labels = [c.get("label", "") for c in editor.values()]
    options = [o["label"] for c in editor.values()
               for o in c.get("type_config", {}).get("options", [])]  # fmt: skip
    assert ZH["text"]["log scale"] in labels and ZH["text"]["categorical"] in options
    assert "学习率" in options and len(options) > 40
    assert not english_words(labels + options), english_words(labels + options)


def test_switching_the_language_keeps_the_edited_search_space() -> None:
    """The editor's column labels change with the language, which draws a new editor: it
    starts from the table as edited, not from the default space. (AppTest cannot type into a
    data editor, so the edits are put where the page keeps them.)"""
    at = open_page("search")
    key = f"search.space.{at.selectbox(key='search.source').value}"
    default = at.data_editor[0].value
    edited = default.copy()
    edited.loc[0, "high"] = 0.05
    at.session_state[f"{key}.edited"] = edited  # as if typed: the page keeps it each run
    at.segmented_control(key=i18n.WIDGET).set_value("zh").run()
    assert_clean(at)
    assert at.data_editor[0].value.loc[0, "high"] == 0.05
    assert json.loads(at.data_editor[0].proto.columns)["log"]["label"] == "对数刻度"
    at.run()  # the same language again: the same editor, its data unchanged
    assert at.data_editor[0].value.loc[0, "high"] == 0.05


def test_a_bad_search_space_says_why_in_chinese(monkeypatch: pytest.MonkeyPatch) -> None:
    row = {"field": "train.lr", "type": "float", "low": 0.0, "high": 0.1, "log": True,
           "choices": "", "grid": ""}  # fmt: skip
    bad = pd.DataFrame([row], columns=list(search_view.SPACE_COLUMNS))
    monkeypatch.setattr(search_view, "default_space", lambda cfg: bad)
    at = open_page("search", {"lang": "zh"})
    assert not at.exception
    assert len(at.error) == 1 and "超出范围" in at.error[0].value, at.error[0].value
    assert not english_words([at.error[0].value])


def test_evaluation_page_in_chinese_with_the_roc_note() -> None:
    stored(1)
    at = open_page("evaluation", {"lang": "zh"})
    texts = assert_chinese(at)
    assert ZH["text"][ROC_NOTE] in texts  # next to the ROC chart
    classes = at.table[0].value
    assert {"类别", "精确率", "召回率", "F1", "特异度"} <= set(classes.columns)
    assert "宏平均" in set(classes["类别"])
    assert ZH["text"]["true-positive rate"] in texts and "召回率" in texts
    assert ZH["text"]["predicted"] in at.table[-1].value.columns  # the misclassified
    roc = next(c for c in at.get("vega_lite_chart") if '"FPR' in c.proto.spec)
    encoding = json.loads(roc.proto.spec)["encoding"]
    assert encoding["x"]["field"] == "FPR" and encoding["y"]["field"] == "TPR"
    assert encoding["x"]["title"] == ZH["text"]["false-positive rate"]
    assert {"FPR", "TPR"} <= set(chart_data(roc).columns)


def test_roc_plots_the_true_positive_rate_against_the_false_positive_rate() -> None:
    """The ROC table's FPR column is FP / (FP + TN) and TPR is TP / (TP + FN), as scikit-learn
    computes them; the English page says so next to the chart too."""
    rng = np.random.default_rng(0)
    target = rng.integers(0, 2, 60)
    p1 = np.clip(target * 0.3 + rng.random(60) * 0.7, 0, 1)
    report = evaluate_classifier(np.stack([1 - p1, p1], axis=1), target)
    df = curves_table(report, "roc")
    assert AXES["roc"] == (("FPR", "false-positive rate"), ("TPR", "true-positive rate"))
    one = df[df["label"] == "1"]
    fpr, tpr, _ = roc_curve(target == 1, p1)
    assert np.allclose(one["FPR"], fpr) and np.allclose(one["TPR"], tpr)
    assert not np.allclose(one["FPR"], 1 - one["TPR"])  # not the notes' (TPR, 1 - FPR)
    assert re.search(r"1 − FPR", ROC_NOTE) and "specificity" in ROC_NOTE
    stored(1)
    at = open_page("evaluation")
    assert_clean(at)
    assert ROC_NOTE in [c.value for c in at.caption]


def test_english_pages_show_english() -> None:
    """The checks above would catch English: the same pages in English are full of it."""
    stored(1)
    for page, words in (
        ("runs", ("Export", "Delete", "Import")),
        ("compare", ("Stored", "Sweep", "Settings")),
        ("evaluation", ("Evaluation", "Confusion", "Misclassified")),
        ("search", ("Hyperparameter", "Objective", "Sampler")),
    ):
        left = english_words(without_run_names(shown_texts(open_page(page))))
        for word in words:
            assert word in left or word in ALLOWED, (page, word)


def test_every_text_these_pages_translate_has_chinese() -> None:
    """Also the texts the walks above do not reach: other errors, help, empty stores."""
    missing = untranslated(MODULES)
    assert not missing, "\n".join(missing)
    # texts passed by name rather than as literals
    for text in (ROC_NOTE, "class label", "ROC curves (one class against the rest)",
                 "Precision-recall curves", *(t for axis in AXES.values() for _, t in axis),
                 "curve", "predicted", "true"):  # fmt: skip
        assert HAN.search(ZH["text"].get(text, "")), text


def _errors() -> list[str]:
    """Messages a student can make the engine give on these pages."""
    out = []
    for path, text in (("train.lr", "fast"), ("train.epochs", "1.5")):
        with pytest.raises(ConfigError) as e:
            parse_value(path, text)
        out.append(str(e.value))
    for path, value in (("train.lr", -1.0), ("train.optimizer", "foo")):
        with pytest.raises(ConfigError) as e:
            check_value(path, value)
        out.append(str(e.value))
    rows = [
        {"field": "train.lr", "type": "float", "low": 0.2, "high": 0.1},
        {"field": "train.lr", "type": "float", "low": 0.1, "high": 0.2, "grid": "abc"},
        {"field": "train.optimizer", "type": "categorical", "choices": "adam, foo"},
        {"field": "train.optimizer", "type": "float", "low": 1, "high": 2},
        {"field": "model.hidden", "type": "widths", "low": 8, "high": 4, "choices": "1, 3"},
        {"field": "nope", "type": "float", "low": 1, "high": 2},
    ]
    for row in rows:
        frame = pd.DataFrame([row], columns=list(search_view.SPACE_COLUMNS))
        for column in ("choices", "grid"):
            frame[column] = frame[column].astype(object).where(frame[column].notna(), "")
        with pytest.raises(ConfigError) as e:
            search_view.space_from_table(frame, "val_acc", 2)
        out.append(str(e.value))
    for name in ("", "a\tb", "x" * 200):
        with pytest.raises(ConfigError) as e:
            check_study_name(name)
        out.append(str(e.value))
    store = RunStore()
    t = Trainer(Config().replace(**{**TINY, "train.epochs": 1}))
    run_id = store.save(t, page="pg")
    for name in ("", "a\tb", "x" * 500):
        with pytest.raises(StoreError) as e:
            store.rename(run_id, name)
        out.append(str(e.value))
    return out


def test_errors_a_student_can_cause_here_read_in_chinese() -> None:
    errors = _errors()
    assert len(errors) == 16
    for english in errors:
        chinese = i18n.message(english, "zh")
        assert HAN.search(chinese), english
        assert i18n.message(english, "en") == english
    assert i18n.message("The search stopped: row 1: nan is not a finite number", "zh") == (
        "搜索已停止：第 1 行：nan 不是有限的数"
    )
