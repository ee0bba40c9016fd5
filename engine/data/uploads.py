"""A user's own 2-D classification points: a CSV upload (x1, x2, label) and the CSV download.

    pts = parse_points_csv(uploaded_bytes)  # pts.xy (n, 2), pts.y (n,), pts.class_names
    data = points_to_csv(xy, y)  # b"x1,x2,label\\n..." that parse_points_csv reads back exactly

Format rules (what the upload help text should say):

- One point per line: x1, x2, label. Columns are separated by commas, semicolons or tabs
  (sniffed from the first line); with semicolons or tabs a decimal comma ("1,5") is accepted,
  as spreadsheets in many locales write it. Fields may be quoted ("red, dark").
- An optional header: a first row of 3 fields of which at least 2 are not numbers (a data row
  has at most one, its label). Any names are accepted; if the header names both x1 and x2
  (any case, any order), those columns are the coordinates and the third is the label.
- Blank lines, lines of empty fields (",,"), lines starting with "#", surrounding whitespace and
  trailing empty fields are ignored. Text is UTF-8, with or without a byte-order mark.
- Coordinates are finite numbers. Labels are whole numbers or short names (at most
  MAX_LABEL_CHARS characters). If every label is a number, classes are numbered in numeric
  order, so TensorFlow Playground's {-1, 1} becomes -1 -> 0, 1 -> 1 and {0, 1} stays as it is;
  otherwise labels are text and numbered in sorted text order. `class_names` keeps the labels
  as written ("1" for "1.0" or "+1").
- MIN_CLASSES..MAX_CLASSES classes, at least MIN_ROWS points, at least MIN_PER_CLASS points per
  class (a class seen once is almost always a typo, and a class needs one point for training
  and one for validation), at most `max_rows` points and `max_bytes` bytes.

Every problem raises DataError with the line number, what is wrong and what to do.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.data.errors import DataError

COLUMNS = ("x1", "x2", "label")
MIN_ROWS = 10
MIN_CLASSES = 2
MAX_CLASSES = 10
MIN_PER_CLASS = 2
MAX_LABEL_CHARS = 40
SEPARATORS = {"\t": "tabs", ";": "semicolons", ",": "commas"}  # sniffing order: see _sniff
HINT = "every row needs x1, x2, label"

# A plain decimal number: no Python extras such as "1_000", "0x1f" or "nan" (handled apart).
# Written so that each digit can be matched one way only: "\d+\.?\d*" could split a run of
# digits between its two parts in every way, and a long run followed by a non-digit then took
# quadratic time (20,000 digits: 6.6 s, holding the GIL; a 1.9 MB field: hours).
MAX_COORDINATE = 1e15  # squared (feature x1^2) still far inside float32's 3.4e38
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_NON_FINITE = re.compile(r"[+-]?(nan|inf|infinity)", re.IGNORECASE)

Array = np.ndarray[Any, Any]


@dataclass(frozen=True, eq=False)
class UploadedPoints:
    """Parsed points: xy float64 (n, 2), y int64 (n,) in 0..n_classes-1, and the label text of
    each class in class order (class_names[y[i]] is how row i was labelled in the file)."""

    xy: Array
    y: Array
    n_classes: int
    class_names: tuple[str, ...]


def human_size(n: float) -> str:
    """A byte count as people read it: '512 bytes', '3.4 kB', '5.2 MB'."""
    if n < 1000:
        return f"{n:g} bytes"
    if n < 1_000_000:
        return f"{n / 1000:.3g} kB"
    return f"{n / 1_000_000:.3g} MB"


def size_over_limit(size: int, limit: int) -> str:
    """'is 2.4 MB; the limit is 2 MB', in exact bytes where rounding would show the same
    number twice ('the file is 2 MB; the limit is 2 MB' reads as a contradiction)."""
    shown, allowed = human_size(size), human_size(limit)
    if shown == allowed:
        shown, allowed = f"{size:,} bytes", f"{limit:,} bytes"
    return f"is {shown}; the limit is {allowed}"


def _decode(data: bytes, max_bytes: int) -> str:
    """The file as text, refusing empty, oversized, binary and non-UTF-8 files."""
    if len(data) > max_bytes:  # first: never scan a huge upload
        raise DataError(f"the file {size_over_limit(len(data), max_bytes)}: upload fewer points")
    if not data.strip():
        raise DataError(f"the file is empty; upload a CSV file with one point per line ({HINT})")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataError(
            "the file is UTF-16 text; save it as 'CSV UTF-8' (comma-separated) and upload again"
        )
    if data.startswith(b"PK\x03\x04"):  # zip: most likely an Excel .xlsx workbook
        raise DataError(
            "the file is a ZIP archive (an Excel workbook?), not CSV text; save the sheet as "
            "'CSV UTF-8' (comma-separated) and upload that"
        )
    if b"\x00" in data:
        raise DataError(
            "the file is binary (it contains NUL bytes), not CSV text; upload a CSV file with "
            f"one point per line ({HINT})"
        )
    try:
        return data.decode("utf-8-sig")  # -sig: drops the BOM that Excel's 'CSV UTF-8' writes
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise DataError(
            f"line {line}: byte 0x{data[e.start]:02x} is not UTF-8 text; save the file as "
            "'CSV UTF-8' and upload again"
        ) from None


def _sniff(line: str) -> str:
    """The separator of `line`: the first of tab, semicolon, comma that splits it into exactly 3
    fields (tab and semicolon first, so that decimal commas in '1,5;2,5;0' stay numbers), else
    the most frequent one (the column-count error then says what was found)."""
    for sep in SEPARATORS:
        if len(_split(line, sep)) == 3:
            return sep
    return max(SEPARATORS, key=line.count)  # ties: the earlier one; none at all: tab (1 field)


def _split(line: str, sep: str) -> list[str]:
    """The stripped fields of one line (quotes honoured), without trailing empty fields beyond
    the third: spreadsheets often write '1,2,0,' or pad short rows to a wider sheet."""
    try:
        fields = [f.strip() for f in next(csv.reader([line], delimiter=sep))]
    except (csv.Error, StopIteration):  # e.g. a stray quote; report it as a column problem
        fields = [f.strip() for f in line.split(sep)]
    while len(fields) > 3 and not fields[-1]:
        fields.pop()
    return fields


def _is_number(s: str, decimal_comma: bool) -> bool:
    s = s.replace(",", ".", 1) if decimal_comma and "." not in s else s
    return bool(_NUMBER.fullmatch(s) or _NON_FINITE.fullmatch(s))


def _coordinate(s: str, line: int, column: str, decimal_comma: bool) -> float:
    """One coordinate as a finite float, or DataError naming the line and column."""
    if not s:
        raise DataError(f"line {line}: column {column} is empty; {HINT}")
    text = s.replace(",", ".", 1) if decimal_comma and "." not in s else s
    if _NON_FINITE.fullmatch(text):
        raise DataError(
            f"line {line}: {s!r} in column {column} is not a finite number; coordinates must be "
            "finite: fix or delete that row"
        )
    if not _NUMBER.fullmatch(text):
        raise DataError(f"line {line}: {s!r} in column {column} is not a number; {HINT}")
    value = float(text)
    # '1e999' overflows to inf; beyond MAX_COORDINATE the network's float32 inputs (and
    # features such as x1^2) overflow to inf, and training would diverge on NaN.
    if not (math.isfinite(value) and abs(value) <= MAX_COORDINATE):
        raise DataError(
            f"line {line}: {s!r} in column {column} is too large; coordinates must lie within "
            f"±{MAX_COORDINATE:g} (the network computes in 32-bit floats): rescale the data"
        )
    return value


def _columns(header: list[str]) -> tuple[int, int, int]:
    """Indices of x1, x2, label: from the header if it names x1 and x2, else positional."""
    names = [h.lower() for h in header]
    if names.count("x1") == 1 and names.count("x2") == 1:
        i, j = names.index("x1"), names.index("x2")
        return i, j, 3 - i - j  # the remaining column of 0, 1, 2
    return 0, 1, 2


def _class_keys(labels: list[str], lines: list[int]) -> list[Any]:
    """Each row's class key, whose sorted order is the class order: the label as an int if
    every label is a number (so -1 < 1 and 2 < 10), otherwise the label text."""
    if not all(_NUMBER.fullmatch(s) for s in labels):
        return labels
    keys = []
    for s, line in zip(labels, lines, strict=True):
        value = float(s)
        if not (math.isfinite(value) and value.is_integer()):
            raise DataError(
                f"line {line}: label {s!r} is not a whole number; labels name classes (whole "
                "numbers such as 0, 1, 2 or short names such as red, blue), not measured values"
            )
        keys.append(int(value))
    return keys


def parse_points_csv(
    data: bytes, *, max_bytes: int = 2_000_000, max_rows: int = 20_000
) -> UploadedPoints:
    """Read a user's 2-D classification points from CSV bytes (rules: see the module docstring).

    Raises DataError, naming the line and column or the limit, for anything it cannot use.
    """
    text = _decode(data, max_bytes)
    content = [
        (number, line)
        for number, line in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), 1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not content:
        raise DataError(f"the file has no data rows; upload one point per line ({HINT})")
    sep = _sniff(content[0][1])
    decimal_comma = sep != ","
    rows = [(number, _split(line, sep)) for number, line in content]
    rows = [(number, fields) for number, fields in rows if any(fields)]

    cols = (0, 1, 2)
    if rows:
        first = rows[0][1]
        if len(first) == 3 and sum(not _is_number(f, decimal_comma) for f in first) >= 2:
            cols = _columns(first)
            rows = rows[1:]
    if len(rows) > max_rows:
        raise DataError(
            f"the file has {len(rows):,} data rows; the limit is {max_rows:,}: upload fewer points"
        )
    if len(rows) < MIN_ROWS:
        raise DataError(
            f"the file has {len(rows)} data row{'s' * (len(rows) != 1)}; at least {MIN_ROWS} "
            f"are needed: add points ({HINT})"
        )

    xy = np.empty((len(rows), 2), dtype=np.float64)
    labels: list[str] = []
    lines: list[int] = []
    for r, (number, fields) in enumerate(rows):
        if len(fields) == 1:
            raise DataError(
                f"line {number}: found 1 column where 3 are expected; separate x1, x2 and label "
                "by commas, semicolons or tabs"
            )
        if len(fields) != 3:
            raise DataError(
                f"line {number}: found {len(fields)} column{'s' * (len(fields) != 1)} where 3 "
                f"are expected (separated by {SEPARATORS[sep]}); {HINT}"
            )
        for c, column in enumerate(COLUMNS[:2]):
            xy[r, c] = _coordinate(fields[cols[c]], number, column, decimal_comma)
        label = fields[cols[2]]
        if not label:
            raise DataError(f"line {number}: the label is empty; {HINT}")
        if len(label) > MAX_LABEL_CHARS:
            raise DataError(
                f"line {number}: the label {label[:20]!r}... is {len(label)} characters long; "
                f"labels are class names of at most {MAX_LABEL_CHARS} characters"
            )
        labels.append(label)
        lines.append(number)

    keys = _class_keys(labels, lines)
    order = sorted(set(keys))
    names = [str(k) for k in order]
    index = {k: i for i, k in enumerate(order)}
    if len(index) > MAX_CLASSES:
        seen: set[Any] = set()
        for k, number in zip(keys, lines, strict=True):
            seen.add(k)
            if len(seen) > MAX_CLASSES:
                raise DataError(
                    f"line {number}: label {str(k)!r} is the {len(seen)}th different label; at "
                    f"most {MAX_CLASSES} classes are supported: labels must name classes (such "
                    "as 0/1 or red/blue), not measured values"
                )
    if len(index) < MIN_CLASSES:
        raise DataError(
            f"all {len(rows)} points have the label {names[0]!r}; a classifier needs at least "
            f"{MIN_CLASSES} classes: add points of another class"
        )
    y = np.fromiter((index[k] for k in keys), dtype=np.int64, count=len(keys))
    counts = np.bincount(y, minlength=len(index))
    rare = np.flatnonzero(counts < MIN_PER_CLASS)
    if len(rare):
        c = int(rare[0])
        where = ", ".join(str(lines[i]) for i in np.flatnonzero(y == c))
        times = "once" if counts[c] == 1 else f"{counts[c]} times"
        raise DataError(
            f"label {names[c]!r} appears only {times} (line {where}); every class needs at "
            f"least {MIN_PER_CLASS} points: fix the label if it is a typo, or add points of "
            "that class"
        )
    return UploadedPoints(xy=xy, y=y, n_classes=len(index), class_names=tuple(names))


def points_to_csv(xy: Array, y: Array, *, class_names: Sequence[str] | None = None) -> bytes:
    """CSV bytes with a header `x1,x2,label`, one point per line, that `parse_points_csv` reads
    back exactly (floats are written with repr, the shortest text that round-trips).

    Labels are the class numbers y, or `class_names[y]` when given; text labels come back
    numbered in sorted order, so pass names in sorted order for an exact round trip.
    Raises ValueError for arrays of the wrong shape, non-finite points or non-integer labels.
    """
    xy, y = np.asarray(xy), np.asarray(y)
    if xy.ndim != 2 or xy.shape[1] != 2 or y.shape != (len(xy),):
        raise ValueError(f"expected xy (n, 2) and y (n,), got {xy.shape} and {y.shape}")
    xy = xy.astype(np.float64)
    if not np.isfinite(xy).all():
        raise ValueError("xy holds NaN or infinite values")
    classes = y.astype(np.int64)
    if not np.array_equal(classes, y):
        raise ValueError("y must hold class numbers (whole numbers), not regression targets")
    if class_names is not None:
        if len(y) and (classes.min() < 0 or classes.max() >= len(class_names)):
            raise ValueError(f"y must be in 0..{len(class_names) - 1} to index class_names")
        labels: list[str] = [str(class_names[c]) for c in classes]
    else:
        labels = [str(c) for c in classes.tolist()]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")  # quotes a name holding a comma or a quote
    writer.writerow(COLUMNS)
    writer.writerows(
        (repr(a), repr(b), label) for (a, b), label in zip(xy.tolist(), labels, strict=True)
    )
    return buf.getvalue().encode("utf-8")
