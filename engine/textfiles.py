"""Bounded, decoded reading of the files and text that visitors and the command line hand in.

A path may name a FIFO (opening it blocks forever), a device such as /dev/zero (reading never
ends), a directory or a huge file; text may be another encoding than UTF-8, nest 100k levels
deep or hold an integer of 5,000 digits (Python refuses to convert those, and a 400-digit one
overflows a float). Everything here turns such input into one ConfigError line naming the field
or flag, checks the file's type and size before reading it and never reads more than the cap.

Used by config and preset files, the Runs page's "Import a config", search space files and the
CLI's --points file, so all of them accept and refuse the same things (a UTF-8 BOM is accepted
everywhere: editors on Windows write one).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from engine.registry import ConfigError

MAX_JSON_BYTES = 1_000_000  # a config, preset or search space is a few kB; refuse what cannot be
MAX_JSON_DEPTH = 32  # a lab preset nests 5 levels; 100k-deep JSON overflows Python's stack
# No field takes a longer integer; Python refuses to convert integers over 4,300 digits
# (CVE-2020-10735) with a ValueError, and a 400-digit one overflows a float.
MAX_INT_DIGITS = 100
MAX_SHOWN = 60  # characters of a user's value quoted back in a message


def shown(value: Any, limit: int = MAX_SHOWN) -> str:
    """repr(value) cut to about `limit` characters, for quoting a user's input in a message."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 300:
        return f"an integer of about {int(value.bit_length() * 0.30103) + 1} digits"
    text = repr(value) if not isinstance(value, str) else repr(value[: limit + 1])
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def one_line(message: str, limit: int = 4000) -> str:
    """A message as one printable line: control characters (a newline in a JSON key, an ANSI
    escape) written as escapes, and at most `limit` characters."""
    if not message.isprintable():
        message = "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)
    return message if len(message) <= limit else f"{message[: limit - 3]}..."


def size_text(n: int) -> str:
    """A byte count a person reads at once, exact where it matters: '2,000,001 bytes'."""
    return f"{n:,} bytes"


def read_file(path: str | Path, what: str, limit: int) -> bytes:
    """The bytes of a regular file of at most `limit` bytes, or a ConfigError naming `what`.

    The file is opened without blocking (a FIFO would wait for a writer forever), its type and
    size are checked on the open descriptor (no race with a file swapped in between), and at
    most limit + 1 bytes are read (a /proc file reports size 0 and may hold more)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except (OSError, ValueError) as e:  # ValueError: a NUL byte in the path
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise ConfigError(what, f"cannot read {path}: {reason}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ConfigError(what, f"cannot read {path}: it is {_kind(st.st_mode)}, not a file")
        if st.st_size > limit:
            raise ConfigError(what, _too_big(st.st_size, limit))
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise ConfigError(what, f"cannot read {path}: {e.strerror}") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise ConfigError(what, f"the file has more than {size_text(limit)}, the limit")
    return data


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _too_big(n: int, limit: int) -> str:
    return f"the file has {size_text(n)}; the limit is {size_text(limit)}"


def decode_text(data: bytes | str, what: str, limit: int) -> str:
    """UTF-8 text (a leading BOM dropped) from bytes or text of at most `limit` bytes or
    characters; ConfigError naming `what` otherwise."""
    if len(data) > limit:
        unit = "bytes" if isinstance(data, bytes) else "characters"
        where = "file" if isinstance(data, bytes) else "text"
        raise ConfigError(what, f"the {where} has {len(data):,} {unit}; the limit is {limit:,}")
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ConfigError(
            what,
            f"the file is not UTF-8 text (byte {e.start + 1} is {data[e.start]:#04x}); save it "
            "as UTF-8",
        ) from None


def decode_json(data: bytes | str, what: str, limit: int = MAX_JSON_BYTES, root: str = "") -> Any:
    """The JSON value in `data` (bytes or text, UTF-8, BOM allowed, at most `limit` long),
    nested at most MAX_JSON_DEPTH deep, its integers of at most MAX_INT_DIGITS digits.
    ConfigError naming `what`, or for a too long integer its place (`root` + keys, such as
    train.lr, as the fields' own errors name them)."""
    text = decode_text(data, what, limit)
    if not text.strip():
        raise ConfigError(what, "the file is empty; give a JSON object such as {}")
    try:
        value = json.loads(text, parse_int=_json_int)
    except json.JSONDecodeError as e:
        raise ConfigError(
            what, f"not valid JSON ({e.msg} at line {e.lineno} column {e.colno})"
        ) from None
    except RecursionError:
        raise ConfigError(what, f"nested more than {MAX_JSON_DEPTH} levels deep") from None
    _check_tree(value, what, root)
    return value


def too_long(text: str) -> str | None:
    """What is wrong with an integer literal of more than MAX_INT_DIGITS digits, else None."""
    digits = text.strip().lstrip("+-")
    if len(digits) > MAX_INT_DIGITS and digits.isdigit():
        return f"an integer of {len(digits):,} digits is too large (at most {MAX_INT_DIGITS})"
    return None


class _LongInt:
    """Stands for a too long JSON integer until the tree walk names its place."""

    def __init__(self, message: str) -> None:
        self.message = message


def _json_int(text: str) -> int | _LongInt:
    message = too_long(text)
    return _LongInt(message) if message else int(text)


def _check_tree(value: Any, what: str, root: str) -> None:
    """Refuse nesting deeper than MAX_JSON_DEPTH, keys with control characters (a newline in a
    key would break the one-line message that names it) and too long integers, without
    recursion (the tree may be as deep as the parser allowed)."""
    stack: list[tuple[Any, str, int]] = [(value, root, 1)]
    while stack:
        node, place, depth = stack.pop()
        if isinstance(node, _LongInt):
            raise ConfigError(place or what, node.message)
        if isinstance(node, dict):
            for key in node:
                if not key.isprintable():
                    raise ConfigError(
                        what, f"the key {shown(key)} holds control characters; no field is named so"
                    )
            children = [(f"{place}.{k}" if place else k, v) for k, v in node.items()]
        elif isinstance(node, list):
            children = [(f"{place}[{i}]", v) for i, v in enumerate(node)]
        else:
            continue
        if depth > MAX_JSON_DEPTH:
            raise ConfigError(what, f"nested more than {MAX_JSON_DEPTH} levels deep")
        stack.extend((child, name, depth + 1) for name, child in reversed(children))
