"""Page chrome for a classroom: a compact layout everywhere, and the presenter view.

The presenter view (`?view.present=1`, or the sidebar's switch) is for a projector: the
sidebar starts collapsed, and text, buttons and the live pictures are larger so the back row
can read them. It is a session-wide setting, so it follows the teacher from page to page;
trainer and lab pages also keep it in their links (ui/urlstate.py).
"""

from __future__ import annotations

import streamlit as st

from ui import i18n

KEY = "presenter"  # the setting (kept when a page stops before drawing the switch)
WIDGET = "presenter.switch"
PARAM = "view.present"

# Streamlit's default top padding (6rem) alone takes a tenth of a 720-pixel projector.
COMPACT_CSS = """
<style>
.stMainBlockContainer { padding-top: 3rem; padding-bottom: 3rem; }
.stMainBlockContainer [data-testid="stMetricValue"] { font-size: 1.75rem; }
</style>
"""
PRESENTER_CSS = """
<style>
.stMainBlockContainer { font-size: 1.2rem; }
.stMainBlockContainer h1 { font-size: 2.6rem; }
.stMainBlockContainer [data-testid="stMetricValue"] { font-size: 2.4rem; }
.stMainBlockContainer [data-testid="stMetricLabel"] p { font-size: 1.1rem; }
.stMainBlockContainer button p { font-size: 1.15rem; }
.stMainBlockContainer [data-testid="stCaptionContainer"] { font-size: 1.05rem; }
.stMainBlockContainer [data-testid="stMarkdown"] p { font-size: 1.2rem; }
</style>
"""


def presenting() -> bool:
    """Whether this session shows the presenter view (first from the link, then the switch)."""
    if KEY not in st.session_state:
        value = str(st.query_params.get(PARAM, "")).lower()
        st.session_state[KEY] = value in ("1", "true")
    return bool(st.session_state[KEY])


def intro(title: str, caption: str) -> None:
    """A page's title and its one-line introduction (left out in the presenter view, where
    the teacher does the introducing and the projector needs the room)."""
    st.title(i18n.t(title))
    if not presenting():
        st.caption(i18n.t(caption))


def page_styles() -> None:
    """The compact layout, and the presenter view's larger text if it is on."""
    st.html(COMPACT_CSS + (PRESENTER_CSS if presenting() else ""))


def switch() -> None:
    """The presenter view's switch, in the sidebar."""
    st.session_state[WIDGET] = presenting()

    def copy() -> None:
        st.session_state[KEY] = st.session_state[WIDGET]

    st.sidebar.toggle(
        i18n.t("Presenter view"),
        key=WIDGET,
        on_change=copy,
        help=i18n.t(
            "For a projector: larger text and pictures, sidebar collapsed when the link "
            "opens (view.present=1 in the link)."
        ),
    )
