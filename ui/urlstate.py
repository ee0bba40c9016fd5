"""Every control in the URL: a page's values are read from the query string once per session
and written back after each run, so a copied link reproduces the same data, network and seed.

Config fields use their dotted names (`train.lr=0.03`), written only where they differ from the
page's starting config so links stay short; view switches (show test points, ...) use `view.*`.
Garbage or out-of-range parameters fall back to the page's defaults with a visible notice
(engine.config.Config.from_query), never an exception.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import streamlit as st

from engine.config import Config
from engine.registry import ConfigError
from ui import i18n
from ui.controls import PageControls, add_notice, values_key
from ui.presenter import presenting
from ui.state import skey

VIEW_PREFIX = "view."
# View settings every page with live runs has: the training speed (ui/transport.py) and the
# presenter view (shell.py), so a teacher's link keeps both.
COMMON_VIEWS: dict[str, Any] = {"speed": "max", "present": False}


def page_views(views: Mapping[str, Any]) -> dict[str, Any]:
    """A page's own view settings with the common ones."""
    return {**COMMON_VIEWS, **views}


def init_page_state(pc: PageControls, views: Mapping[str, Any]) -> None:
    """On the page's first run in this session, take its values from the URL (or the base)."""
    views = page_views(views)
    if values_key(pc.page) in st.session_state:  # set before (or by a stored run opened here)
        st.session_state.setdefault(skey(pc.page, "view"), dict(views))
        return
    params = st.query_params.to_dict()
    config_params = {
        k: v for k, v in params.items() if not k.startswith(VIEW_PREFIX) and k != i18n.PARAM
    }
    cfg, notices = Config.from_query(config_params, base=pc.base)
    if cfg.data.dataset not in pc.datasets or cfg.data.dataset == "uploaded":
        why = (
            "uploaded points cannot travel in a link; upload the file again"
            if cfg.data.dataset == "uploaded"
            else "this page does not offer it"
        )
        notices.append(f"ignored data.dataset={cfg.data.dataset!r}: {why}")
        try:
            cfg = cfg.replace(**{"data.dataset": pc.base.data.dataset})
        except ConfigError:
            cfg = pc.base
    for notice in notices:
        # the engine lists every valid key; a student only needs to know this one is unknown
        notice = re.sub(r"unknown key; valid keys.*", "no such setting", notice)
        add_notice(pc.page, f"Link parameter {notice}")
    st.session_state[values_key(pc.page)] = cfg.to_flat()
    st.session_state[skey(pc.page, "view")] = _read_views(pc.page, params, views)


def _read_views(page: str, params: Mapping[str, str], defaults: Mapping[str, Any]) -> dict:
    """View settings from the link: switches (true/false) and names (text, which the page
    checks against its choices)."""
    out = dict(defaults)
    for key, text in params.items():
        if not key.startswith(VIEW_PREFIX):
            continue
        name = key[len(VIEW_PREFIX) :]
        low = text.lower()
        if name in defaults and isinstance(defaults[name], str):
            out[name] = text
        elif name in defaults and low in ("true", "false", "1", "0"):
            out[name] = low in ("true", "1")
        else:
            add_notice(page, f"Link parameter ignored {key}={text!r}: not a known view switch")
    return out


def view_values(page: str) -> dict[str, Any]:
    """The page's view settings (the common ones only, on a page without a link of its own)."""
    return st.session_state.setdefault(skey(page, "view"), dict(COMMON_VIEWS))


def view_toggle(page: str, name: str, label: str, help: str | None = None) -> bool:
    """A toggle for a view switch whose value also lives in the URL. A change is copied into
    the view settings before the page script runs, so parts of the page drawn above the
    toggle (the live view) already see it."""
    views = view_values(page)
    key = skey(page, f"wview.{name}")
    if key not in st.session_state:
        st.session_state[key] = views[name]

    def copy() -> None:
        views[name] = st.session_state[key]

    st.toggle(label, key=key, help=help, on_change=copy)
    return views[name]


def write_url(pc: PageControls, cfg: Config | None, view_defaults: Mapping[str, Any]) -> None:
    """Mirror the page's state into the query string (only what differs from the defaults).

    With an invalid combination (cfg is None) the link keeps its last valid state.
    """
    if cfg is None:
        return
    view_defaults = page_views(view_defaults)
    view_values(pc.page)["present"] = presenting()  # session-wide: see ui/presenter.py
    params = cfg.to_query(base=pc.base)
    if cfg.data.dataset == "uploaded":  # a link cannot carry the user's file
        params.pop("data.dataset", None)
    for name, value in view_values(pc.page).items():
        if value != view_defaults.get(name):
            text = value if isinstance(value, str) else ("true" if value else "false")
            params[VIEW_PREFIX + name] = text
    language = i18n.link_value()  # session-wide, like the presenter view
    if language is not None:
        params[i18n.PARAM] = language
    if st.query_params.to_dict() != params:
        st.query_params.from_dict(params)
