"""Components chosen by name: a tiny registry with the metadata the UI needs.

Every interchangeable part (initializers, activations, norms, dropout variants, optimizers,
schedules, datasets, losses) is an `Entry` in a `Registry`. Select boxes list `names()`, help
texts come from `Entry.help`, the controls shown come from `Entry.params` (names of config fields
the entry reads), and tests are parametrized over the registry so a new entry is tested the
moment it is registered (compare timm's `layers/create_act.py`).

A registry files itself under the config field it fills (`registry_for("model.norm")`) when
its module creates it, and each entry is added as the module runs: importing a component module
is all it takes (timm's `register_model`). `engine/__init__.py` imports them, so every registry
is complete before any config is checked, and the config looks registries up by field path
instead of importing the modules that hold them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

# The type of an entry's `build`: one signature per registry (see each module).
T = TypeVar("T", bound=Callable[..., Any])

FEED_FORWARD = ("mlp", "cnn")  # the feed-forward networks
RECURRENT = ("rnn", "lstm", "gru")  # the recurrent networks (engine/recurrent.py)
# model.arch's choices, and what a component applies to unless its entry says otherwise: an
# entry that cannot go into a recurrent cell (a norm or dropout layer, most activations)
# names the networks it fits, so that adding an architecture never means editing the rules.
ARCHS = (*FEED_FORWARD, *RECURRENT)
GATES = {"rnn": 1, "lstm": 4, "gru": 3}  # a recurrent cell's stacked pre-activations per unit
# Field path -> registry, in the order their modules were imported (engine/__init__.py).
_BY_FIELD: dict[str, Registry[Any]] = {}


class ConfigError(ValueError):
    """A config value (or combination of values) that cannot be used; the message says why."""

    def __init__(self, field_path: str, message: str) -> None:
        self.field = field_path
        super().__init__(f"{field_path}: {message}")


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered component.

    `build` makes the component; its signature is fixed per registry (see each module).
    `params` names the config fields this entry reads, e.g. ("momentum",) for SGD with momentum,
    so the UI shows only those controls. `applies_to` lists the architectures it works with
    (default: all of them; engine.rules refuses the entry elsewhere with the reason).
    """

    name: str
    label: str
    help: str
    build: T
    params: tuple[str, ...] = ()
    applies_to: tuple[str, ...] = ARCHS
    needs_batch_gt_1: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)


class Registry(Generic[T]):
    """An ordered name -> `Entry` table for one kind of component."""

    def __init__(self, kind: str, field_path: str) -> None:
        self.kind = kind  # e.g. "activation"
        self.field_path = field_path  # config field that selects from it, e.g. "model.activation"
        self._entries: dict[str, Entry[T]] = {}
        # A module that Streamlit's file watcher reloads files its new table in the old's place.
        _BY_FIELD[field_path] = self

    def add(
        self,
        name: str,
        build: T,
        *,
        label: str,
        help: str,
        params: tuple[str, ...] = (),
        applies_to: tuple[str, ...] = ARCHS,
        needs_batch_gt_1: bool = False,
        **extra: Any,
    ) -> Entry[T]:
        """Register `build` under `name` and return its entry."""
        if name in self._entries:
            raise ValueError(f"{self.kind} '{name}' is registered twice")
        entry = Entry(name, label, help, build, params, applies_to, needs_batch_gt_1, extra)
        self._entries[name] = entry
        return entry

    def register(self, name: str, **meta: Any) -> Callable[[T], T]:
        """Decorator form of `add`."""

        def deco(build: T) -> T:
            self.add(name, build, **meta)
            return build

        return deco

    def get(self, name: str) -> Entry[T]:
        """The entry called `name`, or a ConfigError listing the valid names."""
        try:
            return self._entries[name]
        except KeyError:
            raise ConfigError(
                self.field_path,
                f"unknown {self.kind} '{name}'; choose one of: {', '.join(self._entries)}",
            ) from None

    def names(self) -> list[str]:
        """Registered names in registration order."""
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[Entry[T]]:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)


def registry_for(field_path: str) -> Registry[Any]:
    """The registry filed under `field_path` (e.g. "model.norm"); LookupError if none is."""
    try:
        return _BY_FIELD[field_path]
    except KeyError:
        raise LookupError(
            f"no registry fills {field_path}: is its module imported in engine/__init__.py?"
        ) from None


def by_field() -> dict[str, Registry[Any]]:
    """Every registry filed so far, by field path, in the order their modules were imported."""
    return dict(_BY_FIELD)
