"""Checks that a page shown with lang=zh has no English left: the texts a page shows (walked
from an AppTest's element tree, the live view's data and the charts' specs), the English words
in them outside a short allow-list, and the texts a module puts through translation."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator, Sequence
from typing import Any

from app_helpers import chart_data
from google.protobuf.message import Message

from tests.zh_words import ALLOWED, HAN, WORD
from ui import i18n

ZH = i18n.table("zh")

# Proto fields that hold shown text (labels, markdown bodies, options); not help (a tooltip),
# ids, keys or icons.
TEXT_FIELDS = {"label", "body", "options", "placeholder", "text", "caption", "title", "value"}
SKIP_FIELDS = {"id", "form_id", "icon", "help", "json", "spec", "data", "datasets", "url"}
# The live view component's text keys (its other strings are base64 pictures and flags).
# (A column's "labels" is a list of names; the points' "labels" a base64 string.)
VIEW_TEXT = {"title", "label", "labels[]", "legend", "caption", "output_title", "curve_legend"}
SLOT = re.compile(r"\{\w*(:[^}]*)?\}")  # a format slot: "{n:,}" names no English word
STYLE = re.compile(r"\s*<style>")  # a page's CSS, sent as markdown but never shown


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


def untranslated(paths: Sequence[str]) -> list[str]:
    """The texts the modules at `paths` translate that have no Chinese (or whose Chinese has
    no Chinese in it though the English has words)."""
    return [
        f"{path}: {text!r}"
        for path in paths
        for text in translated_literals(path)
        if text not in ZH["text"]
        or (WORD.search(SLOT.sub("", text)) and not HAN.search(ZH["text"][text]))
    ]
