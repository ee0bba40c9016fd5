"""A user's digit picture -> MNIST-like 28x28: drawings, photos, transparency, EXIF, bad files."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from engine.config import DataConfig
from engine.data import DataError, build_dataset, mnist
from engine.data.digits import DigitSteps, preprocess_digit, to_model_input

SIZE = (1200, 900)  # (width, height): a photo-sized canvas


def draw(kind: str, size: tuple[int, int] = SIZE, ink: int = 0, paper: int = 255) -> Image.Image:
    """A thick, off-centre digit ("1" or "7") drawn on a plain background."""
    w, h = size
    im = Image.new("L", size, paper)
    d = ImageDraw.Draw(im)
    pen = max(3, w // 30)
    if kind == "1":  # upper right: a slanted stem with a flag
        d.line([(0.78 * w, 0.1 * h), (0.72 * w, 0.7 * h)], fill=ink, width=pen)
        d.line([(0.78 * w, 0.1 * h), (0.7 * w, 0.22 * h)], fill=ink, width=pen)
    else:  # "7", left half
        d.line([(0.1 * w, 0.2 * h), (0.4 * w, 0.2 * h), (0.2 * w, 0.9 * h)], fill=ink, width=pen)
    return im


def encode(im: Image.Image, fmt: str = "PNG", **kw: Any) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def centre_of_mass(a: np.ndarray) -> tuple[float, float]:
    """(row, column) in pixel indices, as MNIST's centring uses."""
    m = a.astype(np.float64)
    rows, cols = np.indices(a.shape)
    return float((m * rows).sum() / m.sum()), float((m * cols).sum() / m.sum())


def ink_box(a: np.ndarray) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the nonzero pixels, inclusive."""
    r, c = np.flatnonzero(a.any(axis=1)), np.flatnonzero(a.any(axis=0))
    return int(r[0]), int(r[-1]), int(c[0]), int(c[-1])


def corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel().astype(np.float64), b.ravel().astype(np.float64))[0, 1])


def assert_mnist_like(steps: DigitSteps) -> None:
    """The properties every MNIST image has."""
    c = steps.centred
    assert c.shape == (28, 28) and c.dtype == np.uint8
    assert c.max() == 255  # white ink at full brightness ...
    assert (c[[0, -1], :] == 0).all() and (c[:, [0, -1]] == 0).all()  # ... on black
    top, bottom, left, right = ink_box(c)
    assert max(bottom - top, right - left) + 1 in (19, 20)  # the longer side fills the 20 box
    # Not necessarily inside the central 20x20: centring by mass moves a top-heavy 7 down, as
    # in MNIST itself (whose ink reaches rows 1 to 27).
    cy, cx = centre_of_mass(c)
    assert abs(cy - 14) < 1 and abs(cx - 14) < 1
    assert int(c.sum()) == int(steps.resized.astype(np.int64).sum())  # nothing cut off
    for step in (steps.original, steps.inverted, steps.cropped, steps.resized):
        assert step.dtype == np.uint8 and step.ndim == 2
    assert max(steps.resized.shape) == 20


# Drawings and photos ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["1", "7"])
def test_black_digit_on_white_becomes_white_on_black_centred_28x28(kind: str) -> None:
    steps = preprocess_digit(encode(draw(kind)))
    assert steps.inverted_applied
    assert_mnist_like(steps)
    assert max(steps.original.shape) <= 1024  # the big upload is downscaled for display
    h, w = steps.cropped.shape  # the aspect ratio survives the resize
    rh, rw = steps.resized.shape
    assert abs(rw / rh - w / h) < 0.1


def test_balanced_digit_fills_the_central_20x20_box() -> None:
    im = Image.new("L", (500, 800), 255)
    ImageDraw.Draw(im).ellipse([100, 100, 400, 700], outline=0, width=40)  # a "0", 300x600
    steps = preprocess_digit(encode(im))
    assert_mnist_like(steps)
    assert steps.resized.shape == (20, 10)
    top, bottom, left, right = ink_box(steps.centred)
    # rows 4..23 and columns 9..18 when the mass sits mid-pixel: rounding may move it 1 px
    assert abs(top - 4) <= 1 and bottom == top + 19
    assert abs(left - 9) <= 1 and right == left + 9


def test_white_digit_on_black_is_not_inverted_and_gives_the_same_result() -> None:
    dark = preprocess_digit(encode(draw("7", ink=255, paper=0)))
    light = preprocess_digit(encode(draw("7")))
    assert not dark.inverted_applied and light.inverted_applied
    np.testing.assert_array_equal(dark.centred, light.centred)


@pytest.mark.parametrize("pen", [(0, 0, 0, 255), (255, 255, 255, 255)], ids=["black", "white"])
def test_drawing_on_a_transparent_canvas(pen: tuple[int, ...]) -> None:
    mask = draw("1", size=(300, 300), ink=255, paper=0)  # where the pen went
    im = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    im.paste(Image.new("RGBA", (300, 300), pen), mask=mask)
    steps = preprocess_digit(encode(im))
    assert_mnist_like(steps)
    reference = preprocess_digit(encode(draw("1", size=(300, 300))))
    np.testing.assert_array_equal(steps.centred, reference.centred)


def test_noisy_shadowed_jpeg_photo_finds_the_digit() -> None:
    """Grey paper with a shadow across it, sensor noise, pencil-grey ink, JPEG artefacts."""
    w, h = SIZE
    ink = np.asarray(draw("7", ink=255, paper=0), dtype=np.float64) / 255
    rows, cols = np.indices((h, w))
    paper = 225 - 60 * np.clip((cols - 300) / 900, 0, 1) * rows / h
    noise = np.random.default_rng(0).normal(0, 8, (h, w))
    photo = np.clip(paper * (1 - ink) + 110 * ink + noise, 0, 255).astype(np.uint8)
    steps = preprocess_digit(encode(Image.fromarray(photo).convert("RGB"), "JPEG", quality=85))
    assert steps.inverted_applied
    assert_mnist_like(steps)
    clean = preprocess_digit(encode(draw("7")))
    assert corr(steps.centred, clean.centred) > 0.9


def test_jpeg_exif_rotation_is_applied() -> None:
    upright = draw("7").convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display", as phones store portrait photos
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    rotated = preprocess_digit(encode(stored, "JPEG", quality=95, exif=exif.tobytes()))
    reference = preprocess_digit(encode(upright, "JPEG", quality=95))
    assert rotated.original.shape == reference.original.shape
    assert corr(rotated.centred, reference.centred) > 0.95


def test_mnist_digit_survives_the_round_trip() -> None:
    """A real MNIST digit, enlarged and printed black on white, comes back as itself."""
    digit = mnist.load_embedded().test_x[0]
    big = Image.fromarray(255 - digit).resize((200, 200), Image.Resampling.NEAREST)
    steps = preprocess_digit(encode(big))
    assert steps.inverted_applied
    assert corr(steps.centred, digit) > 0.9


def test_mnist_digits_smoothly_enlarged_mostly_come_back() -> None:
    images = mnist.load_embedded().test_x[:20]
    r = [
        corr(
            preprocess_digit(
                encode(Image.fromarray(255 - d).resize((160, 160), Image.Resampling.BILINEAR))
            ).centred,
            d,
        )
        for d in images
    ]
    assert np.median(r) > 0.9 and min(r) > 0.5


# Bad files --------------------------------------------------------------------------------


def png_header(width: int, height: int) -> bytes:
    """A PNG that claims a size but holds no pixels: tests a size check without the memory."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def noisy_grey() -> bytes:
    a = np.random.default_rng(1).normal(150, 6, (400, 400))
    return encode(Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)), "JPEG")


