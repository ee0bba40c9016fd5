"""engine.search.params: `Param(field, type, ...)` makes the class of its kind, and each kind's
own `check` refuses what breaks its rules (ConfigError naming the key)."""

from __future__ import annotations

from typing import Any

import pytest

from engine.registry import ConfigError
from engine.search import (
    Choice,
    FloatRange,
    IntRange,
    Param,
    Space,
    Widths,
    check_grid_size,
    limits,
)


@pytest.mark.parametrize(
    ("kind", "cls"),
    [("float", FloatRange), ("int", IntRange), ("categorical", Choice), ("widths", Widths)],
)
def test_a_param_is_made_as_the_class_of_its_type(kind: str, cls: type[Param]) -> None:
    made = Param("model.hidden", kind)
    assert type(made) is cls
    assert type(Param.from_dict({"field": "train.lr", "type": kind})) is cls
    assert Param(field="train.lr", type=kind) == Param("train.lr", kind)
    assert Param("train.lr", kind) != Param("train.lr", "float" if kind != "float" else "int")


def test_an_unknown_type_stays_a_plain_param_that_check_refuses() -> None:
    p = Param("train.lr", "number", low=0.1, high=1)
    assert type(p) is Param
    with pytest.raises(ConfigError, match="unknown type 'number'") as e:
        p.check("p")
    assert e.value.field == "p.type"


# (the parameter, the key its error names, words of the message)
REFUSED: list[tuple[type[Param], dict[str, Any], str, str]] = [
    (FloatRange, {"low": 0.5, "high": 0.1}, "low", "greater than high"),
    (FloatRange, {"low": 0.0, "high": 0.1, "log": True}, "low", "needs low > 0"),
    (FloatRange, {"low": 0.01, "high": 0.1, "step": 0.04}, "step", "multiple of step"),
    (FloatRange, {"low": 0.01, "high": 0.1, "step": -1.0}, "step", "must be > 0"),
    (FloatRange, {"low": 0.01, "high": 0.1, "grid": [0.5]}, "grid", "outside low..high"),
    (FloatRange, {"low": 0.01, "high": 0.1, "grid": []}, "grid", "at least one value"),
    (FloatRange, {"high": 0.1}, "low", "give low (or a grid list)"),
    (FloatRange, {"low": 0.1, "high": 1, "choices": ["a"]}, "choices", "does not use choices"),
    (IntRange, {"low": 8, "high": 64.5}, "high", "takes integers"),
    (IntRange, {"low": 8, "high": 64, "grid": [16, 20.5]}, "grid", "takes integers"),
    (IntRange, {"low": 8, "high": 64, "step": 8, "grid": [12]}, "grid", "not low + k * step"),
    (IntRange, {"low": 0, "high": 64}, "low", "out of range"),
    (Choice, {"choices": []}, "choices", "non-empty"),
    (Choice, {"choices": [16, 16]}, "choices", "choices repeat"),
    (Choice, {"choices": [16, [32]]}, "choices", "string, number or boolean"),
    (Choice, {"choices": [16, 0.5]}, "choices", "not allowed"),
    (Choice, {"choices": [16], "low": 1}, "low", "does not use low"),
    (Widths, {"depth": (1, 3)}, "width", "give width"),
    (Widths, {"depth": (0, 3), "width": (4, 8)}, "depth", "1 <= min <= max <= 16"),
    (Widths, {"depth": (1, 17), "width": (4, 8)}, "depth", "1 <= min <= max <= 16"),
    (Widths, {"depth": (1, 3), "width": (8, 4)}, "width", "greater than max"),
    (Widths, {"depth": (1, 3), "width": (4, 5000)}, "width", "out of range"),
    (Widths, {"depth": (1, 3), "width": (4, 8), "grid": [16]}, "grid", "not a width in 4..8"),
    (Widths, {"depth": (1, 3), "width": (4, 8), "step": 3}, "step", "multiple of step"),
]
FIELDS = {
    FloatRange: "train.weight_decay",
    IntRange: "train.batch_size",
    Choice: "train.batch_size",
}
TYPES = {FloatRange: "float", IntRange: "int", Choice: "categorical", Widths: "widths"}


@pytest.mark.parametrize(("cls", "keys", "where", "says"), REFUSED)
def test_each_kind_refuses_what_breaks_its_rules(
    cls: type[Param], keys: dict[str, Any], where: str, says: str
) -> None:
    p = Param(FIELDS.get(cls, "model.hidden"), TYPES[cls], **keys)
    assert type(p) is cls
    with pytest.raises(ConfigError) as e:
        p.check("p")
    assert e.value.field == f"p.{where}" and says in str(e.value)
    with pytest.raises(ConfigError) as e:  # a Space runs the same check
        Space((p,))
    assert e.value.field == f"space.params[0].{where}" and says in str(e.value)


def test_each_kind_accepts_what_fits_its_rules() -> None:
    for p in (
        Param("train.lr", "float", low=1e-4, high=0.1, log=True),
        Param("train.batch_size", "int", low=8, high=64, step=8, grid=[16, 32]),
        Param("train.optimizer", "categorical", choices=["sgd", "adam"]),
        Param("model.hidden", "widths", depth=[1, 3], width=[4, 8], grid=[4, 8.0]),
    ):
        p.check("p")
    assert Param("model.hidden", "widths", depth=[1, 3], width=[4, 8], grid=[8, 4]).grid_values()
    assert (
        Param("model.hidden", "widths", depth=(1, 3), width=(4, 8), grid=(4, 8)).grid_count() == 6
    )


def test_check_grid_size_refuses_a_grid_over_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_GRID", 10)
    check_grid_size(10, "here")
    with pytest.raises(ConfigError, match=r"has 11 combinations; the limit is 10 \(") as e:
        check_grid_size(11, "here")
    assert e.value.field == "here"
    with pytest.raises(ConfigError, match=r"the grid has about 10\^20 combinations"):
        check_grid_size(10**20, "here")
