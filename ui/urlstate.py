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
from ui.controls import PageControls, add_notice, values_key
from ui.state import skey

VIEW_PREFIX = "view."


def init_page_state(pc: PageControls, views: Mapping[str, Any]) -> None:
    """On the page's first run in this session, take its values from the URL (or the base)."""
    if values_key(pc.page) in st.session_state:  # set before (or by a stored run opened here)
        st.session_state.setdefault(skey(pc.page, "view"), dict(views))
        return
    params = st.query_params.to_dict()
    config_params = {k: v for k, v in params.items() if not k.startswith(VIEW_PREFIX)}
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
    return st.session_state[skey(page, "view")]


def view_toggle(page: str, name: str, label: str, help: str | None = None) -> bool:
    """A toggle for a view switch whose value also lives in the URL."""
    views = view_values(page)
    key = skey(page, f"wview.{name}")
    if key not in st.session_state:
        st.session_state[key] = views[name]
    views[name] = st.toggle(label, key=key, help=help)
    return views[name]


def write_url(pc: PageControls, cfg: Config | None, view_defaults: Mapping[str, Any]) -> None:
    """Mirror the page's state into the query string (only what differs from the defaults).

    With an invalid combination (cfg is None) the link keeps its last valid state.
    """
    if cfg is None:
        return
    params = cfg.to_query(base=pc.base)
    if cfg.data.dataset == "uploaded":  # a link cannot carry the user's file
        params.pop("data.dataset", None)
    for name, value in view_values(pc.page).items():
        if value != view_defaults.get(name):
            text = value if isinstance(value, str) else ("true" if value else "false")
            params[VIEW_PREFIX + name] = text
    if st.query_params.to_dict() != params:
        st.query_params.from_dict(params)
