"""Search spaces fuzzed (issue 10): whatever JSON a --space file or the Search page's table
holds, the space parser answers with a valid Space or a one-line ConfigError naming the place,
and a valid space's grid is sized arithmetically, never built past the limit."""

from __future__ import annotations

import math
import tracemalloc
from typing import Any

import optuna
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from engine import search
from engine.config import Config, field_info, field_paths
from engine.registry import ConfigError
from engine.search import PARAM_KEYS, PARAM_TYPES, Space

optuna.logging.set_verbosity(optuna.logging.WARNING)

BASE = Config().replace(**{"device": "cpu", "data.n_samples": 200, "model.hidden": (4,)})
# Memory one example may take while parsing and sizing: a regression that builds a huge
# grid or lattice goes far past it (1000^3 points took 6 GB), a correct parse needs little.
PEAK_BYTES = 64 * 2**20

HUGE = st.integers(min_value=-(10**400), max_value=10**400)
NUMBERS = st.one_of(
    st.integers(min_value=-3, max_value=70_000),
    st.sampled_from([0, 1, 2, 16, 1000, 4096, 65536, 2**31, 2**63, 10**30]),
    HUGE,
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, 1e-300, 5e-324, 1e-4, 0.1, 0.5, 1.0, 1e308, -0.0]),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    NUMBERS,
    st.text(max_size=20),
    st.sampled_from(["sgd", "adam", "mlp", "relu", "", "nan", "1e400"]),
)
JUNK = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
PAIRS = st.one_of(st.lists(NUMBERS, min_size=2, max_size=2), JUNK)
VALUES = {
    "field": st.one_of(st.sampled_from(field_paths()), JUNK),
    "type": st.one_of(st.sampled_from(PARAM_TYPES), JUNK),
    "low": st.one_of(NUMBERS, JUNK),
    "high": st.one_of(NUMBERS, JUNK),
    "log": st.one_of(st.booleans(), JUNK),
    "step": st.one_of(NUMBERS, JUNK),
    "choices": st.one_of(st.lists(SCALARS, max_size=6), JUNK),
    "grid": st.one_of(st.lists(NUMBERS, max_size=12), JUNK),
    "depth": PAIRS,
    "width": PAIRS,
}


SEARCHABLE = [p for p in field_paths() if field_info(p)["type"] in (int, float, str, bool)]


@st.composite
def plausible(draw: st.DrawFn) -> dict[str, Any]:
    """A parameter that is valid or nearly so: a range inside the field's bounds (int fields
    with steps down to 1 over ranges up to the whole field, so grids of any size), choices
    from the field's own, widths; then perhaps one value swapped for a hostile one."""
    if draw(st.integers(0, 5)) == 0:
        d: dict[str, Any] = {
            "field": "model.hidden",
            "type": "widths",
            "depth": sorted(draw(st.lists(st.integers(1, 16), min_size=2, max_size=2))),
            "width": sorted(draw(st.lists(st.integers(1, 4096), min_size=2, max_size=2))),
        }
        if draw(st.booleans()):
            d["step"] = 1
        elif draw(st.booleans()):
            d["grid"] = draw(st.lists(st.integers(*d["width"]), min_size=1, max_size=8))
    else:
        path = draw(st.sampled_from(SEARCHABLE))
        info = field_info(path)
        if info["type"] in (str, bool) or draw(st.integers(0, 4)) == 0:
            pool = [1, 2, 4] if info["type"] is int else info["choices"] or [True, False]
            choices = draw(st.lists(st.sampled_from(list(pool)), min_size=1, unique=True))
            d = {"field": path, "type": "categorical", "choices": choices}
        elif info["type"] is int:
            lo, hi = sorted(
                draw(st.lists(st.integers(info["lo"], info["hi"]), min_size=2, max_size=2))
            )
            d = {"field": path, "type": "int", "low": lo, "high": hi}
            if draw(st.booleans()):
                d["step"] = draw(st.sampled_from([1, 1, 2, max(hi - lo, 1)]))
        else:
            bounds = st.floats(info["lo"], info["hi"], allow_nan=False)
            lo, hi = sorted(draw(st.lists(bounds, min_size=2, max_size=2)))
            d = {"field": path, "type": "float", "low": lo, "high": hi}
            if draw(st.booleans()):
                d["step"] = draw(st.sampled_from([1e-300, 1e-9, 0.5, (hi - lo) / 4 or 1.0]))
            elif draw(st.booleans()):
                d["grid"] = draw(st.lists(bounds, min_size=1, max_size=6))
            elif draw(st.booleans()):
                d["log"] = True
    if draw(st.integers(0, 5)) == 0:
        key = draw(st.sampled_from(PARAM_KEYS))
        d[key] = draw(VALUES[key])
    return d


@st.composite
def params(draw: st.DrawFn) -> Any:
    """A parameter dict: mostly known keys with plausible or hostile values, sometimes junk."""
    if draw(st.integers(0, 19)) == 0:
        return draw(JUNK)
    keys = draw(st.sets(st.sampled_from(PARAM_KEYS[2:]), max_size=5))
    d = {key: draw(VALUES[key]) for key in ("field", "type", *sorted(keys))}
    if draw(st.integers(0, 9)) == 0:
        d[draw(st.text(max_size=8))] = draw(JUNK)
    return d


@st.composite
def spaces(draw: st.DrawFn) -> Any:
    """Half near-valid spaces (distinct plausible parameters), half hostile ones."""
    if draw(st.booleans()):
        found = draw(st.lists(plausible(), min_size=1, max_size=3))
        unique = list({str(p.get("field")): p for p in found}.values())
        return {"params": unique, "max_epochs": draw(st.sampled_from([1, 5, 200]))}
    if draw(st.integers(0, 19)) == 0:
        return draw(JUNK)
    d: dict[str, Any] = {"params": draw(st.one_of(st.lists(params(), max_size=4), JUNK))}
    if draw(st.booleans()):
        d["objective"] = draw(st.one_of(st.sampled_from(["val_acc", "val_loss"]), JUNK))
    if draw(st.booleans()):
        d["max_epochs"] = draw(st.one_of(NUMBERS, JUNK))
    return d


def one_line(e: ConfigError) -> None:
    text = str(e)
    assert text and "\n" not in text and "\r" not in text, text
    assert e.field.startswith("space"), e.field


def check_grid(space: Space) -> None:
    """The grid's size comes from arithmetic; within the limit the grid is what it says."""
    try:
        size = space.grid_size()
    except ConfigError as e:
        one_line(e)
        event("grid: no finite values")
        return
    assert isinstance(size, int) and size >= 1
    event("grid: over the limit" if size > search.MAX_GRID else "grid: within the limit")
    try:
        grid = space.grid()
    except ConfigError as e:
        one_line(e)
        assert size > search.MAX_GRID and "limit" in str(e)
        return
    assert size <= search.MAX_GRID
    assert math.prod(len(v) for v in grid.values()) == size


def check_suggest(space: Space) -> None:
    """A random trial's values make a config or a one-line ConfigError (no training)."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    values = space.suggest(trial)
    try:
        search.trial_config(BASE, space, values)
    except ConfigError as e:
        assert "\n" not in str(e)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(spaces())
def test_any_space_json_gives_a_space_or_one_line_error(d: Any) -> None:
    tracemalloc.start()
    try:
        try:
            space = Space.from_dict(d)
        except ConfigError as e:
            one_line(e)
            event("refused")
            return
        event("a valid space")
        assert Space.from_dict(space.to_dict()) == space
        check_grid(space)
        check_suggest(space)
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < PEAK_BYTES, f"{peak / 2**20:.0f} MiB for one space"
