"""Pictures drawn as images (fast to send and redraw): decision boundaries, unit maps, digits.

Colours follow TensorFlow Playground: orange for class 0 / negative values, blue for class 1 /
positive values, white for "undecided", so a student moving between the two tools reads the
same picture. A third class (three spirals) is green.
"""

from __future__ import annotations

import io
import re
import subprocess
from functools import cache
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from engine.inspection import PlaneOutputs
from ui import i18n

Array = np.ndarray[Any, Any]

ORANGE = np.array([245, 147, 34], dtype=np.float32)
BLUE = np.array([8, 119, 189], dtype=np.float32)
GREEN = np.array([44, 160, 44], dtype=np.float32)
PURPLE = np.array([148, 103, 189], dtype=np.float32)
WHITE = np.array([255, 255, 255], dtype=np.float32)
CLASS_COLORS = [ORANGE, BLUE, GREEN, PURPLE]
RIGHT = (46, 160, 67)  # border of a correctly classified digit
WRONG = (215, 38, 61)


def class_color(k: int) -> Array:
    """RGB of class k (cycles after four classes)."""
    return CLASS_COLORS[k % len(CLASS_COLORS)]


def diverging(values: Array, limit: float) -> Array:
    """Values in [-limit, limit] -> RGB (..., 3) uint8: orange < 0 < blue, white at 0."""
    # NaN (a diverged network) draws white rather than garbage colours
    t = np.clip(np.nan_to_num(values / max(limit, 1e-12)), -1.0, 1.0)[..., None]
    rgb = np.where(t < 0, WHITE + (ORANGE - WHITE) * -t, WHITE + (BLUE - WHITE) * t)
    return rgb.astype(np.uint8)


def _fill_for(plane: PlaneOutputs, discretize: bool, value_limit: float) -> Array:
    """Background colours (res, res, 3) of the network's output over the plane."""
    out = plane.output
    if plane.task == "regression":
        values = out[..., 0]
        if discretize:
            values = np.sign(values) * value_limit
        return diverging(values, value_limit)
    k = out.shape[-1]
    if k == 2:  # p(class 1) - p(class 0) in [-1, 1]: TF Playground's single output
        values = out[..., 1] - out[..., 0]
        return diverging(np.sign(values) if discretize else values, 1.0)
    winner = out.argmax(axis=-1)  # (res, res)
    colors = np.stack([class_color(i) for i in range(k)])  # (k, 3)
    # confidence 0 at a uniform guess, 1 at certainty; blend the winner's colour with white
    conf = (out.max(axis=-1) - 1.0 / k) / (1.0 - 1.0 / k)
    conf = np.ones_like(conf) if discretize else conf
    rgb = WHITE + (colors[winner] - WHITE) * conf[..., None]
    return rgb.astype(np.uint8)


