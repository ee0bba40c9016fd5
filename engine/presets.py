"""Presets: named run configs shipped in assets/presets/, for one-click experiments.

A preset file is either a bare run config (what `python -m engine config` prints) or a config
wrapped with a title and a one-paragraph summary:

    {"title": "Spiral from raw inputs", "summary": "...", "config": {...}}

Lab presets add a guided walkthrough and side-by-side runs: `look_for` (what to watch),
`try_next` (the next experiment), `variants` (runs that each change a few fields of the base
config, compared with the same seed, data and batches) and `lab` (settings of the lab page
itself, such as the analytic surface to race on, checked by that page):

    {"title": ..., "summary": ..., "look_for": ..., "try_next": ...,
     "config": {...}, "variants": [{"label": "He", "set": {"model.init": "he_normal"}}, ...],
     "lab": {...}}

Both forms load with `load_preset`; the CLI accepts either wherever it takes a config file.
Presets in a sub-folder belong to one page (assets/presets/playground/*.json).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.config import Config
from engine.registry import ConfigError
from engine.textfiles import MAX_JSON_BYTES, decode_json, read_file

PRESETS_DIR = Path(__file__).resolve().parents[1] / "assets" / "presets"
WRAPPER_KEYS = {"title", "summary", "look_for", "try_next", "config", "variants", "lab"}


@dataclass(frozen=True)
class Variant:
    """One run of a side-by-side comparison: the base config with `changes` applied."""

    label: str
    changes: Mapping[str, Any]
    config: Config


@dataclass(frozen=True)
class Preset:
    """A titled config; `name` is the file name without .json."""

    name: str
    title: str
    summary: str
    config: Config
    look_for: str = ""
    try_next: str = ""
    variants: tuple[Variant, ...] = ()
    lab: Mapping[str, Any] = field(default_factory=dict)


def make_variants(base: Config, items: Any, where: str = "variants") -> tuple[Variant, ...]:
    """Variants from [{"label": ..., "set": {"field.path": value}}, ...], each validated."""
    if not isinstance(items, list):
        raise ConfigError(where, "must be a list of {label, set} objects")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or set(item) - {"label", "set"} or "set" not in item:
            raise ConfigError(f"{where}[{i}]", 'must be {"label": "...", "set": {...}}')
        changes = item["set"]
        if not isinstance(changes, dict):
            raise ConfigError(f"{where}[{i}].set", "must map field paths to values")
        try:
            cfg = base.replace(**changes)
        except ConfigError as e:
            raise ConfigError(f"{where}[{i}].{e.field}", str(e).split(": ", 1)[-1]) from None
        label = str(item.get("label") or ", ".join(f"{k}={v}" for k, v in changes.items()))
        out.append(Variant(label, dict(changes), cfg))
    return tuple(out)


def parse_preset(name: str, text: str | bytes) -> Preset:
    """A preset from JSON text or UTF-8 bytes (bare config or wrapped); ConfigError naming
    what is wrong (bad encoding, nesting and numbers too: see engine.textfiles)."""
    data: Any = decode_json(text, "config")
    if isinstance(data, dict) and "config" in data:
        unknown = set(data) - WRAPPER_KEYS
        if unknown:
            raise ConfigError(
                sorted(unknown)[0], f"unknown key in a preset; allowed: {sorted(WRAPPER_KEYS)}"
            )
        base = Config.from_dict(data["config"])
        lab = data.get("lab", {})
        if not isinstance(lab, dict):
            raise ConfigError("lab", "must be a JSON object of the lab page's settings")
        return Preset(
            name,
            str(data.get("title", name)),
            str(data.get("summary", "")),
            base,
            str(data.get("look_for", "")),
            str(data.get("try_next", "")),
            make_variants(base, data.get("variants", [])),
            lab,
        )
    return Preset(name, name, "", Config.from_dict(data))


def load_preset(path: str | Path) -> Preset:
    """Read one preset file (a regular file of at most MAX_JSON_BYTES: a FIFO or /dev/zero is
    refused before reading)."""
    path = Path(path)
    return parse_preset(path.stem, read_file(path, "config", MAX_JSON_BYTES))


def list_presets(folder: str = "") -> list[Preset]:
    """Every preset in assets/presets/<folder>, sorted by file name (prefix names to order)."""
    return [load_preset(p) for p in sorted((PRESETS_DIR / folder).glob("*.json"))]