BAD: list[tuple[str, Any, dict[str, int], str]] = [
    ("empty", lambda: b"", {}, "empty"),
    ("text", lambda: b"7\nthis is not a picture\n", {}, "upload a PNG or JPEG"),
    ("tiff", lambda: encode(draw("7", (64, 64)), "TIFF"), {}, "not an image this app can read"),
    ("blank-white", lambda: encode(Image.new("L", (300, 300), 255)), {}, "looks empty"),
    ("blank-black", lambda: encode(Image.new("RGB", (300, 300))), {}, "looks empty"),
    ("transparent", lambda: encode(Image.new("RGBA", (64, 64))), {}, "looks empty"),
    ("noise-only", noisy_grey, {}, "looks empty"),
    ("bytes", lambda: encode(draw("7")), {"max_bytes": 1000}, "the limit is 1 kB"),
    (
        "pixels",
        lambda: encode(draw("7", (200, 200))),
        {"max_pixels": 10_000},
        "200x200 = 40,000 pixels; the limit is 10,000",
    ),
    ("huge-header", lambda: png_header(6000, 5000), {}, "6000x5000 = 30,000,000 pixels"),
    ("bomb", lambda: png_header(100_000, 100_000), {}, "pixels; the limit is 25,000,000"),
    ("truncated", lambda: encode(draw("7", (400, 400)))[:300], {}, "damaged or incomplete"),
]


@pytest.mark.parametrize(("make", "kw", "part"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_image_raises_a_clear_data_error(make: Any, kw: dict[str, int], part: str) -> None:
    with pytest.raises(DataError, match=part.replace("(", r"\(")):
        preprocess_digit(make(), **kw)


# Model input ------------------------------------------------------------------------------


def test_model_input_matches_the_training_normalization() -> None:
    ds = build_dataset(DataConfig(dataset="mnist", normalize="standard"), 0)
    digit = mnist.load_embedded().test_x[3]
    x = to_model_input(digit, ds.shift, ds.scale)  # 0-d tensors, as the Dataset holds them
    assert x.shape == (1, 1, 28, 28) and x.dtype == torch.float32
    assert ds.test is not None
    torch.testing.assert_close(x[0], ds.test.x[3])
    y = to_model_input(digit, float(ds.shift), float(ds.scale))  # floats work the same
    torch.testing.assert_close(x, y)


def test_model_input_refuses_wrong_shapes() -> None:
    with pytest.raises(ValueError, match="28"):
        to_model_input(np.zeros((20, 20), np.uint8), 0.0, 1.0)
    with pytest.raises(ValueError, match="single numbers"):
        to_model_input(np.zeros((28, 28), np.uint8), torch.zeros(2), torch.ones(2))
