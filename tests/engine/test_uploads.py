"""A user's own 2-D points: CSV parsing (formats, label mapping, every bad input) and download."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.data import DataError, toy
from engine.data.uploads import (
    MAX_CLASSES,
    MIN_ROWS,
    UploadedPoints,
    parse_points_csv,
    points_to_csv,
)

ROOT = Path(__file__).resolve().parents[2]


def rows(labels: list[str], sep: str = ",") -> str:
    """One line per label, with distinct coordinates (x1 = i, x2 = -i / 4)."""
    return "".join(f"{i}{sep}{-i / 4}{sep}{lab}\n" for i, lab in enumerate(labels))


TWO = ["0"] * 6 + ["1"] * 6  # a minimal valid file: 12 rows, 2 classes


def parse(text: str, **kw: int) -> UploadedPoints:
    return parse_points_csv(text.encode("utf-8"), **kw)


# Round trip and formats --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["gauss", "spiral3", "checkerboard"])
def test_download_then_upload_gives_the_same_points(name: str) -> None:
    xy, y = getattr(toy, name)(300, 0.3, np.random.default_rng(1))
    pts = parse_points_csv(points_to_csv(xy, y))
    np.testing.assert_array_equal(pts.xy, xy)  # bit-exact: floats are written with repr
    np.testing.assert_array_equal(pts.y, y)
    assert pts.xy.dtype == np.float64 and pts.y.dtype == np.int64
    assert pts.n_classes == len(np.unique(y))
    assert pts.class_names == tuple(str(c) for c in range(pts.n_classes))


def test_round_trip_keeps_class_names_even_with_commas_and_quotes() -> None:
    xy = np.arange(24, dtype=np.float64).reshape(12, 2) / 7
    y = np.array([0, 1, 2] * 4)
    names = ('blue "sky"', "green", "red, dark")  # sorted, so the numbering survives
    data = points_to_csv(xy, y, class_names=names)
    assert data.startswith(b"x1,x2,label\n")
    pts = parse_points_csv(data)
    assert pts.class_names == names
    np.testing.assert_array_equal(pts.y, y)
    np.testing.assert_array_equal(pts.xy, xy)


def test_header_is_optional() -> None:
    plain = parse(rows(TWO))
    for header in ("x1,x2,label\n", "a,b,c\n", " X , Y , Class \n"):
        with_header = parse(header + rows(TWO))
        np.testing.assert_array_equal(with_header.xy, plain.xy)
        np.testing.assert_array_equal(with_header.y, plain.y)


def test_header_with_x1_x2_label_in_another_order_is_respected() -> None:
    text = "label;X2;x1\n" + "".join(f"{lab};{-i};{i}\n" for i, lab in enumerate(TWO))
    pts = parse(text)
    np.testing.assert_array_equal(pts.xy[:, 0], np.arange(12))
    np.testing.assert_array_equal(pts.xy[:, 1], -np.arange(12))
    np.testing.assert_array_equal(pts.y, [0] * 6 + [1] * 6)


@pytest.mark.parametrize(
    "text",
    [
        rows(TWO, ";"),
        rows(TWO, "\t"),
        rows(TWO, " ; "),  # whitespace around fields
        "\ufeffx1,x2,label\n" + rows(TWO),  # Excel's "CSV UTF-8" byte-order mark
        rows(TWO).replace("\n", "\r\n"),  # Windows line ends
        "\n\n# exported by hand\n  \n" + rows(TWO).replace("\n", "\n\n") + ",,\n",  # noise lines
        rows(TWO).replace("\n", ",\n"),  # a trailing separator on every line
        rows(TWO, ";").replace(".", ","),  # decimal commas, as in many spreadsheet locales
    ],
    ids=["semicolon", "tab", "spaces", "bom", "crlf", "blank-comment-lines", "trailing-sep", "dec"],
)
def test_separators_and_text_variants_read_the_same(text: str) -> None:
    pts, ref = parse(text), parse(rows(TWO))
    np.testing.assert_array_equal(pts.xy, ref.xy)
    np.testing.assert_array_equal(pts.y, ref.y)


# Labels ------------------------------------------------------------------------------------


def test_tf_playground_minus_one_one_labels() -> None:
    pts = parse(rows(["-1", "1", "+1", "-1.0", "1.0", "-1"] * 2))
    assert pts.class_names == ("-1", "1")
    np.testing.assert_array_equal(pts.y, [0, 1, 1, 0, 1, 0] * 2)


def test_numeric_labels_are_ordered_as_numbers_not_text() -> None:
    pts = parse(rows(["10", "2", "3"] * 4))  # as text, "10" would sort first
    assert pts.class_names == ("2", "3", "10")
    np.testing.assert_array_equal(pts.y, [2, 0, 1] * 4)


def test_string_labels_become_sorted_classes() -> None:
    pts = parse("x1,x2,label\n" + rows(["red", "blue", '"green"'] * 4))
    assert pts.n_classes == 3
    assert pts.class_names == ("blue", "green", "red")
    np.testing.assert_array_equal(pts.y, [2, 0, 1] * 4)
    assert [pts.class_names[c] for c in pts.y[:3]] == ["red", "blue", "green"]


def test_up_to_the_class_limit_is_accepted() -> None:
    pts = parse(rows([str(c) for c in range(MAX_CLASSES)] * 2))
    assert pts.n_classes == MAX_CLASSES


# Bad inputs: each names the line/column or the limit ---------------------------------------

BAD: list[tuple[str, bytes, dict[str, int], list[str]]] = [
    ("empty", b"", {}, ["empty"]),
    ("whitespace", b" \n\n\t\n", {}, ["empty"]),
    ("header-only", b"x1,x2,label\n", {}, ["0 data rows", f"at least {MIN_ROWS}"]),
    ("too-few-rows", rows(["0", "1"] * 2).encode(), {}, ["4 data rows", f"at least {MIN_ROWS}"]),
    ("too-big", rows(TWO * 10).encode(), {"max_bytes": 1000}, ["kB", "the limit is 1 kB"]),
    ("too-many-rows", rows(TWO * 3).encode(), {"max_rows": 30}, ["36 data rows", "limit is 30"]),
    ("binary", bytes(range(256)) * 4, {}, ["binary"]),
    ("utf16", rows(TWO).encode("utf-16"), {}, ["UTF-16", "CSV UTF-8"]),
    ("xlsx", b"PK\x03\x04" + b"\x14" * 200, {}, ["ZIP", "CSV UTF-8"]),
    (
        "latin1",
        rows([*TWO[:3], "café", "café", "café", *TWO[6:]]).encode("latin-1"),
        {},
        ["line 4", "UTF-8"],
    ),
    ("two-columns", (rows(TWO[:4]) + "1,2\n" + rows(TWO[4:])).encode(), {}, ["line 5: found 2"]),
    ("one-column", "\n".join(["1 2 0"] * 12).encode(), {}, ["line 1: found 1 column"]),
    (
        "not-a-number",
        (rows(TWO[:6]) + "1,abc,0\n" + rows(TWO[6:])).encode(),
        {},
        ["line 7: 'abc' in column x2 is not a number; every row needs x1, x2, label"],
    ),
    (
        "nan",
        ("x1,x2,label\n1,2,0\nnan,1,1\n" + rows(TWO)).encode(),
        {},
        ["line 3: 'nan' in column x1 is not a finite number"],
    ),
    ("inf", (rows(TWO[:8]) + "1,-inf,0\n" + rows(TWO[8:])).encode(), {}, ["line 9", "finite"]),
    ("overflow", (rows(TWO) + "1e999,1,0\n").encode(), {}, ["line 13", "too large"]),
    ("empty-coordinate", (rows(TWO) + ",1,0\n").encode(), {}, ["line 13: column x1 is empty"]),
    ("empty-label", (rows(TWO) + "1,1,\n").encode(), {}, ["line 13: the label is empty"]),
    ("long-label", (rows(TWO) + rows(["a" * 41] * 2)).encode(), {}, ["line 13", "41 char"]),
    ("fraction-label", rows(["0", "0.5"] * 6).encode(), {}, ["line 2: label '0.5'", "whole"]),
    ("one-class", rows(["7"] * 12).encode(), {}, ["label '7'", "at least 2 classes"]),
    (
        "too-many-classes",
        rows([str(i) for i in range(12)] * 2).encode(),
        {},
        [
            "line 11: label '10' is the 11th different label",
            f"at most {MAX_CLASSES} classes",
        ],
    ),
    (
        "lonely-class",
        rows([*TWO[:8], "l", *TWO[8:]]).encode(),
        {},
        [
            "label 'l' appears only once (line 9)",
            "typo",
        ],
    ),
]


@pytest.mark.parametrize(("data", "kw", "parts"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_upload_says_what_where_and_what_to_do(
    data: bytes, kw: dict[str, int], parts: list[str]
) -> None:
    with pytest.raises(DataError) as info:
        parse_points_csv(data, **kw)
    message = str(info.value)
    for part in parts:
        assert part in message


def test_comment_and_blank_lines_count_in_line_numbers() -> None:
    text = "# my points\n\nx1,x2,label\n" + rows(TWO[:4]) + "\n1,oops,1\n" + rows(TWO[4:])
    with pytest.raises(DataError, match=r"^line 9: 'oops' in column x2"):
        parse(text)


def test_points_to_csv_refuses_what_it_cannot_write() -> None:
    xy = np.zeros((4, 2))
    with pytest.raises(ValueError, match=r"expected xy \(n, 2\)"):
        points_to_csv(xy, np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match="whole numbers"):
        points_to_csv(xy, np.array([0.0, 0.5, 1.0, 1.0]))  # regression targets
    with pytest.raises(ValueError, match="NaN"):
        points_to_csv(np.full((4, 2), np.nan), np.zeros(4, dtype=np.int64))
    with pytest.raises(ValueError, match="class_names"):
        points_to_csv(xy, np.array([0, 1, 2, 2]), class_names=("a", "b"))


@pytest.mark.parametrize("digits", [200_000, 1_900_000])
def test_a_long_run_of_digits_is_refused_in_linear_time(digits: int) -> None:
    """A field of digits ending in a letter (issue 10): the number pattern once backtracked
    quadratically on it, holding the GIL for seconds (20,000 digits) to hours (a 1.9 MB field
    under the upload limit), which froze every session. Parsed in a child process so that a
    regression fails at the (generous) timeout instead of hanging the suite."""
    code = (
        "from engine.data import DataError\n"
        "from engine.data.uploads import parse_points_csv\n"
        "rows = b''.join(b'%d,%d,%d\\n' % (i, i, i % 2) for i in range(12))\n"
        f"bad = b'1' * {digits} + b'x,1,0\\n' + rows\n"
        "try:\n"
        "    parse_points_csv(bad)\n"
        "except DataError as e:\n"
        "    print(e)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "line 1" in done.stdout and "is not a number" in done.stdout
