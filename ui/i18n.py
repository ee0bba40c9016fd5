"""The interface's language: English (the source text, kept in the code that owns each string)
or Simplified Chinese (data in assets/i18n/zh/*.json, keyed by stable ids).

The engine keeps English and stable keys (field paths, registry names) and never learns about
languages; what the student reads is looked up here as it is drawn:

- `field_label`, `field_help`: a config field's sidebar label and help, by field path;
- `entry_label`, `entry_help`: a registry entry's label and one-line help, by field path + name;
- `page_title`, `page_blurb`, `section_title`: the page table (ui/navigation.py);
- `choice_label`: a fixed choice's shown text (data.normalize, model.pool, ...);
- `t`: any other interface text, by its English source (gettext's way: the English is the key);
  `text_in` the same in a given language, for code that runs outside the page's script;
- `message`: a message the engine or the training thread made from a template ("Loss became
  nan at step 12"), matched against the table's "messages" templates.

A missing Chinese text falls back to the English source, so a new string never breaks a page;
`tests/ui/test_i18n.py` lists what is missing. The terms follow `assets/i18n/glossary.json`
(the course notes' words), which a test checks the translations against.

The language is session-wide, like the presenter view: from the link (`lang=zh`), else the
switch in the sidebar, else the browser's language (`st.context.locale`). Trainer and lab pages
write it into their links (ui/urlstate.py) when it is not English.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import streamlit as st

LANGS = {"en": "English", "zh": "中文"}
DEFAULT = "en"
PARAM = "lang"  # the link parameter
KEY = "lang"  # the session's setting
WIDGET = "lang.switch"
I18N_DIR = Path(__file__).resolve().parents[1] / "assets" / "i18n"


def _merge(into: dict[str, Any], part: dict[str, Any], where: str) -> None:
    for key, value in part.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value, f"{where}.{key}")
        elif key in into and into[key] != value:
            raise ValueError(f"{where}.{key} is translated twice, differently")
        else:
            into[key] = value


def parts(lang: str) -> list[Path]:
    """The files that hold `lang`'s table: one per part of the app (interface, presets, lab
    walkthroughs, messages ...), so that each can be written and reviewed on its own."""
    return sorted((I18N_DIR / lang).glob("*.json"))


@cache
def table(lang: str) -> dict[str, Any]:
    """The translation table of `lang` (empty for English, whose text lives in the code): the
    parts in assets/i18n/<lang>/ merged; a text two parts translate differently is an error."""
    merged: dict[str, Any] = {}
    for path in parts(lang):
        _merge(merged, json.loads(path.read_text(encoding="utf-8")), path.stem)
    return merged


def _from_link_or_browser() -> str:
    text = str(st.query_params.get(PARAM, "")).strip().lower()
    if text in LANGS:
        return text
    locale = str(getattr(st.context, "locale", "") or "").lower()
    return "zh" if locale.startswith("zh") else DEFAULT


def lang() -> str:
    """This session's language: "en" or "zh"."""
    if KEY not in st.session_state:
        st.session_state[KEY] = _from_link_or_browser()
    return str(st.session_state[KEY])


def link_value() -> str | None:
    """What a page's link says of the language: None for English (links stay short), else
    the language's code."""
    current = lang()
    return None if current == DEFAULT else current


def _lookup(*keys: str, language: str | None = None) -> str | None:
    """The non-empty text at `keys` in the table of `language` (the session's by default)."""
    node: Any = table(language or lang())
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node if isinstance(node, str) and node else None


def t(text: str) -> str:
    """Interface text by its English source."""
    return _lookup("text", text) or text


def text_in(language: str, text: str) -> str:
    """`t` in a given language, without asking the session: for code that runs outside the
    page's script (the training service's frames, cached chart specs)."""
    return _lookup("text", text, language=language) or text


_SLOT = re.compile(r"\{(\w+)\}")
# What a slot may match: a field path is a dotted name (so "{path}: ..." cannot swallow the
# head of a wrapping message); anything else is any text.
_SLOT_PATTERN = {"path": r"[\w.\[\]]+"}


