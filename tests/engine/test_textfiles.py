"""Bounded, decoded reading of visitors' and the command line's files (engine/textfiles.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from engine.config import Config
from engine.export import import_config
from engine.presets import load_preset
from engine.registry import ConfigError
from engine.search import Space
from engine.textfiles import (
    MAX_JSON_DEPTH,
    decode_json,
    one_line,
    read_file,
    shown,
)

DEEP = "[" * 100_000 + "]" * 100_000  # RecursionError in json.loads
LONG_INT = "1" * 5000  # over Python's 4,300-digit conversion limit: ValueError in json.loads
HUGE = "1" + "0" * 400  # parses as an int, overflows float(): OverflowError


def refused(data: bytes | str, what: str = "config") -> ConfigError:
    with pytest.raises(ConfigError) as info:
        decode_json(data, what)
    assert "\n" not in str(info.value)
    return info.value


def test_a_bom_is_accepted_in_bytes_and_in_text() -> None:
    assert decode_json(b'\xef\xbb\xbf{"seed": 3}', "config") == {"seed": 3}
    assert decode_json('\ufeff{"seed": 3}', "config") == {"seed": 3}
    assert Config.from_json(b'\xef\xbb\xbf{"seed": 3}').seed == 3
    assert Config.from_json('\ufeff{"seed": 3}').seed == 3


def test_bad_bytes_deep_nesting_and_long_integers_are_one_line_errors() -> None:
    e = refused(b'{"seed": 1, "x": "\xff\xfe"}')
    assert e.field == "config" and "not UTF-8" in str(e) and "byte 19" in str(e)
    e = refused(DEEP)
    assert e.field == "config" and "nested" in str(e)
    e = refused("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1))
    assert "nested more than" in str(e)
    e = refused('{"seed": ' + LONG_INT + "}")
    assert e.field == "seed" and "5,000 digits" in str(e)
    e = refused('{"params": [{"low": -' + LONG_INT + "}]}", "space")
    assert e.field == "params[0].low"
    e = refused("   ")
    assert "empty" in str(e)
    e = refused('{"a\\nb": 1}')
    assert "control characters" in str(e) and "'a\\nb'" in str(e)


@pytest.mark.parametrize(
    ("text", "field", "says"),
    [
        (b"\xff\xfe{}", "config", "not UTF-8"),
        (DEEP, "config", "nested"),
        ('{"seed": ' + LONG_INT + "}", "seed", "digits is too large"),
        ('{"train": {"lr": ' + HUGE + "}}", "train.lr", "digits is too large"),
        ('{"train": {"lr": ' + "1" + "0" * 99 + "}}", "train.lr", "must be <= 100.0"),
        ('{"train": {"lr": 1e400}}', "train.lr", "finite"),
        ('{"train": {"lr": NaN}}', "train.lr", "finite"),
    ],
    ids=["not-utf8", "deep", "long-int", "huge-int-float", "big-int-float", "1e400", "nan"],
)
def test_config_text_errors_name_the_field(text: str | bytes, field: str, says: str) -> None:
    for parse in (Config.from_json, import_config):
        with pytest.raises(ConfigError) as info:
            parse(text)
        assert info.value.field == field, str(info.value)
        assert says in str(info.value) and "\n" not in str(info.value)


def test_config_from_dict_refuses_an_int_too_large_for_a_float() -> None:
    with pytest.raises(ConfigError, match=r"train\.lr: must be a finite number, got an integer"):
        Config.from_dict({"train": {"lr": 10**400}})


@pytest.mark.parametrize(
    "text",
    [
        b"\xff\xfe{}",
        DEEP,
        '{"params": [{"field": "train.lr", "type": "float", "low": ' + HUGE + "}]}",
    ],
    ids=["not-utf8", "deep", "huge-int"],
)
def test_search_space_text_gets_the_same_errors(text: str | bytes) -> None:
    with pytest.raises(ConfigError) as info:
        Space.from_json(text)
    assert info.value.field.startswith("space") and "\n" not in str(info.value)


def test_search_space_accepts_a_bom() -> None:
    param = {"field": "train.lr", "type": "float", "low": 0.001, "high": 0.1}
    space = b"\xef\xbb\xbf" + json.dumps({"params": [param]}).encode()
    assert Space.from_json(space).params[0].field == "train.lr"


def test_read_file_refuses_what_is_not_a_small_regular_file(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer forever
    big = tmp_path / "big.json"
    big.write_bytes(b" " * 1001)
    cases = {
        fifo: "it is a pipe, not a file",
        Path("/dev/zero"): "it is a device, not a file",
        tmp_path: "it is a folder, not a file",
        big: "the file has 1,001 bytes; the limit is 1,000 bytes",
        tmp_path / "missing.json": "No such file",
        Path("a\0b"): "cannot read",
    }
    for path, says in cases.items():
        with pytest.raises(ConfigError) as info:
            read_file(path, "--space", 1000)
        assert info.value.field == "--space" and says in str(info.value), str(info.value)
    (tmp_path / "ok.json").write_bytes(b" " * 1000)
    assert read_file(tmp_path / "ok.json", "--space", 1000) == b" " * 1000


def test_presets_and_imports_read_through_the_bounded_reader(tmp_path: Path) -> None:
    fifo = tmp_path / "preset.json"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match=r"config: cannot read .*: it is a pipe"):
        load_preset(fifo)
    with pytest.raises(ConfigError, match="config: the file has 1,000,001 bytes"):
        import_config(b" " * 1_000_001)
    bom = tmp_path / "bom.json"
    bom.write_bytes(b'\xef\xbb\xbf{"train": {"lr": 0.5}}')
    assert load_preset(bom).config == import_config(bom.read_bytes())


def test_import_messages_are_one_line_even_for_a_value_with_a_newline() -> None:
    with pytest.raises(ConfigError) as info:
        import_config(json.dumps({"model": {"activation": "relu\n# [log in](http://x)"}}))
    assert info.value.field == "model.activation" and "\n" not in str(info.value)


def test_shown_and_one_line_keep_messages_short_and_single() -> None:
    assert shown("x" * 1000).endswith("...") and len(shown("x" * 1000)) == 60
    assert shown(10**5000) == "an integer of about 5001 digits"
    assert one_line("a\nb\x00c\x1b[1m") == "a\\nb\\x00c\\x1b[1m"
    assert len(one_line("y" * 10_000)) == 4000
