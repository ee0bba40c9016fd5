"""Reading the values of a search space's JSON, and quoting them back in messages.

A space comes from files and from visitors, so every reader refuses what it cannot use with a
ConfigError naming the place, and quotes what was given on one bounded line.
"""

from __future__ import annotations

import math
import reprlib
from typing import Any

from engine.registry import ConfigError

MAX_NUMBER = 10**18  # no searched field comes near; bigger ints would not even fit int64
_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 60
_SHORT.maxlong = 24
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = 8


def shown(value: Any) -> str:
    """`repr(value)` cut short: messages quote what was given, one bounded line."""
    try:
        return _SHORT.repr(value)
    except ValueError:  # an int past Python's 4300-digit limit for str()
        return "a number too long to show"


def key_shown(key: Any) -> str:
    """A user-given key as it may appear in a ConfigError's field path."""
    return key if isinstance(key, str) and key.isidentifier() and len(key) <= 40 else shown(key)


def number(where: str, v: Any) -> float:
    """`v` if it is a finite int or float below `MAX_NUMBER` in size; ConfigError otherwise."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ConfigError(where, f"must be a finite number, got {shown(v)}")
    if isinstance(v, int) and abs(v) > MAX_NUMBER:  # math.isfinite would overflow on it
        raise ConfigError(where, f"must be a number below 10^18 in size, got {shown(v)}")
    if not math.isfinite(v):
        raise ConfigError(where, f"must be a finite number, got {shown(v)}")
    return v


def json_list(where: str, v: Any) -> list[Any]:
    """`v` as a list if it is a JSON list (or a tuple); ConfigError otherwise."""
    if not isinstance(v, (list, tuple)):
        raise ConfigError(where, f"must be a JSON list, got {shown(v)}")
    return list(v)


def _whole(x: Any) -> bool:
    """An integer, or a float with an integer value, of a size `number` accepts."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return False
    if isinstance(x, int):
        return abs(x) <= MAX_NUMBER
    return math.isfinite(x) and x.is_integer() and abs(x) <= MAX_NUMBER


def int_range(where: str, v: Any) -> tuple[int, int]:
    """[min, max] as two integers (floats with integer values too); ConfigError otherwise."""
    items = json_list(where, v)
    if len(items) != 2 or not all(_whole(x) for x in items):
        raise ConfigError(where, f"give [min, max] as two integers, got {shown(v)}")
    return int(items[0]), int(items[1])
