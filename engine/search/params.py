"""The searched parameters: one class per kind, each checking its own rules (as Optuna's
distributions do) and asking a trial for its values.

Kinds, by their JSON `type`:

- `float` (FloatRange) and `int` (IntRange): a range `low`..`high`, optionally `log` or a
  `step`;
- `categorical` (Choice): a list of `choices`;
- `widths` (Widths), for `model.hidden`: two Optuna parameters, `model.hidden.depth` (hidden
  layers, from the `depth` range) and `model.hidden.width` (units, from the `width` range,
  log-scaled with `log`), with the SAME width in every layer, so the space stays
  two-dimensional however deep the network is.

Every value is checked against the config's field table (type, bounds, registry names) by
`check`, which `Space` runs for each parameter before anything runs.

The grid sampler tries every combination, so each parameter needs a finite list of values:
a categorical's `choices`; for float/int, a `"grid": [v1, v2, ...]` list, else the lattice
`low, low + step, ..., high` of its `step`; for widths, every depth in its range times the
`grid` (or `step` lattice) of widths. `grid` is used by the grid sampler only; tpe and random
sample the range, which defaults to the grid's smallest and largest values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from engine.config import check_value, field_info, field_paths
from engine.registry import ConfigError
from engine.search.limits import check_grid_size
from engine.search.values import int_range, json_list, key_shown, number, shown

if TYPE_CHECKING:
    import optuna

PARAM_KEYS = ("field", "type", "low", "high", "log", "step", "choices", "grid", "depth", "width")
MAX_DEPTH = 16  # hidden layers a widths parameter may ask for
# Optuna checks a step with 28-digit decimals, which fail past ~10^27 steps; 10^12 is already
# far finer than any search needs.
MAX_STEPS_IN_RANGE = 10**12


@dataclass(frozen=True)
class Param:
    """One searched config field, in the shape of its JSON (see the module docstring for the
    types and keys). `Param(field, type, ...)` makes the class of its type (FloatRange for
    "float", ...); an unknown type stays a plain Param, which `check` refuses."""

    field: str
    type: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] | None = None
    grid: tuple[float, ...] | None = None
    depth: tuple[int, int] | None = None
    width: tuple[int, int] | None = None

    takes: ClassVar[tuple[str, ...]] = ()  # keys this kind reads besides field and type

    def __new__(cls, *args: Any, **kwargs: Any) -> Param:
        if cls is Param:
            kind = kwargs["type"] if "type" in kwargs else args[1] if len(args) > 1 else None
            cls = KINDS.get(kind, Param) if isinstance(kind, str) else Param
        return super().__new__(cls)

    def __post_init__(self) -> None:
        # Lists from JSON or a UI become tuples, so a Param is hashable and compares by value.
        for name in ("choices", "grid", "depth", "width"):
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))

    @property
    def names(self) -> tuple[str, ...]:
        """The Optuna parameter name(s): the field path (widths give two)."""
        return (self.field,)

    def check(self, where: str) -> None:
        """ConfigError naming `where.<key>` for a field the config does not have, a type that
        does not fit it, or a key this kind does not use; each kind adds its own rules."""
        if self.field not in field_paths():
            raise ConfigError(
                f"{where}.field",
                f"unknown config field {shown(self.field)}; valid fields: "
                f"{', '.join(field_paths())}",
            )
        if self.type not in PARAM_TYPES:
            raise ConfigError(
                f"{where}.type",
                f"unknown type {shown(self.type)}; choose one of: {', '.join(PARAM_TYPES)}",
            )
        fits = _fitting_types(field_info(self.field)["type"])
        if self.type not in fits:
            hint = f"use type {' or '.join(fits)}" if fits else "it cannot be searched"
            raise ConfigError(
                f"{where}.type", f"{self.field} does not take a {self.type} range: {hint}"
            )
        for key in PARAM_KEYS[2:]:
            given = getattr(self, key)
            if key not in self.takes and (given is True if key == "log" else given is not None):
                raise ConfigError(
                    f"{where}.{key}",
                    f"a {self.type} parameter does not use {key}; it takes: "
                    f"{', '.join(self.takes)}",
                )

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        """Ask the trial for this parameter's value(s), by Optuna parameter name."""
        raise NotImplementedError  # every kind has its own; `check` refuses a plain Param

    def changes(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Config changes {field path: value} for this parameter's Optuna values."""
        return {self.field: values[self.field]}

    def grid_count(self, where: str = "param") -> int:
        """How many values `grid_values` gives (widths: depths times widths), computed
        without listing them; ConfigError as `grid_values` when there are none to list."""
        raise NotImplementedError

    def grid_values(self, where: str = "param") -> dict[str, list[Any]]:
        """{Optuna name: the values the grid sampler tries}; ConfigError (naming `where`) if
        a float/int/widths parameter has neither a grid list nor a step, or its values would
        be more than `MAX_GRID`."""
        check_grid_size(self.grid_count(where), f"{where}.grid")  # before a lattice is listed
        return self._grid()

    def _grid(self) -> dict[str, list[Any]]:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: field, type and only the keys that were given."""
        out: dict[str, Any] = {"field": self.field, "type": self.type}
        for key in PARAM_KEYS[2:]:
            value = getattr(self, key)
            if key == "log":
                if value:
                    out[key] = True
            elif value is not None:
                out[key] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "param") -> Param:
        """Strict: unknown keys and wrongly typed values raise ConfigError naming `where.key`.
        Values are checked against the config field table by `Space`."""
        if not isinstance(d, Mapping):
            raise ConfigError(where, f"must be a JSON object, got {type(d).__name__}")
        for key in d:
            if key not in PARAM_KEYS:
                raise ConfigError(
                    f"{where}.{key_shown(key)}", f"unknown key; valid keys: {', '.join(PARAM_KEYS)}"
                )
        for key in ("field", "type"):
            if not isinstance(d.get(key), str):
                example = "train.lr" if key == "field" else " | ".join(PARAM_TYPES)
                raise ConfigError(f"{where}.{key}", f"give a string, e.g. {example}")
        kw: dict[str, Any] = {"field": d["field"], "type": d["type"]}
        for key in ("low", "high", "step"):
            if d.get(key) is not None:
                kw[key] = number(f"{where}.{key}", d[key])
        if "log" in d:
            if not isinstance(d["log"], bool):
                raise ConfigError(f"{where}.log", f"must be true or false, got {d['log']!r}")
            kw["log"] = d["log"]
        if d.get("choices") is not None:
            kw["choices"] = json_list(f"{where}.choices", d["choices"])
        if d.get("grid") is not None:
            grid = json_list(f"{where}.grid", d["grid"])
            kw["grid"] = tuple(number(f"{where}.grid[{j}]", v) for j, v in enumerate(grid))
        for key in ("depth", "width"):
            if d.get(key) is not None:
                kw[key] = int_range(f"{where}.{key}", d[key])
        return cls(**kw)


class Choice(Param):
    """`categorical`: one of `choices` (strings, numbers or booleans the field accepts)."""

    takes = ("choices",)

    def check(self, where: str) -> None:
        super().check(where)
        if not self.choices:
            raise ConfigError(
                f"{where}.choices", f"give a non-empty list of values for {self.field}"
            )
        for j, v in enumerate(self.choices):
            if not isinstance(v, (str, int, float, bool)):
                raise ConfigError(
                    f"{where}.choices",
                    f"choice {j} ({shown(v)}) must be a string, number or boolean",
                )
            _check_value(self.field, v, f"{where}.choices", f"choice {shown(v)} is not allowed")
        if len(set(map(repr, self.choices))) != len(self.choices):
            raise ConfigError(f"{where}.choices", f"choices repeat: {shown(list(self.choices))}")

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        return {self.field: trial.suggest_categorical(self.field, list(self.choices or ()))}

    def grid_count(self, where: str = "param") -> int:
        return len(self.choices or ())

    def _grid(self) -> dict[str, list[Any]]:
        return {self.field: list(self.choices or ())}


class _Span(Param):
    """A numeric kind: values from a low..high span, listed for the grid sampler by a `grid`
    list or else the lattice of a `step`."""

    integer: ClassVar[bool] = True
    listed: ClassVar[str] = "values"  # what the grid sampler's message calls the values

    def span(self) -> tuple[float, float]:
        """(low, high) of the values sampled."""
        raise NotImplementedError

    def _grid_set(self) -> set[Any]:
        # 16.0 in a JSON grid is the width 16
        return {int(v) if self.integer else float(v) for v in self.grid or ()}

    def _value_count(self, where: str) -> int:
        if self.grid:
            return len(self._grid_set())
        if self.step:
            low, high = self.span()
            return round((high - low) / self.step) + 1
        raise ConfigError(
            f"{where}.grid",
            f"the grid sampler needs a finite list of {self.listed} for {self.field}: give "
            f'"grid": [v1, v2, ...] or a "step" (or use the tpe or random sampler)',
        )

    def _values(self) -> list[Any]:
        if self.grid:
            return sorted(self._grid_set())
        low, high = self.span()
        n = round((high - low) / (self.step or 1))
        values = [low + k * (self.step or 1) for k in range(n + 1)]
        return [round(v) for v in values] if self.integer else [round(v, 12) for v in values]

    def _check_step(self, where: str, low: float, high: float) -> None:
        step = self.step
        if step is None:
            return
        if step <= 0:
            raise ConfigError(f"{where}.step", f"must be > 0, got {step}")
        if self.log:
            raise ConfigError(
                f"{where}.step",
                "step and log cannot be combined (Optuna samples log ranges continuously); "
                "give grid values instead",
            )
        if not (high - low) / step <= MAX_STEPS_IN_RANGE:  # also NaN and inf
            raise ConfigError(
                f"{where}.step",
                f"{step:g} is too small for {low:g}..{high:g} (more than 10^12 steps); give a "
                "larger step",
            )
        if not _divides(step, low, high) or not _on_lattice(high, low, step):
            raise ConfigError(
                f"{where}.step",
                f"high - low ({high - low:g}) must be a multiple of step ({step:g})",
            )


class _Range(_Span):
    """float/int: a range `low`..`high` (each defaults to the grid's min/max), `log`, `step`,
    and `grid` values for the grid sampler."""

    takes = ("low", "high", "log", "step", "grid")

    @property
    def bounds(self) -> tuple[float, float]:
        """(low, high); low/high default to the grid's min/max."""
        low = self.low if self.low is not None else min(self.grid or (math.nan,))
        high = self.high if self.high is not None else max(self.grid or (math.nan,))
        return low, high

    def span(self) -> tuple[float, float]:
        return self.bounds

    def check(self, where: str) -> None:
        super().check(where)
        integer, field = self.integer, self.field
        if self.grid is not None and not self.grid:
            raise ConfigError(f"{where}.grid", "give at least one value")
        for key in ("low", "high"):
            if getattr(self, key) is None and not self.grid:
                raise ConfigError(f"{where}.{key}", f"give {key} (or a grid list) for {field}")
        low, high = self.bounds
        for key, v in (("low", low), ("high", high), ("step", self.step)):
            if v is not None and integer and not float(v).is_integer():
                raise ConfigError(f"{where}.{key}", f"{field} takes integers, got {v}")
        if low > high:
            raise ConfigError(f"{where}.low", f"low ({low}) is greater than high ({high})")
        for key, v in (("low", low), ("high", high)):
            _check_value(
                field, int(v) if integer else v, f"{where}.{key}", f"{key} {v} is out of range"
            )
        if self.log and low <= 0:
            raise ConfigError(f"{where}.low", f"a log range needs low > 0, got {low}")
        self._check_step(where, low, high)
        for j, v in enumerate(self.grid or ()):
            if integer and not float(v).is_integer():
                raise ConfigError(f"{where}.grid", f"{field} takes integers, got grid[{j}] = {v}")
            if not low <= v <= high:
                raise ConfigError(
                    f"{where}.grid", f"grid[{j}] = {v} is outside low..high ({low}..{high})"
                )
            if self.step and not _on_lattice(v, low, self.step):
                raise ConfigError(f"{where}.grid", f"grid[{j}] = {v} is not low + k * step")

    def grid_count(self, where: str = "param") -> int:
        return self._value_count(where)

    def _grid(self) -> dict[str, list[Any]]:
        return {self.field: self._values()}


class FloatRange(_Range):
    """`float`: a real number from the range."""

    integer = False

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        low, high = self.bounds
        return {
            self.field: trial.suggest_float(self.field, low, high, log=self.log, step=self.step)
        }

    def changes(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return {self.field: float(values[self.field])}


class IntRange(_Range):
    """`int`: a whole number from the range."""

    integer = True

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        low, high = self.bounds
        step = int(self.step or 1)
        value = trial.suggest_int(self.field, int(low), int(high), log=self.log, step=step)
        return {self.field: value}

    def changes(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return {self.field: int(values[self.field])}


class Widths(_Span):
    """`widths` (model.hidden): a depth from `depth` and one width from `width` for every
    layer; `log`, `step` and `grid` apply to the width."""

    takes = ("depth", "width", "log", "step", "grid")
    listed = "widths"

    @property
    def names(self) -> tuple[str, ...]:
        """`<field>.depth` and `<field>.width`."""
        return (f"{self.field}.depth", f"{self.field}.width")

    def span(self) -> tuple[float, float]:
        return self.width or (1, 1)

    def check(self, where: str) -> None:
        super().check(where)
        if self.depth is None or self.width is None:
            key = "depth" if self.depth is None else "width"
            raise ConfigError(f"{where}.{key}", f"give {key} as [min, max] for {self.field}")
        (dlo, dhi), (wlo, whi) = self.depth, self.width
        if not 1 <= dlo <= dhi <= MAX_DEPTH:
            raise ConfigError(
                f"{where}.depth",
                f"need 1 <= min <= max <= {MAX_DEPTH} hidden layers, got {shown([dlo, dhi])}",
            )
        if wlo > whi:
            raise ConfigError(f"{where}.width", f"min ({wlo}) is greater than max ({whi})")
        for v in (wlo, whi):
            _check_value(self.field, (v,), f"{where}.width", f"width {v} is out of range")
        self._check_step(where, wlo, whi)
        for j, g in enumerate(self.grid or ()):
            if not float(g).is_integer() or not wlo <= g <= whi:
                raise ConfigError(
                    f"{where}.grid", f"grid[{j}] = {g} is not a width in {wlo}..{whi}"
                )

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        (dlo, dhi), (wlo, whi) = self.depth or (1, 1), self.width or (1, 1)
        depth, width = self.names
        return {
            depth: trial.suggest_int(depth, dlo, dhi),
            width: trial.suggest_int(width, wlo, whi, log=self.log, step=int(self.step or 1)),
        }

    def changes(self, values: Mapping[str, Any]) -> dict[str, Any]:
        depth, width = self.names
        return {self.field: (int(values[width]),) * int(values[depth])}

    def grid_count(self, where: str = "param") -> int:
        dlo, dhi = self.depth or (1, 1)
        return self._value_count(where) * (dhi - dlo + 1)

    def _grid(self) -> dict[str, list[Any]]:
        dlo, dhi = self.depth or (1, 1)
        depth, width = self.names
        return {depth: list(range(dlo, dhi + 1)), width: self._values()}


# The class of each JSON type (Param.__new__ picks from it).
KINDS: dict[str, type[Param]] = {
    "float": FloatRange,
    "int": IntRange,
    "categorical": Choice,
    "widths": Widths,
}
PARAM_TYPES = tuple(KINDS)  # ("float", "int", "categorical", "widths")


def _fitting_types(tp: Any) -> tuple[str, ...]:
    """The parameter types a config field of Python type `tp` can be searched with."""
    if tp is float:
        return ("float", "categorical")
    if tp is int:
        return ("int", "categorical")
    if tp in (str, bool):
        return ("categorical",)
    if tp == tuple[int, ...]:
        return ("widths",)
    return ()  # lists of strings or floats (data.features, train.betas)


def _check_value(path: str, value: Any, where: str, what: str) -> None:
    """The config's own type, bounds and choices check for one value of field `path`."""
    try:
        check_value(path, value)
    except ConfigError as e:
        raise ConfigError(where, f"{what}: {e}") from None


def _divides(step: float, low: float, high: float) -> bool:
    """Whether high - low is a whole number of steps as Optuna checks it (in decimals of the
    numbers' shortest forms): otherwise it warns and samples a range short of high, while the
    grid would still try high."""
    try:
        return (Decimal(str(high)) - Decimal(str(low))) % Decimal(str(step)) == 0
    except (ArithmeticError, ValueError):  # decimal's InvalidOperation, past its precision
        return False


def _on_lattice(v: float, low: float, step: float) -> bool:
    """v = low + k * step for a whole k >= 0 (within rounding); a step larger than the
    range leaves only low itself."""
    k = (v - low) / step
    if not math.isfinite(k):
        return False
    return abs(k - round(k)) < 1e-8 and (round(k) != 0 or v == low)
