"""Helpers for the AppTest page tests: open a page of the real app, read its state."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "shell.py")  # what app.py serves to every session
TIMEOUT_S = 120  # a run may build MNIST tensors or score the test set on a busy CI core


def open_page(page: str, query: Mapping[str, str] | None = None) -> AppTest:
    """Run shell.py (with its st.navigation) on app_pages/<page>.py, as a browser session
    opening that page's URL with `query` would."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.query_params.update(dict(query or {}))
    return at.switch_page(f"app_pages/{page}.py").run()


def assert_clean(at: AppTest) -> None:
    """No exception and no error box on the page."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def metric(at: AppTest, label: str) -> str:
    """The value shown for `label`: an st.metric's, or one of the numbers the live view
    component shows above its pictures."""
    for m in at.metric:
        if m.label == label:
            return m.value
    shown = [m.label for m in at.metric]
    for element in at.get("bidi_component"):
        for item in json.loads(element.proto.json or "{}").get("metrics", []):
            if item["label"] == label:
                return item["value"]
            shown.append(item["label"])
    raise AssertionError(f"no metric {label!r}; have {shown}")


def values(at: AppTest, page: str) -> dict:
    """The page's canonical config values (what the URL and the trainer use)."""
    return at.session_state[f"{page}.values"]


def run_of(at: AppTest, page: str):
    """The page's LiveRun (trainer and play state)."""
    return at.session_state[f"{page}.run"]


def live_view(at: AppTest, key: str) -> dict[str, Any]:
    """The data the live view component (ui/liveview.py) was last given under `key`."""
    for element in at.get("bidi_component"):
        if element.proto.id.endswith(f"-{key}"):
            return json.loads(element.proto.json)
    raise AssertionError(f"no live view {key!r} on the page")