def boundary_image(
    plane: PlaneOutputs,
    train: tuple[Array, Array],
    test: tuple[Array, Array] | None,
    *,
    discretize: bool = False,
    size: int = 360,
    value_limit: float = 1.0,
) -> Image.Image:
    """The output heatmap with training points (white ring) and test points (black ring).

    `train`/`test` are raw 2-D points and their labels (class ids, or regression targets).
    Backgrounds are lightened so the points stand out, as in TF Playground.
    """
    fill = _fill_for(plane, discretize, value_limit).astype(np.float32)
    fill = (fill * 0.75 + WHITE * 0.25).astype(np.uint8)
    img = Image.fromarray(fill, "RGB").resize((size, size), Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(img)
    layers = [(train, (255, 255, 255))] + ([(test, (0, 0, 0))] if test is not None else [])
    for (xy, y), ring in layers:
        if xy is None or not len(xy):
            continue
        px = (xy[:, 0] + plane.extent) / (2 * plane.extent) * (size - 1)
        py = (plane.extent - xy[:, 1]) / (2 * plane.extent) * (size - 1)
        for x0, y0, label in zip(px, py, y, strict=True):
            if plane.task == "regression":
                color = tuple(int(c) for c in diverging(np.array(label), value_limit))
            else:
                color = tuple(int(c) for c in class_color(int(label)))
            draw.ellipse((x0 - 3.5, y0 - 3.5, x0 + 3.5, y0 + 3.5), fill=color, outline=ring)
    return img


def unit_maps(
    units: Array, bounds: tuple[float, float] | None, size: int = 56
) -> list[Image.Image]:
    """One small heatmap per hidden unit: what that neuron computes over the input plane.

    Bounded activations (tanh, sigmoid) use their fixed range, so a saturated unit looks
    saturated; unbounded ones are scaled by the layer's largest magnitude.
    """
    if bounds is not None:
        lo, hi = bounds
        centre, limit = (lo + hi) / 2, (hi - lo) / 2
    else:
        centre, limit = 0.0, float(np.abs(units).max()) or 1.0
    out = []
    for j in range(units.shape[-1]):
        rgb = diverging(units[..., j] - centre, limit)
        out.append(Image.fromarray(rgb, "RGB").resize((size, size), Image.Resampling.BILINEAR))
    return out


def digit_grid(
    images: Array, correct: Array | None = None, cols: int = 10, scale: int = 2
) -> Image.Image:
    """Digits (N, 28, 28) uint8 in a grid, each framed green (right) or red (wrong)."""
    n = len(images)
    rows = max(1, -(-n // cols))
    cell, pad = 28 * scale, 3
    grid = Image.new("RGB", (cols * (cell + 2 * pad), rows * (cell + 2 * pad)), "white")
    for i in range(n):
        r, c = divmod(i, cols)
        x0, y0 = c * (cell + 2 * pad), r * (cell + 2 * pad)
        if correct is not None:
            frame = RIGHT if correct[i] else WRONG
            grid.paste(frame, (x0, y0, x0 + cell + 2 * pad, y0 + cell + 2 * pad))
        digit = Image.fromarray(255 - images[i], "L").resize((cell, cell), Image.Resampling.NEAREST)
        grid.paste(digit.convert("RGB"), (x0 + pad, y0 + pad))
    return grid


def enlarge(image: Array, scale: int = 4) -> Image.Image:
    """A small grayscale uint8 array scaled up with visible pixels (preprocessing steps)."""
    img = Image.fromarray(np.ascontiguousarray(image), "L")
    return img.resize((img.width * scale, img.height * scale), Image.Resampling.NEAREST)


def network_diagram(
    columns: list[list[Image.Image]],
    titles: list[str],
    weights: list[Array | None],
    hidden_more: list[int],
    thumb: int = 56,
    lang: str = i18n.DEFAULT,
) -> Image.Image:
    """TensorFlow Playground's network picture: one column of neuron heatmaps per layer, and
    a line for every weight between neighbouring columns, blue for positive and orange for
    negative, thicker for larger magnitude.

    `columns[i]` are the heatmaps of layer i (inputs first); `weights[i]` (units of column
    i+1, units of column i) or None (no lines, e.g. when shapes differ); `hidden_more[i]` how
    many units of column i are not drawn; the "+N more" notes are worded in `lang`.
    """
    gap_x, gap_y, top, pad = 70, 10, 34, 12
    tallest = max(len(c) for c in columns)
    width = pad * 2 + len(columns) * thumb + (len(columns) - 1) * gap_x
    height = top + tallest * (thumb + gap_y) + 24
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img, "RGBA")

    def origin(col: int, row: int) -> tuple[int, int]:
        n = len(columns[col])
        y0 = top + (tallest - n) * (thumb + gap_y) // 2 + row * (thumb + gap_y)
        return pad + col * (thumb + gap_x), y0

    for i, w in enumerate(weights):  # links first, so the neurons are drawn on top
        if w is None:
            continue
        w = np.nan_to_num(w)  # a diverged network has NaN weights: draw no lines for them
        scale = float(np.abs(w).max()) or 1.0
        for j in range(min(w.shape[0], len(columns[i + 1]))):
            for k in range(min(w.shape[1], len(columns[i]))):
                value = float(w[j, k])
                x0, y0 = origin(i, k)
                x1, y1 = origin(i + 1, j)
                color = (*(int(c) for c in (BLUE if value > 0 else ORANGE)), 170)
                line_w = max(1, round(4 * abs(value) / scale))
                draw.line(
                    (x0 + thumb, y0 + thumb // 2, x1, y1 + thumb // 2), fill=color, width=line_w
                )
    for i, col in enumerate(columns):
        for r, tile in enumerate(col):
            x0, y0 = origin(i, r)
            img.paste(tile.resize((thumb, thumb)), (x0, y0))
            draw.rectangle((x0, y0, x0 + thumb - 1, y0 + thumb - 1), outline=(200, 200, 200))
        x0, _ = origin(i, 0)
        title = titles[i]
        draw.text((x0 + thumb / 2, 8), title, fill=(60, 60, 60), font=_font(13, title), anchor="mt")
        if hidden_more[i]:
            _, y_last = origin(i, len(col) - 1)
            note = i18n.text_in(lang, "+{n} more").format(n=hidden_more[i])
            draw.text(
                (x0 + thumb / 2, y_last + thumb + 4), note, fill=(120, 120, 120),
                font=_font(13, note), anchor="mt",
            )  # fmt: skip
    return img


def to_jpeg(img: Image.Image, quality: int = 92) -> bytes:
    """JPEG bytes of a picture: encoding takes under 1 ms where PNG takes 8-10 ms, which adds
    up at three redraws a second, and these pictures are smooth colour fields (at quality 92
    the lines and points stay crisp)."""
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


HAN = re.compile(r"[\u2e80-\u9fff\uff00-\uffef]")  # CJK characters and full-width punctuation


@cache
def cjk_font_file() -> tuple[str, int] | None:
    """(file, face index) of an installed font for Simplified Chinese, asked of fontconfig
    (fonts-noto-cjk in the image): a sans-serif SC regular face if there is one; None when
    fontconfig or a Chinese font is missing."""
    try:
        listed = subprocess.run(
            ["fc-list", "-f", "%{file}|%{index}|%{family}|%{style}\n", ":lang=zh"],
            capture_output=True, text=True, timeout=10, check=False,
        ).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    found = []
    for line in listed.splitlines():
        path, index, family, style = [*line.split("|"), "", "", ""][:4]
        if not path or not index.isdigit():
            continue
        # best first: Simplified Chinese, proportional, sans-serif, regular weight
        rank = ("SC" not in family, "Mono" in family, "Sans" not in family, "Regular" not in style)
        found.append((rank, path, int(index)))
    return min(found)[1:] if found else None


def _font(size: int, text: str = "") -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A font at `size` that can draw `text`: a Chinese font where it has Chinese (Pillow's own
    font has no Chinese glyphs: each would be an empty box), else Pillow's bundled font
    (needs Pillow >= 10.1 with FreeType; else bitmap). Loaded per call: a font object is not
    safe to share between the threads that draw."""
    found = cjk_font_file() if HAN.search(text) else None
    if found is not None:
        try:
            return ImageFont.truetype(found[0], size, index=found[1])
        except OSError:  # unreadable or not a font after all: draw what the default can
            pass
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # pragma: no cover - Pillow without FreeType
        return ImageFont.load_default()


# A perceptually ordered ramp (the anchors of matplotlib's viridis), low values dark.
_RAMP = np.array(
    [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]], dtype=np.float32
)
# Bright colours that show on the dark-to-yellow map and on the white page alike.
PATH_COLORS = [(230, 25, 75), (255, 150, 0), (0, 190, 255), (255, 105, 180), (120, 220, 40),
               (255, 215, 0), (190, 130, 255), (0, 160, 140)]  # fmt: skip


def ramp(t: Array) -> Array:
    """Values in [0, 1] -> RGB floats (..., 3) along the viridis anchors."""
    t = np.clip(np.nan_to_num(t, nan=1.0), 0.0, 1.0) * (len(_RAMP) - 1)
    i = np.minimum(t.astype(int), len(_RAMP) - 2)
    f = (t - i)[..., None]
    return _RAMP[i] * (1 - f) + _RAMP[i + 1] * f


def contour_image(z: Array, size: tuple[int, int], levels: int = 20) -> Image.Image:
    """A filled contour map of z (rows: y from bottom to top): colour bands of equal height
    with a darker line where the band changes, drawn as an image of `size` (width, height).

    Rows are flipped so that larger y is up; z is upsampled smoothly before banding so the
    lines are smooth even for a coarse grid (a 31x31 landscape)."""
    w, h = size
    z = np.asarray(z, dtype=np.float64)
    finite = np.isfinite(z)
    lo, hi = (np.nanmin(z[finite]), np.nanmax(z[finite])) if finite.any() else (0.0, 1.0)
    norm = (np.where(finite, z, hi) - lo) / ((hi - lo) or 1.0)  # (ny, nx) in [0, 1]
    big = Image.fromarray((norm[::-1] * 65535).astype(np.uint16).astype(np.int32), "I")
    smooth = np.asarray(big.resize((w, h), Image.Resampling.BILINEAR), dtype=np.float64) / 65535
    band = np.floor(smooth * levels).clip(0, levels - 1)  # (h, w)
    rgb = ramp((band + 0.5) / levels)
    edge = np.zeros_like(band, dtype=bool)
    edge[:, 1:] |= band[:, 1:] != band[:, :-1]
    edge[1:, :] |= band[1:, :] != band[:-1, :]
    rgb[edge] *= 0.6
    return Image.fromarray(rgb.astype(np.uint8), "RGB")


def draw_paths(
    img: Image.Image,
    paths: list[Array],
    extent: tuple[float, float, float, float],
    marks: list[tuple[float, float]] = (),
) -> Image.Image:
    """Polylines of points (n, 2) in data coordinates over a map covering `extent`
    (xmin, xmax, ymin, ymax), each in its own PATH_COLORS colour with a dot at its end; `marks`
    (e.g. the minima) are drawn as small white crosses."""
    x0, x1, y0, y1 = extent
    w, h = img.size

    def px(p: Array) -> list[tuple[float, float]]:
        xs = (p[:, 0] - x0) / (x1 - x0) * (w - 1)
        ys = (y1 - p[:, 1]) / (y1 - y0) * (h - 1)
        return list(zip(xs.tolist(), ys.tolist(), strict=True))

    out = img.copy()
    draw = ImageDraw.Draw(out)
    for mx, my in marks:
        ((cx, cy),) = px(np.array([[mx, my]]))
        draw.line((cx - 5, cy - 5, cx + 5, cy + 5), fill="white", width=2)
        draw.line((cx - 5, cy + 5, cx + 5, cy - 5), fill="white", width=2)
    for k, p in enumerate(paths):
        if not len(p):
            continue
        pts = px(p)
        color = PATH_COLORS[k % len(PATH_COLORS)]
        if len(pts) > 1:
            draw.line(pts, fill=color, width=2, joint="curve")
        ex, ey = pts[-1]
        draw.ellipse((ex - 4, ey - 4, ex + 4, ey + 4), fill=color, outline="black")
    if paths and len(paths[0]):
        sx, sy = px(paths[0][:1])[0]
        draw.rectangle((sx - 4, sy - 4, sx + 4, sy + 4), outline="white", width=2)
    return out
