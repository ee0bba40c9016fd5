"""Presets: named run configs shipped in assets/presets/, for one-click experiments.

A preset file is either a bare run config (what `python -m engine config` prints) or a config
wrapped with a title and a one-paragraph summary:

    {"title": "Spiral from raw inputs", "summary": "...", "config": {...}}

Both forms load with `load_preset`; the CLI accepts either wherever it takes a config file.
Presets in a sub-folder belong to one page (assets/presets/playground/*.json).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.config import Config
from engine.registry import ConfigError

PRESETS_DIR = Path(__file__).resolve().parents[1] / "assets" / "presets"
WRAPPER_KEYS = {"title", "summary", "config"}


@dataclass(frozen=True)
class Preset:
    """A titled config; `name` is the file name without .json."""

    name: str
    title: str
    summary: str
    config: Config


def parse_preset(name: str, text: str) -> Preset:
    """A preset from JSON text (bare config or wrapped); ConfigError naming what is wrong."""
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError("config", f"not valid JSON ({e.msg} at line {e.lineno})") from None
    if isinstance(data, dict) and "config" in data:
        unknown = set(data) - WRAPPER_KEYS
        if unknown:
            raise ConfigError(
                sorted(unknown)[0], f"unknown key in a preset; allowed: {sorted(WRAPPER_KEYS)}"
            )
        return Preset(
            name,
            str(data.get("title", name)),
            str(data.get("summary", "")),
            Config.from_dict(data["config"]),
        )
    return Preset(name, name, "", Config.from_dict(data))


def load_preset(path: str | Path) -> Preset:
    """Read one preset file."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise ConfigError("config", f"cannot read {path}: {e.strerror}") from None
    return parse_preset(path.stem, text)


def list_presets(folder: str = "") -> list[Preset]:
    """Every preset in assets/presets/<folder>, sorted by file name (prefix names to order)."""
    return [load_preset(p) for p in sorted((PRESETS_DIR / folder).glob("*.json"))]
