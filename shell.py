"""What every session runs (app.py serves it): page config, navigation sections, then the
chosen page. Tests open this file with AppTest."""

import os
import sys

# One intra-op thread per training: the playground's networks are small, and on a shared
# server (2 cores, several sessions) that is several times faster than torch's default of one
# thread per core fighting over the same cores. OMP_NUM_THREADS must be set before torch loads
# so that every thread inherits it (Streamlit runs reruns in fresh threads, and torch's
# set_num_threads only changes the calling thread's OpenMP setting); ui/live.py also sets it
# where it trains, in case torch was imported first.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import streamlit as st

from ui import preload

preload.wait()  # app.py's warm-up, if it is still importing: never import alongside it

import torch  # noqa: E402

from ui import i18n, presenter, sessions  # noqa: E402
from ui.live import session_lock  # noqa: E402
from ui.navigation import HOME, PAGES  # noqa: E402

torch.set_num_threads(1)
# Every torch op hands Python's GIL back and takes it again. When another thread (the web
# server sending the last redraw, another session) runs Python meanwhile, taking it back waits
# up to the switch interval, 5 ms by default, at every op of a training step. 0.5 ms keeps
# that wait small next to a step of a small network (about 0.5 ms).
sys.setswitchinterval(0.0005)

st.set_page_config(
    page_title=i18n.t("Neural-network playground"),  # the browser tab's title
    page_icon="🧠",
    layout="wide",
    initial_sidebar_state="collapsed" if presenter.presenting() else "auto",
)
presenter.page_styles()
i18n.chrome_styles()

# Page scripts live in app_pages/, not pages/: Streamlit treats a folder named pages/ next to
# the page script as an old-style multipage app, and on a fresh server a deep link such as
# /playground then ran the page script alone, without this file (no navigation, no settings).
# The pages and their sections are listed once, in ui/navigation.py.
# Titles in the session's language (ui/i18n.py); a page's URL comes from its script's name,
# so switching the language keeps the page and its links.
sections: dict[str, list] = {}  # section -> its pages, in the table's order
for entry in PAGES:
    section = i18n.section_title(entry.section) if entry.section else ""
    title = i18n.page_title(entry.key, entry.title)
    sections.setdefault(section, []).append(
        st.Page(entry.path, title=title, icon=entry.icon, default=entry is HOME)
    )

# Past the server's cap on sessions (PLAYGROUND_MAX_SESSIONS, ui/sessions.py) no page runs,
# so this session trains nothing and holds no model. The navigation is still declared (hidden),
# so the page asked for (a shared /playground link) is the one shown once a slot frees up; a
# press of the button (or a reload) asks again.
full = not sessions.admitted()
# expanded: every page listed (13 pages: Streamlit would fold all past ten under "View 3
# more", an English button a teacher's class could miss every lab behind)
page = st.navigation(sections, position="hidden" if full else "sidebar", expanded=True)
if full:
    st.title(i18n.t("Neural-network playground"))
    st.warning(i18n.message(sessions.full_message()), icon=":material/group:")
    st.button(i18n.t("Try again"), type="primary")
    st.stop()

i18n.switch()  # under the navigation, above the page's own controls: easy to find in class

# The page runs holding the session's lock: the training service trains this session's runs
# only between its script runs, never while a page reads or changes a model (ui/live.py).
with session_lock():
    page.run()
presenter.switch()  # at the bottom of the sidebar, under the page's own controls
