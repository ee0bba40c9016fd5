"""One-click presets: load a shipped config (assets/presets/) into a page's controls."""

from __future__ import annotations

import streamlit as st

from engine.presets import Preset
from ui import i18n
from ui.controls import set_values
from ui.lifecycle import reset_run
from ui.state import skey


def _load(page: str, presets: dict[str, Preset]) -> None:
    name = st.session_state.get(skey(page, "preset"))
    if name in presets:
        set_values(page, presets[name].config.to_flat())
        reset_run(page)
        title = i18n.t(presets[name].title)
        st.toast(
            i18n.t("Loaded “{title}”. Press Play.").format(title=title), icon=":material/check:"
        )


def preset_picker(page: str, presets: list[Preset]) -> None:
    """A "Presets" button opening a select box of presets, each with its summary, and a
    Load button (pages put it in their row of run buttons)."""
    if not presets:
        return
    by_name = {p.name: p for p in presets}
    with st.popover(
        i18n.t("Presets"),
        icon=":material/science:",
        help=i18n.t("Classic experiments in one click"),
    ):
        name = st.selectbox(
            i18n.t("Preset"),
            list(by_name),
            # looked up now, in this run's language (a lambda would ask whenever it is called)
            format_func={n: i18n.t(p.title) for n, p in by_name.items()}.__getitem__,
            key=skey(page, "preset"),
        )
        st.caption(i18n.t(by_name[name].summary))
        st.button(
            i18n.t("Load preset"),
            key=skey(page, "btn.preset"),
            on_click=_load,
            args=(page, by_name),
            icon=":material/download_done:",
            type="primary",
        )
