"""A user's photo or drawing of one digit, turned into an MNIST-like 28x28 input, step by step.

MNIST's recipe (LeCun et al., "Gradient-based learning applied to document recognition", 1998,
and the MNIST page): each digit was size-normalized to fit a 20x20 box, keeping its aspect
ratio, with anti-aliasing (so it has grey levels), then centred in a 28x28 field by putting its
centre of mass at the centre. In the embedded test set every digit's longer side is exactly
20 px, its brightest pixel is 255, and its centre of mass averages (14.0, 14.0) in (row, column)
pixel indices, so that is the target here. A picture goes through:

1. `original`: the upload as greyscale (EXIF rotation applied, transparency composited away),
   downscaled to fit WORK_SIDE x WORK_SIDE: enough detail for a 20x20 result, at bounded cost.
2. `inverted`: white ink on black, as MNIST; inverted when the border pixels' median is light.
3. `cropped`: the ink alone, cropped to its bounding box. Big photos are blurred a little first
   (sensor and JPEG noise), the local background level is subtracted (so a shadow across the
   paper is not ink), the contrast is stretched to 0..255, and faint pixels are set to 0: those
   below Otsu's threshold, and at least below INK_FRACTION of the brightest. Ink that does not
   stand out by MIN_CONTRAST grey levels and NOISE_SIGMAS times the background noise means
   the image is refused as empty.
4. `resized`: fitted into 20x20 with the aspect ratio kept (Lanczos, which anti-aliases),
   stretched again so the brightest pixel is 255, as in MNIST.
5. `centred`: pasted into a black 28x28 field with the centre of mass moved to (14, 14),
   rounded to whole pixels and limited so no ink leaves the field.

`to_model_input` then applies the normalization the training images got.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError

from engine.data.errors import DataError
from engine.data.uploads import size_over_limit

Array = np.ndarray[Any, Any]

FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")  # what phones, browsers and paint programs save
WORK_SIDE = 1024
FIELD = 28
BOX = 20
TARGET = (14.0, 14.0)  # MNIST's mean centre of mass, (row, column) pixel indices
INK_FRACTION = 0.2
MIN_CONTRAST = 24  # grey levels of ink above the background; less is paper grain or JPEG noise
NOISE_SIGMAS = 8  # ... and this many times the background noise (pure noise peaks at ~5)
# Blur radius = the longer side / BLUR_DIVISOR (at least 1 px, none under 256 px): 2 px at
# WORK_SIDE, invisible after the 50x reduction to 20 px.
BLUR_DIVISOR = 512
BORDER_FRACTION = 0.02  # the border ring that decides inversion, of the shorter side
BACKGROUND_BLOCKS = 10  # background grid, longer side; strokes up to ~30 % of it stay ink
UPLOAD_ADVICE = "upload a PNG or JPEG"


@dataclass(frozen=True, eq=False)
class DigitSteps:
    """The preprocessing of one digit image, every step a uint8 greyscale array for display;
    `centred` (28, 28) is the MNIST-like result. `inverted_applied` says whether the image was
    inverted (a dark digit on a light background)."""

    original: Array
    inverted: Array
    cropped: Array
    resized: Array
    centred: Array
    inverted_applied: bool


def _open(data: bytes, max_bytes: int, max_pixels: int) -> Image.Image:
    """The decoded image, refusing empty, oversized, unreadable and damaged files."""
    if not data:
        raise DataError(f"the file is empty; {UPLOAD_ADVICE} of one digit")
    if len(data) > max_bytes:
        raise DataError(
            f"the image file {size_over_limit(len(data), max_bytes)}: "
            "upload a smaller image (crop it to the digit, or save it at a lower resolution)"
        )
    try:
        im = Image.open(io.BytesIO(data), formats=FORMATS)  # reads the header only
    except Image.DecompressionBombError:  # Pillow's own limit: far beyond ours
        raise DataError(
            f"the image has too many pixels; the limit is {max_pixels:,}: upload a smaller image"
        ) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise DataError(
            "the file is not an image this app can read (supported: "
            f"{', '.join(FORMATS)}); {UPLOAD_ADVICE}. Phone photos in HEIC format: export them "
            "as JPEG first"
        ) from None
    w, h = im.size
    if w * h > max_pixels:  # checked before decoding: the header says how big it will be
        raise DataError(
            f"the image is {w}x{h} = {w * h:,} pixels; the limit is {max_pixels:,}: upload a "
            "smaller image (crop it to the digit, or save it at a lower resolution)"
        )
    if w < 1 or h < 1:
        raise DataError(f"the image is {w}x{h} pixels: it has no content; {UPLOAD_ADVICE}")
    if im.format == "JPEG":  # decode big JPEGs at reduced scale: faster, less memory
        im.draft(im.mode, (WORK_SIDE, WORK_SIDE))
    try:
        im.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise DataError(
            f"the image file is damaged or incomplete ({e}); save it again as PNG or JPEG and "
            "upload that"
        ) from None
    try:
        return ImageOps.exif_transpose(im)  # phone photos are stored sideways plus a flag
    except Exception:  # a damaged EXIF block: the pixels are fine, use them as stored
        return im


def _greyscale(im: Image.Image) -> Array:
    """uint8 greyscale (h, w) fitted into WORK_SIDE, transparency composited away."""
    if im.mode.startswith("I;16"):  # 16-bit: convert("L") would clip, not scale
        im = Image.fromarray((np.asarray(im, dtype=np.float64) / 257).astype(np.uint8))
    elif im.mode in ("I", "F"):
        a = np.asarray(im, dtype=np.float64)
        lo, hi = float(a.min()), float(a.max())
        im = Image.fromarray(((a - lo) / max(hi - lo, 1e-12) * 255).astype(np.uint8))
    alpha = "A" in im.getbands() or "transparency" in im.info
    # Via RGBA: it is the conversion that honours every kind of transparency (palette, tRNS).
    im = im.convert("RGBA").convert("LA") if alpha else im.convert("L")
    im.thumbnail((WORK_SIDE, WORK_SIDE), Image.Resampling.LANCZOS)  # premultiplies alpha
    if not alpha:
        return np.asarray(im, dtype=np.uint8).copy()
    la = np.asarray(im, dtype=np.float64)  # (h, w, 2)
    grey, a = la[..., 0], la[..., 1] / 255
    # Composite over white, as a drawing on a transparent canvas is meant to be seen; but a
    # light pen on a transparent canvas would vanish on white, so it goes on black instead.
    light_ink = a.sum() > 0 and (grey * a).sum() / a.sum() > 127
    background = 0.0 if light_ink else 255.0
    return np.rint(grey * a + background * (1 - a)).astype(np.uint8)


def _border_median(a: Array) -> float:
    """Median of a ring of pixels along the edges: the background, since a digit rarely
    covers most of the border."""
    k = max(1, round(BORDER_FRACTION * min(a.shape)))
    ring = np.concatenate([a[:k].ravel(), a[-k:].ravel(), a[:, :k].ravel(), a[:, -k:].ravel()])
    return float(np.median(ring))


def _background(a: Array) -> Array:
    """The local background level (float64, a's shape), so that a shadow across the paper is
    not taken for ink: the darkest pixel of each block of a coarse grid (ink is bright here),
    then the darkest in each 3x3 neighbourhood of blocks (so a stroke must be 3 blocks wide to
    pass for background), smoothly interpolated."""
    h, w = a.shape
    b = -(-max(h, w) // BACKGROUND_BLOCKS)  # block side, ceil
    gh, gw = -(-h // b), -(-w // b)
    padded = np.pad(a, ((0, gh * b - h), (0, gw * b - w)), mode="edge")
    coarse = padded.reshape(gh, b, gw, b).min(axis=(1, 3))  # (gh, gw)
    c = np.pad(coarse, 1, mode="edge")
    eroded = np.min([c[i : i + gh, j : j + gw] for i in range(3) for j in range(3)], axis=0)
    smooth = Image.fromarray(eroded.astype(np.float32)).resize(
        (gw * b, gh * b), Image.Resampling.BILINEAR
    )
    return np.asarray(smooth, dtype=np.float64)[:h, :w]


def _otsu(a: Array) -> float:
    """Otsu's threshold of a uint8 image: the level that best splits it into two classes."""
    hist = np.bincount(a.ravel(), minlength=256).astype(np.float64)
    levels = np.arange(256, dtype=np.float64)
    w0 = np.cumsum(hist)
    w1 = w0[-1] - w0
    s0 = np.cumsum(hist * levels)
    m0 = s0 / np.maximum(w0, 1)
    m1 = (s0[-1] - s0) / np.maximum(w1, 1)
    between = w0 * w1 * (m0 - m1) ** 2
    return float(np.argmax(between))  # pixels above this level are the brighter class


def _stretch(a: Array) -> Array:
    """Scale so the brightest pixel is 255 (uint8)."""
    a = a.astype(np.float64)
    peak = a.max()
    return np.rint(a * (255 / peak)).astype(np.uint8) if peak > 0 else a.astype(np.uint8)


def _ink(inverted: Array) -> Array:
    """Background removed and contrast stretched: 0 where there is no ink (uint8)."""
    radius = max(inverted.shape) / BLUR_DIVISOR
    if radius >= 0.5:  # from 256 px: smooth away sensor and JPEG noise that would pass as ink
        smooth = Image.fromarray(inverted).filter(ImageFilter.GaussianBlur(max(radius, 1.0)))
        inverted = np.asarray(smooth, dtype=np.uint8)
    ink = np.clip(inverted.astype(np.float64) - _background(inverted), 0, None)
    # Ink must stand out from the background's own noise (estimated robustly from the median
    # absolute deviation: most pixels are background), and by a visible margin.
    level = float(np.median(ink))
    noise = 1.4826 * float(np.median(np.abs(ink - level)))
    if ink.max() - level < max(MIN_CONTRAST, NOISE_SIGMAS * noise):
        raise DataError(
            "the image looks empty: no ink was found that stands out from the background. "
            "Upload a picture of one dark digit on a light background (or a light one on dark), "
            "drawn with a thick pen and cropped close to the digit"
        )
    ink = _stretch(ink)
    threshold = max(INK_FRACTION * 255, _otsu(ink))
    return np.where(ink > threshold, ink, 0).astype(np.uint8)


def _crop(ink: Array) -> Array:
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    return ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _fit_box(cropped: Array) -> Array:
    """Resized into BOX x BOX, aspect ratio kept, the longer side exactly BOX."""
    h, w = cropped.shape
    f = BOX / max(h, w)
    size = (max(1, round(w * f)), max(1, round(h * f)))  # PIL sizes are (width, height)
    resized = np.asarray(
        Image.fromarray(cropped).resize(size, Image.Resampling.LANCZOS), dtype=np.uint8
    )
    return _stretch(resized)


def _centre(resized: Array) -> Array:
    """resized pasted into a FIELD x FIELD black field with its centre of mass at TARGET."""
    h, w = resized.shape
    mass = resized.astype(np.float64)
    total = mass.sum()
    cy = (mass.sum(axis=1) @ np.arange(h)) / total  # centre of mass in the box
    cx = (mass.sum(axis=0) @ np.arange(w)) / total
    # Whole-pixel shift (no resampling blur), limited so the box stays inside the field.
    top = int(np.clip(round(TARGET[0] - cy), 0, FIELD - h))
    left = int(np.clip(round(TARGET[1] - cx), 0, FIELD - w))
    field = np.zeros((FIELD, FIELD), dtype=np.uint8)
    field[top : top + h, left : left + w] = resized
    return field


def preprocess_digit(
    data: bytes, *, max_bytes: int = 5_000_000, max_pixels: int = 25_000_000
) -> DigitSteps:
    """Turn an image file (PNG, JPEG, ...) of one digit into an MNIST-like 28x28 uint8 image,
    keeping every intermediate step for display (see the module docstring).

    Raises DataError for an empty, oversized, unreadable or damaged file and for an image in
    which no ink stands out from the background.
    """
    original = _greyscale(_open(data, max_bytes, max_pixels))
    invert = _border_median(original) > 127  # light background: a dark digit on paper
    return _steps(original, 255 - original if invert else original.copy(), invert)


def preprocess_ink(ink: Array) -> DigitSteps:
    """The same steps for a drawing given as ink values (uint8 (h, w), 0 = paper, 255 = ink,
    at most WORK_SIDE a side): what the drawing pad sends. Raises DataError for an empty
    drawing or a wrong shape."""
    a = np.asarray(ink)
    if a.ndim != 2 or a.dtype != np.uint8 or min(a.shape) < 8 or max(a.shape) > WORK_SIDE:
        raise DataError(
            f"a drawing must be a greyscale image of 8 to {WORK_SIDE} pixels a side, got "
            f"shape {a.shape}"
        )
    if not a.any():
        raise DataError("the drawing is empty: draw one digit, large, in the middle of the pad")
    return _steps(255 - a, a.copy(), True)


def _steps(original: Array, inverted: Array, invert: bool) -> DigitSteps:
    """Crop, fit and centre the ink of `inverted` (bright ink on black)."""
    cropped = _crop(_ink(inverted))
    resized = _fit_box(cropped)
    return DigitSteps(
        original=original,
        inverted=inverted,
        cropped=cropped,
        resized=resized,
        centred=_centre(resized),
        inverted_applied=bool(invert),
    )


def to_model_input(
    centred: Array, shift: float | torch.Tensor, scale: float | torch.Tensor
) -> torch.Tensor:
    """The (1, 1, 28, 28) float32 batch a model trained on MNIST expects: (x - shift) / scale,
    pixels 0..255 as in training. Pass the Dataset's `shift`/`scale` (scalar tensors for images)
    or floats."""
    a = np.asarray(centred)
    if a.shape != (FIELD, FIELD):
        raise ValueError(f"expected a ({FIELD}, {FIELD}) image, got shape {a.shape}")
    s = torch.as_tensor(shift, dtype=torch.float32).detach().cpu()
    c = torch.as_tensor(scale, dtype=torch.float32).detach().cpu()
    if s.numel() != 1 or c.numel() != 1:
        raise ValueError(
            "shift and scale must be single numbers (an image dataset's normalization), got "
            f"shapes {tuple(s.shape)} and {tuple(c.shape)}"
        )
    x = torch.from_numpy(a.astype(np.float32)).reshape(1, 1, FIELD, FIELD)
    return (x - s.reshape(())) / c.reshape(())