@cache
def _templates(language: str) -> tuple[tuple[re.Pattern[str], str], ...]:
    """The "messages" table as (pattern of the English template, Chinese template); longer
    templates first, so that the most specific one wins."""
    out = []
    for english, chinese in table(language).get("messages", {}).items():
        pattern, last, seen = "", 0, set()
        for slot in _SLOT.finditer(english):
            name = slot.group(1)
            matches = _SLOT_PATTERN.get(name, ".+?")
            # a slot named twice matches the same text twice
            group = f"(?P={name})" if name in seen else f"(?P<{name}>{matches})"
            pattern += re.escape(english[last : slot.start()]) + group
            seen.add(name)
            last = slot.end()
        out.append((re.compile(pattern + re.escape(english[last:]), re.DOTALL), chinese))
    return tuple(sorted(out, key=lambda item: -len(item[0].pattern)))


def message(text: str, language: str | None = None, depth: int = 0) -> str:
    """A made-up message in the session's language (or `language`): the first "messages"
    template it fits, its slots filled with what they matched, each of which is translated in
    turn ("Training stopped: {error}" wraps an engine error); else an exact interface text;
    else the English as it is. The engine keeps writing English; the CLI reads that."""
    language = language or lang()
    if language == DEFAULT or not text:
        return text
    exact = _lookup("text", text, language=language)
    if exact:
        return exact
    for pattern, chinese in _templates(language):
        match = pattern.fullmatch(text)
        if match and depth < 3:
            values = {k: message(v, language, depth + 1) for k, v in match.groupdict().items()}
            try:
                return chinese.format(**values)
            except (KeyError, IndexError, ValueError):  # a broken template: show the English
                return text
    return text


def tooltip_title(language: str, field: str) -> str:
    """How a chart's tooltip names a data column (`field`), in `language`."""
    return _lookup("tooltips", field, language=language) or field


def layer_name(language: str, name: str) -> str:
    """An engine layer name ("hidden 2", "output") as shown in `language`."""
    if name.startswith("hidden "):
        return text_in(language, "hidden {n}").format(n=name.removeprefix("hidden "))
    return text_in(language, name)


def field_label(path: str, english: str) -> str:
    return _lookup("fields", path, "label") or english


def field_help(path: str, english: str) -> str:
    return _lookup("fields", path, "help") or english


def pair_labels(path: str, english: tuple[str, ...]) -> tuple[str, ...]:
    node = table(lang()).get("fields", {}).get(path, {}).get("labels")
    return tuple(node) if isinstance(node, list) and len(node) == len(english) else english


def entry_label(path: str, name: str, english: str) -> str:
    return _lookup("registries", path, name, "label") or english


def entry_help(path: str, name: str, english: str) -> str:
    return _lookup("registries", path, name, "help") or english


def choice_label(path: str, value: str, english: str) -> str:
    return _lookup("choices", path, value) or english


def page_title(key: str, english: str) -> str:
    return _lookup("pages", key, "title") or english


def page_blurb(key: str, english: str) -> str:
    return _lookup("pages", key, "blurb") or english


def section_title(english: str) -> str:
    return _lookup("sections", english) or english


# Streamlit draws a file uploader's button ("Upload") and its size line ("20MB per file •
# JSON") itself, in English, with no parameter to change them. In another language the button
# says its word through CSS, and the size line goes (each page's label and help say what a
# file may hold, and the app's own checks say it again when one is too large).
_UPLOADER_CSS = """
<style>
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p {
  visibility: hidden; position: relative; }
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p::after {
  visibility: visible; position: absolute; left: 0; right: 0; text-align: center;
  content: "UPLOAD"; }
[data-testid="stFileUploaderDropzoneInstructions"] { display: none; }
</style>
"""


def chrome_styles() -> None:
    """Streamlit's own words in this session's language, where CSS can reach them (the file
    uploader's button); nothing for English."""
    if lang() != DEFAULT:
        st.html(_UPLOADER_CSS.replace("UPLOAD", t("Upload").replace('"', "")))


def switch() -> None:
    """The language switch, in the sidebar. A change keeps the session's runs and values (they
    live under keys no label touches) and rewrites the link's `lang`."""
    st.session_state[WIDGET] = lang()

    def copy() -> None:
        chosen = st.session_state[WIDGET] or lang()  # a segmented control can be cleared
        st.session_state[KEY] = chosen
        if chosen == DEFAULT:
            st.query_params.pop(PARAM, None)
        else:
            st.query_params[PARAM] = chosen

    st.sidebar.segmented_control(
        "Language / 语言",
        list(LANGS),
        format_func=LANGS.__getitem__,
        key=WIDGET,
        on_change=copy,
    )
