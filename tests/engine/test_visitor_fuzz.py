"""Fuzzing what a visitor controls (issue 10): CSV uploads, digit images and link parameters.

Each property runs 200+ generated cases through the function the pages call: the only
outcomes allowed are a usable result or the module's own one-line error. Sizes stay small so
the whole file runs in well under a minute; the budgets themselves are tested elsewhere
(test_budget.py, test_uploads.py)."""

from __future__ import annotations

import io
import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from engine import budget
from engine.config import Config, field_paths
from engine.data import DataError
from engine.data.digits import preprocess_digit
from engine.data.uploads import MAX_COORDINATE, parse_points_csv, size_over_limit

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# CSV ---------------------------------------------------------------------------------------

NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**20), 10**20).map(str),
    st.sampled_from(["3e38", "-1e308", "1e15", "1e16", "nan", "inf", "-0", ".5", "5.", "1,5"]),
    st.text("0123456789.eE+-", max_size=12),
    st.just("1" * 3000),
)
LABELS = st.one_of(st.integers(-3, 12).map(str), st.text(max_size=8), st.sampled_from(["a", "b"]))
SEPS = st.sampled_from([",", ";", "\t", " ", "|"])


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    sep = draw(SEPS)
    header = draw(st.sampled_from(["x1,x2,label\n", "label,x2,x1\n", "", "# points\n", "a,b\n"]))
    rows = draw(
        st.lists(st.tuples(NUMBERS, NUMBERS, LABELS), min_size=0, max_size=40).map(
            lambda rs: "".join(sep.join(r) + "\n" for r in rs)
        )
    )
    text = (header + rows).encode("utf-8", "surrogatepass")
    junk = draw(st.binary(max_size=30))
    where = draw(st.integers(0, len(text)))
    return draw(st.sampled_from([text, text[:where] + junk + text[where:], junk]))


@FUZZ
@given(csv_files())
def test_any_csv_is_parsed_to_finite_points_or_refused_in_one_line(data: bytes) -> None:
    try:
        points = parse_points_csv(data)
    except DataError as e:
        assert str(e) and "\n" not in str(e)
        return
    assert points.xy.shape == (len(points.y), 2)
    assert np.isfinite(points.xy).all() and np.abs(points.xy).max() <= MAX_COORDINATE
    assert 2 <= points.n_classes == len(points.class_names)
    assert set(np.unique(points.y)) == set(range(points.n_classes))


def test_huge_coordinates_are_refused_not_turned_into_nan() -> None:
    """3e38 and 1e308 pass as finite floats but overflow the network's float32 inputs (and
    x1^2): the page then blamed the learning rate for the NaN (issue 10.8)."""
    rows = "".join(f"{i},{-i / 4},{i % 2}\n" for i in range(12))
    for big in ("3e38", "-1e308", "1e16"):
        try:
            parse_points_csv(f"x1,x2,label\n{big},1,0\n{rows}".encode())
        except DataError as e:
            assert "line 2" in str(e) and "too large" in str(e) and "rescale" in str(e)
        else:
            raise AssertionError(f"{big} was accepted")
    assert parse_points_csv(f"x1,x2,label\n1e15,1,0\n{rows}".encode()).xy[0, 0] == 1e15


def test_a_size_just_over_the_limit_does_not_read_as_equal_to_it() -> None:
    assert size_over_limit(2_000_001, 2_000_000) == (
        "is 2,000,001 bytes; the limit is 2,000,000 bytes"
    )
    assert size_over_limit(3_400_000, 2_000_000) == "is 3.4 MB; the limit is 2 MB"
    try:
        parse_points_csv(b"1,2,0\n" * 333_334)  # 2,000,004 bytes
    except DataError as e:
        assert "2,000,004 bytes; the limit is 2,000,000 bytes" in str(e)


# Digit images ------------------------------------------------------------------------------

MODES = ["L", "RGB", "RGBA", "P", "1", "I;16", "CMYK", "LA", "I", "F"]
FORMATS = ["PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP"]


@st.composite
def image_files(draw: st.DrawFn) -> bytes:
    mode, fmt = draw(st.sampled_from(MODES)), draw(st.sampled_from(FORMATS))
    w, h = draw(st.integers(1, 96)), draw(st.integers(1, 96))
    seed = draw(st.integers(0, 2**16))
    pixels = np.random.default_rng(seed).integers(0, 256, (h, w), dtype=np.uint8)
    if draw(st.booleans()):  # a dark stroke on a light page, like a photographed digit
        pixels[:] = 230
        pixels[h // 4 : 3 * h // 4 + 1, w // 2 : w // 2 + max(1, w // 8)] = 20
    img = Image.fromarray(pixels, "L").convert(mode)
    buf = io.BytesIO()
    try:
        img.save(buf, fmt)
    except (OSError, ValueError, KeyError):  # this format cannot hold this mode
        img.convert("RGB").save(buf, "PNG")
    data = buf.getvalue()
    cut = draw(st.one_of(st.none(), st.integers(0, len(data))))
    junk = draw(st.binary(max_size=16))
    return data if cut is None else data[:cut] + junk


@FUZZ
@given(st.one_of(image_files(), st.binary(max_size=200)))
def test_any_image_becomes_a_28x28_digit_or_a_one_line_error(data: bytes) -> None:
    try:
        steps = preprocess_digit(data)
    except DataError as e:
        assert str(e) and "\n" not in str(e)
        return
    assert steps.centred.shape == (28, 28) and steps.centred.dtype == np.uint8


# Link parameters ---------------------------------------------------------------------------

VALUES = st.one_of(
    st.text(max_size=30),
    st.integers().map(str),
    st.floats().map(repr),
    st.sampled_from(["4096," * 40, "8," * 200, "1" * 5000, "1e400", "-0", "[8, 8]", "true"]),
    st.lists(st.integers(-5, 5000), max_size=40).map(lambda ws: ",".join(map(str, ws))),
)


@FUZZ
@given(
    st.dictionaries(
        st.one_of(st.sampled_from(field_paths()), st.text(max_size=20)), VALUES, max_size=8
    )
)
def test_any_link_gives_a_valid_config_within_budget_and_one_line_notices(
    params: dict[str, str],
) -> None:
    cfg, notices = Config.from_query(params)
    budget.check(cfg)  # what a link opens is always within the server's budget
    assert len(cfg.model.hidden) <= budget.MAX_HIDDEN_LAYERS
    assert math.isfinite(cfg.train.lr)
    for notice in notices:
        assert notice and "\n" not in notice
    assert len(notices) <= len(params)
