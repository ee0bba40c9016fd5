"""The Playground entirely in Chinese with lang=zh (issue 12): every text the page shows after a
few steps (sidebar, buttons, banners, the live view's labels, the charts, the tables) has no
English word left but a short list of names, units and formulas."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator, Sequence
from typing import Any

from app_helpers import assert_clean, chart_data, open_page
from google.protobuf.message import Message

from engine.trainer import History
from ui import charts, i18n

ZH = json.loads((i18n.I18N_DIR / "zh.json").read_text(encoding="utf-8"))

# Proto fields that hold shown text (labels, markdown bodies, options); not help (a tooltip),
# ids, keys or icons.
TEXT_FIELDS = {"label", "body", "options", "placeholder", "text", "caption", "title", "value"}
SKIP_FIELDS = {"id", "form_id", "icon", "help", "json", "spec", "data", "datasets", "url"}
# The live view component's text keys (its other strings are base64 pictures and flags).
# (A column's "labels" is a list of names; the points' "labels" a base64 string.)
VIEW_TEXT = {"title", "label", "labels[]", "legend", "caption", "output_title", "curve_legend"}
WORD = re.compile(r"[A-Za-z]{3,}")
HAN = re.compile(r"[\u4e00-\u9fff]")
STYLE = re.compile(r"\s*<style>")  # a page's CSS, sent as markdown but never shown
ALLOWED = {
    # proper names of methods and products, as the course notes write them
    "MNIST", "SGD", "Adam", "AdamW", "ReLU", "TensorFlow", "Playground", "Dropout", "CSV",
    "Xavier", "Glorot", "Kaiming", "Nesterov", "RMSprop", "AdaGrad", "Maxout",
    "tanh", "sigmoid", "sin", "cos", "exp",  # functions in formulas
    "CPU", "CUDA", "GPU", "MPS",  # devices
    "Language", "English",  # the language switch names both languages on purpose
}  # fmt: skip


def _proto_texts(message: Message) -> Iterator[str]:
    for field, value in message.ListFields():
        if field.name in SKIP_FIELDS:
            continue
        items = value if isinstance(value, Sequence) and not isinstance(value, str) else [value]
        for item in items:
            if isinstance(item, Message):
                yield from _proto_texts(item)
            elif isinstance(item, str) and field.name in TEXT_FIELDS and not STYLE.match(item):
                yield item


def _view_texts(data: Any, key: str = "") -> Iterator[str]:
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _view_texts(v, k)
    elif isinstance(data, list):
        for v in data:
            yield from _view_texts(v, f"{key}[]")
    elif isinstance(data, str) and key in VIEW_TEXT:
        yield data


def _chart_texts(spec: Any, key: str = "") -> Iterator[str]:
    """Titles (chart, axes, legends, facet headers) and legend labels a spec shows."""
    if isinstance(spec, dict):
        for k, v in spec.items():
            if k in ("title", "labelExpr") and isinstance(v, str):
                # a labelExpr maps data values to shown labels: keep the labels ("? '...'")
                yield from re.findall(r"\? '([^']*)'", v) if k == "labelExpr" else [v]
            else:
                yield from _chart_texts(v, k)
    elif isinstance(spec, list):
        for v in spec:
            yield from _chart_texts(v, key)


def shown_texts(at: Any) -> list[str]:
    """Every text the page shows (not tooltips), with where it comes from."""
    texts: list[str] = []

    def walk(node: Any) -> None:
        proto = getattr(node, "proto", None)
        if node.type == "bidi_component":
            texts.extend(_view_texts(json.loads(node.proto.json or "{}")))
        elif node.type == "vega_lite_chart":
            spec = json.loads(node.proto.spec)
            texts.extend(_chart_texts(spec))
            df = chart_data(node)
            for column in ("split", "layer"):  # legend entries and facet headers from data
                if df is not None and column in df.columns and "labelExpr" not in node.proto.spec:
                    texts.extend(str(v) for v in df[column].unique())
        elif node.type == "table":
            df = node.value
            texts.extend(str(c) for c in df.columns)
            texts.extend(str(v) for v in df.to_numpy().ravel())
        elif isinstance(proto, Message):
            texts.extend(_proto_texts(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return texts


def english_words(texts: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for text in texts:
        if HAN.search(text):
            continue  # written in Chinese: names and formulas in it are the translator's choice
        for word in WORD.findall(text):
            if word not in ALLOWED:
                found.setdefault(word, []).append(text)
    return found


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


def translated_literals(path: str) -> list[str]:
    """The English texts a module puts through i18n.t / i18n.text_in / a local `tr` as
    literals (implicit concatenation joined), including those only some runs show."""
    tree = ast.parse((i18n.I18N_DIR.parents[1] / path).read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else ""
        name = node.func.id if isinstance(node.func, ast.Name) else name
        args = node.args[1:] if name == "text_in" else node.args
        if name in ("t", "text_in", "tr") and args:
            out += [n.value for n in ast.walk(args[0]) if isinstance(n, ast.Constant)]
    return [text for text in out if isinstance(text, str)]


def test_every_text_the_playground_translates_has_chinese() -> None:
    """Also the texts the walk above cannot reach: banners of finished or queued runs, errors,
    help. (A literal that names a key rather than a text, if any, would show up here too.)"""
    missing = [
        f"{path}: {text!r}"
        for path in PAGE_MODULES
        for text in translated_literals(path)
        if text not in ZH["text"] or (WORD.search(text) and not HAN.search(ZH["text"][text]))
    ]
    assert not missing, "\n".join(missing)
