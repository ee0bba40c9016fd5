"""A search space: which config fields to vary and how (JSON, also built by the UI), the
objective, and an epoch budget.

    {"params": [
        {"field": "train.lr", "type": "float", "low": 1e-4, "high": 0.1, "log": true},
        {"field": "train.optimizer", "type": "categorical", "choices": ["sgd", "adam"]},
        {"field": "model.dropout_rate", "type": "float", "low": 0, "high": 0.5},
        {"field": "model.hidden", "type": "widths", "depth": [1, 4], "width": [16, 256],
         "log": true},
        {"field": "train.batch_size", "type": "int", "low": 16, "high": 256, "log": true}],
     "objective": "val_acc",
     "max_epochs": 20}

The parameter types and their keys are in `engine.search.params`.

`objective` is "val_acc" (maximized) or "val_loss" (minimized): the final validation metric
of the trial's run (for an early-stopped run, that of the restored best weights).
`max_epochs` sets `train.epochs` (and `train.steps` = 0) for every trial unless the space
itself varies those fields.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.config import Config, field_info
from engine.registry import ConfigError, registry_for
from engine.rules import switch_for, uses
from engine.search.limits import check_grid_size
from engine.search.params import Param
from engine.search.values import json_list, key_shown, shown

if TYPE_CHECKING:
    import optuna

OBJECTIVES = {"val_acc": "maximize", "val_loss": "minimize"}


@dataclass(frozen=True)
class Space:
    """The searched parameters, the objective and an optional epoch budget; validated on
    construction against the config field table (ConfigError naming `space.params[i]...`)."""

    params: tuple[Param, ...]
    objective: str = "val_acc"
    max_epochs: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.params, list):
            object.__setattr__(self, "params", tuple(self.params))
        if not self.params:
            raise ConfigError("space.params", "give at least one parameter to search")
        if not isinstance(self.objective, str) or self.objective not in OBJECTIVES:
            raise ConfigError(
                "space.objective",
                f"{shown(self.objective)} is not an objective; choose one of: "
                f"{', '.join(OBJECTIVES)}",
            )
        if self.max_epochs is not None:
            epochs = field_info("train.epochs")
            if isinstance(self.max_epochs, bool) or not isinstance(self.max_epochs, int):
                raise ConfigError(
                    "space.max_epochs", f"must be an integer, got {shown(self.max_epochs)}"
                )
            if not epochs["lo"] <= self.max_epochs <= epochs["hi"]:
                raise ConfigError(
                    "space.max_epochs",
                    f"must be between {epochs['lo']} and {epochs['hi']}, "
                    f"got {shown(self.max_epochs)}",
                )
        seen: dict[str, int] = {}
        for i, p in enumerate(self.params):
            where = f"space.params[{i}]"
            if not isinstance(p, Param):
                raise ConfigError(where, f"must be a Param, got {type(p).__name__}")
            p.check(where)
            if p.field in seen:
                raise ConfigError(
                    f"{where}.field",
                    f"{p.field} is already searched by space.params[{seen[p.field]}]",
                )
            seen[p.field] = i

    @property
    def direction(self) -> str:
        """The study direction: "maximize" for val_acc, "minimize" for val_loss."""
        return OBJECTIVES[self.objective]

    @property
    def names(self) -> list[str]:
        """Every Optuna parameter name, in order (widths give two)."""
        return [name for p in self.params for name in p.names]

    def suggest(self, trial: optuna.Trial, base: Config | None = None) -> dict[str, Any]:
        """Every parameter's value for this trial, by Optuna parameter name; define-by-run: a
        knob whose switch this trial turned off (the dropout rate when the dropout is "none",
        momentum for Adam) is not sampled at all, so no trial records a value that did
        nothing. The switch's value comes from the trial if searched, else from `base`."""
        values: dict[str, Any] = {}
        switched = [(p, switch_for(p.field)) for p in self.params]
        for p, switch in sorted(switched, key=lambda ps: ps[1] is not None):  # switches first
            if switch is not None and base is not None:
                choice = values.get(switch, base.get(switch))
                if not uses(switch, choice, p.field):
                    continue
            values.update(p.suggest(trial))
        return values

    def check_switches(self, base: Config) -> None:
        """ConfigError for a knob the space varies that no trial would use: its switch is not
        searched and `base` turns it off, or the switch is searched among choices none of which
        reads it (a dropout rate with dropout "none", momentum with plain SGD)."""
        searched = {p.field: p for p in self.params}
        for i, p in enumerate(self.params):
            switch = switch_for(p.field)
            if switch is None:
                continue
            if switch in searched:
                options = list(searched[switch].choices or ())
                where = f"the searched {switch} ({', '.join(map(str, options))})"
            else:
                options = [base.get(switch)]
                where = f"{switch} is {base.get(switch)}"
            if not any(uses(switch, choice, p.field) for choice in options):
                users = [e.name for e in registry_for(switch) if uses(switch, e.name, p.field)]
                raise ConfigError(
                    f"space.params[{i}].field",
                    f"{p.field} would change nothing: {where}, which does not use it. Search "
                    f"{switch} too with a choice that uses it ({', '.join(users)}), choose one "
                    f"in the base config, or drop {p.field} from the space",
                )

    def grid(self) -> dict[str, list[Any]]:
        """The grid sampler's search space; ConfigError naming the first parameter without
        finite values, or the limit when the grid has more than `MAX_GRID` combinations."""
        check_grid_size(self.grid_size(), "space.params")  # refused before any list is built
        out: dict[str, list[Any]] = {}
        for i, p in enumerate(self.params):
            out.update(p.grid_values(f"space.params[{i}]"))
        return out

    def grid_size(self) -> int:
        """Number of combinations the grid sampler would run, computed without building the
        grid (ConfigError for a parameter without finite values, as `grid`)."""
        return math.prod(p.grid_count(f"space.params[{i}]") for i, p in enumerate(self.params))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (what `from_dict` reads; max_epochs only when set)."""
        out: dict[str, Any] = {
            "params": [p.to_dict() for p in self.params],
            "objective": self.objective,
        }
        if self.max_epochs is not None:
            out["max_epochs"] = self.max_epochs
        return out

    def to_json(self, indent: int | None = 2) -> str:
        """`to_dict` as JSON text (the --space file)."""
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Space:
        """Strict: unknown keys and bad values raise ConfigError naming the place."""
        if not isinstance(d, Mapping):
            raise ConfigError("space", f"must be a JSON object, got {type(d).__name__}")
        for key in d:
            if key not in ("params", "objective", "max_epochs"):
                raise ConfigError(
                    f"space.{key_shown(key)}",
                    "unknown key; valid keys here: params, objective, max_epochs",
                )
        params = json_list("space.params", d.get("params"))
        parsed = tuple(Param.from_dict(p, f"space.params[{i}]") for i, p in enumerate(params))
        objective = d.get("objective", "val_acc")
        max_epochs = d.get("max_epochs")
        if isinstance(max_epochs, float) and max_epochs.is_integer():
            max_epochs = int(max_epochs)
        return cls(parsed, objective, max_epochs)

    @classmethod
    def from_json(cls, text: str | bytes) -> Space:
        """Parse and validate a --space file's text or UTF-8 bytes (ConfigError on bad JSON or
        values; encoding, nesting and numbers as for configs: see engine.textfiles)."""
        from engine.textfiles import decode_json

        return cls.from_dict(decode_json(text, "space", root="space"))


def trial_config(base: Config, space: Space, values: Mapping[str, Any]) -> Config:
    """`base` with the space's epoch budget and a trial's values (by Optuna parameter name)
    applied; ConfigError when the combination is invalid (e.g. BatchNorm with batch size 1)."""
    changes: dict[str, Any] = {}
    if space.max_epochs is not None:
        changes.update({"train.epochs": space.max_epochs, "train.steps": 0})
    for p in space.params:
        if all(name in values for name in p.names):  # a switched-off knob was not sampled
            changes.update(p.changes(values))
    return base.replace(**changes)
