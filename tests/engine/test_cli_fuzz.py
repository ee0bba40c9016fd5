"""Fuzzing the command line's config loading (issue 10): generated config files and --set
overrides go through `python -m engine config FILE` (the CLI's own loading and validation,
without training). Every case ends in the config printed (exit 0) or one error line (exit 2):
no traceback, no hang, no second line."""

from __future__ import annotations

import contextlib
import io
import json
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.cli import main
from engine.config import Config, field_paths

SECTIONS = {"data", "model", "train"}
LEAVES = field_paths()  # "seed", "data.dataset", ...
KEYS = st.one_of(
    st.sampled_from([p.split(".")[-1] for p in LEAVES] + sorted(SECTIONS)), st.text(max_size=12)
)
NUMBERS = st.one_of(
    st.integers(),
    st.integers(-(10**400), 10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, -1, 2, 0.5, 1e-300, 1e308, 2**31, 2**32, 2**64]),
)
# An integer literal of up to 6,000 digits (past Python's 4,300-digit conversion limit, which
# json.dumps hits too): a marker string that _encode writes out as digits.
LONG_INTS = st.integers(90, 6000).map(lambda d: f"@@long{d}@@")
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, LONG_INTS, st.text(max_size=20))
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(KEYS, inner, max_size=5)),
    max_leaves=20,
)


@st.composite
def config_like(draw: st.DrawFn) -> Any:
    """A dict shaped like a config or a preset: real section and field names, wild values."""
    out: dict[str, Any] = {}
    for path in draw(st.lists(st.sampled_from(LEAVES), max_size=6, unique=True)):
        node = out
        *parents, last = path.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = draw(VALUES)
    if draw(st.booleans()):
        out[draw(KEYS)] = draw(VALUES)
    if draw(st.integers(0, 3)) == 0:
        out = {"title": draw(st.text(max_size=10)), "config": out}
        if draw(st.booleans()):
            out["variants"] = draw(
                st.lists(st.fixed_dictionaries({"label": st.text(max_size=5), "set": VALUES}))
            )
    return out


def _deep(n: int, kind: str) -> str:
    if kind == "list":
        return "[" * n + "]" * n
    return '{"a":' * n + "1" + "}" * n


def _encode(draw: st.DrawFn, value: Any) -> bytes:
    """JSON text of `value` (NaN/Infinity tokens included), in one of several byte forms."""
    text = json.dumps(value, allow_nan=True, ensure_ascii=draw(st.booleans()))
    text = re.sub(r'"@@long(\d+)@@"', lambda m: "-" * draw(st.booleans()) + "7" * int(m[1]), text)
    form = draw(st.sampled_from(["utf-8", "bom", "utf-16", "latin-1", "cut", "flip"]))
    if form == "utf-8":
        return text.encode()
    if form == "bom":
        return b"\xef\xbb\xbf" + text.encode()
    if form == "utf-16":
        return text.encode("utf-16")
    if form == "latin-1":
        return text.encode("latin-1", errors="replace") + b"\xe9\xff"
    data = text.encode()
    if form == "cut":
        return data[: draw(st.integers(0, len(data)))]
    i = draw(st.integers(0, max(len(data) - 1, 0)))
    return data[:i] + bytes([draw(st.integers(0, 255))]) + data[i + 1 :]


@st.composite
def config_files(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["config", "config", "config", "value", "deep", "bytes"]))
    if kind == "config":
        return _encode(draw, draw(config_like()))
    if kind == "value":
        return _encode(draw, draw(VALUES))
    if kind == "deep":
        n = draw(st.sampled_from([31, 32, 33, 1000, 100_000]))
        return _deep(n, draw(st.sampled_from(["list", "dict"]))).encode()
    return draw(st.binary(max_size=200))


OVERRIDES = st.builds(
    lambda path, value: f"{path}={value}",
    st.one_of(st.sampled_from(LEAVES), st.text(max_size=15)),
    st.one_of(
        st.text(max_size=30),
        NUMBERS.map(str),
        st.builds(lambda d: "1" * d, st.integers(1, 6000)),
        st.lists(NUMBERS.map(str), max_size=4).map(",".join),
    ),
)


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    threads = torch.get_num_threads()
    with tempfile.TemporaryDirectory() as d:
        yield Path(d)
    torch.set_num_threads(threads)  # main() sets 1 thread for the process


def run_config_command(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(["config", *args])  # any other exception fails the test
        except SystemExit as e:  # argparse's own usage error (also one line, exit 2)
            status = e.code  # type: ignore[assignment]
    return status, out.getvalue(), err.getvalue()


def check_outcome(status: int, out: str, err: str) -> None:
    if status == 0:
        assert err == ""
        Config.from_dict(json.loads(out))  # what it printed is a valid config
        return
    assert status == 2, err
    assert out == ""
    assert err.startswith("error: ") and err.endswith("\n") and err.count("\n") == 1, err
    assert len(err) < 5000


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=config_files(), overrides=st.lists(OVERRIDES, max_size=2))
def test_generated_config_files_load_or_fail_on_one_line(
    folder: Path, data: bytes, overrides: list[str]
) -> None:
    path = folder / "fuzz.json"
    path.write_bytes(data)
    args = [str(path)]
    args += [f"--set={o}" for o in overrides]  # "--set=-x" keeps argparse from reading a flag
    check_outcome(*run_config_command(*args))


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(overrides=st.lists(OVERRIDES, min_size=1, max_size=3))
def test_generated_overrides_apply_or_fail_on_one_line(folder: Path, overrides: list[str]) -> None:
    check_outcome(*run_config_command(*[f"--set={o}" for o in overrides]))
