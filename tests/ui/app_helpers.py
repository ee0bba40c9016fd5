"""Helpers for the AppTest page tests: open a page of the real app, read its state."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

from ui.text import JOINER

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


def chart_data(element: Any) -> Any:
    """The table a Vega-Lite chart element was sent (a pandas DataFrame): as Arrow data
    (st.vega_lite_chart with a table, ui.charts.show), or inline in the spec (st.altair_chart
    puts it in the spec's `datasets`)."""
    import pandas as pd
    import pyarrow as pa

    proto = element.proto
    if proto.data.data:
        return pa.ipc.open_stream(proto.data.data).read_pandas()
    for named in proto.datasets:
        return pa.ipc.open_stream(named.data.data).read_pandas()
    spec = json.loads(proto.spec)
    inline = list(spec.get("datasets", {}).values()) or [spec.get("data", {}).get("values")]
    rows = [row for table in inline if table for row in table]
    return pd.DataFrame(rows) if rows else None


def _layers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The unit specs (mark + encoding) of a chart: itself, its layers, a facet's inner one."""
    if "layer" in spec:
        return [u for layer in spec["layer"] for u in _layers(layer)]
    if "spec" in spec:
        return _layers(spec["spec"])
    return [spec]


def chart_problems(element: Any) -> list[str]:
    """Why a chart would show no data marks, judged from its spec and its data: no rows, an
    encoded field missing or empty, a log scale without positive values, bars on a log
    scale (they start at 0, which a log scale cannot draw), a colour domain that is empty or
    that none of the data falls in."""
    spec = json.loads(element.proto.spec)
    title = spec.get("title") or ""
    df = chart_data(element)
    if df is None or not len(df):
        return [f"{title!r}: no data"]
    problems = []
    for unit in _layers(spec):
        mark = unit.get("mark", {})
        mark = mark.get("type") if isinstance(mark, dict) else mark
        encoding = unit.get("encoding", {})
        for channel, enc in encoding.items():
            if not isinstance(enc, dict) or "field" not in enc:
                continue
            problems += [
                f"{title!r}: {p}" for p in _channel_problems(df, mark, channel, enc, encoding)
            ]
    facets = [spec.get(k) for k in ("row", "column")] + [spec.get("facet")]
    facets += [
        spec["facet"].get(k) for k in ("row", "column") if isinstance(spec.get("facet"), dict)
    ]
    for facet in facets:
        if isinstance(facet, dict) and facet.get("field") and facet["field"] not in df.columns:
            problems.append(f"{title!r}: facet field {facet['field']!r} not in the data")
    return problems


def _channel_problems(
    df: Any, mark: str, channel: str, enc: dict[str, Any], encoding: dict[str, Any]
) -> list[str]:
    field = enc["field"]
    if field not in df.columns:
        return [f"{channel} field {field!r} not in the data"]
    values = df[field].dropna()
    if not len(values):
        return [f"{channel} field {field!r} has no values"]
    problems = []
    scale = enc.get("scale") or {}
    if scale.get("type") == "log":
        if not (values.astype(float) > 0).any():
            problems.append(f"log scale on {field!r} without positive values")
        if mark == "bar" and channel in ("x", "y") and f"{channel}2" not in encoding:
            problems.append(f"bars on a log scale ({field!r}) draw nothing")
    domain = scale.get("domain")
    nominal = enc.get("type") == "nominal"
    if nominal and isinstance(domain, list):
        if not domain:
            problems.append(f"empty colour domain for {field!r}")
        elif not set(map(str, values)) & set(map(str, domain)):
            problems.append(f"no {field!r} value in its colour domain")
    return problems


def assert_every_chart_has_data(at: AppTest, where: str = "") -> int:
    """Every Vega-Lite chart on the page has data its marks can draw; every live view has
    pictures to draw. Returns how many charts were checked."""
    problems = [p for element in at.get("vega_lite_chart") for p in chart_problems(element)]
    assert not problems, f"{where}: {problems}"
    for element in at.get("bidi_component"):
        data = json.loads(element.proto.json or "{}")
        kind = data.get("kind")
        if kind == "network":
            assert all(c["n"] and c["maps"] for c in data["columns"]), where
            assert data["output"]["values"], where
        elif kind == "table":
            assert data["rows"] and data["columns"], where
        elif kind == "digits" and "labels" in data:
            assert data["labels"] and data["pred"], where
    return len(at.get("vega_lite_chart"))


def shown(element: Any) -> str:
    """What a message element (error, warning, info, caption, toast) shows, as a reader sees
    it: visitor-chosen text goes through `ui.text.plain`, whose Markdown escapes and invisible
    word joiners are not part of what is read."""
    return unplain(str(element.value))


def unplain(text: str) -> str:
    """`ui.text.plain`'s output as rendered: escapes dropped, word joiners removed."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text).replace(JOINER, "")
