"""Entry point: `streamlit run app.py` serves the playground.

Streamlit finds the `st.App` below and serves `shell.py` (page config, navigation, the chosen
page) to every session, plus the app's own routes (ui/routes.py: the live views' frames). The
App's lifespan warms the server up as it starts (ui/preload.py), so that the first visitor
after a restart does not wait for torch to load.
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

# Before torch loads anywhere in this process: see shell.py.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import streamlit as st

from ui import preload
from ui.routes import ROUTES


@asynccontextmanager
async def lifespan(_app: st.App) -> AsyncIterator[None]:
    preload.start()  # a background thread: the server answers at once
    yield


# ROUTES: the live views pull their frames from the training service there (ui/service.py).
app = st.App("shell.py", lifespan=lifespan, routes=ROUTES)
