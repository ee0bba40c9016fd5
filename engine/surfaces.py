"""Analytic 2-D loss surfaces and optimizer races on them.

Each entry of `SURFACES` is a function f(xy) of a (..., 2) tensor of points -> (...) values,
written with torch ops so autograd gives its gradient, plus what a contour map needs:
`extent=(xmin, xmax, ymin, ymax)`, a classic `start=(x0, y0)`, the global `minima`, and
`log_color` (draw log-scaled contours: the surface is steep, so a linear colour scale would
show one flat valley). Formulas and minima follow the test-function tables of Jamil & Yang
2013 ("A literature survey of benchmark functions for global optimization problems") and
Surjanovic & Bingham's Virtual Library of Simulation Experiments (sfu.ca/~ssurjano).

`race` runs several optimizers from `engine.optimizers` (each with its own TrainConfig: lr,
momentum, betas, ...) from one start point, full-batch: the "gradient" is the surface's exact
gradient, so paths differ only by the update rules. Learning-rate schedules apply (the
TrainConfig's `schedule`, over the race's steps), as do `weight_decay` (through the optimizer)
and `grad_clip`; the L1/L2 penalties and `max_norm` are about weight matrices and are ignored.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from engine.config import TrainConfig
from engine.optimizers import build_optimizer
from engine.registry import Registry
from engine.schedules import build_schedule
from engine.seeding import generator

Surface = Callable[[Tensor], Tensor]
SURFACES: Registry[Surface] = Registry("surface", "lab.surface")
ESCAPE = 10.0  # a path stops once it is this many plot extents away from the plot's centre


def _xy(p: Tensor) -> tuple[Tensor, Tensor]:
    return p[..., 0], p[..., 1]


@SURFACES.register(
    "quadratic",
    label="Elongated bowl x²/20 + y²",
    help="A bowl 20 times steeper across than along: plain SGD zig-zags across the valley and "
    "crawls along it; momentum and adaptive steps help (Saito 2016, Deep Learning from "
    "Scratch, ch. 6).",
    extent=(-10.0, 10.0, -5.0, 5.0),
    start=(-7.0, 2.0),
    minima=[(0.0, 0.0)],
    log_color=False,
)
def quadratic(p: Tensor) -> Tensor:
    x, y = _xy(p)
    return x**2 / 20 + y**2


@SURFACES.register(
    "rosenbrock",
    label="Rosenbrock",
    help="(1 - x)² + 100 (y - x²)²: a long curved banana valley, easy to find and slow to "
    "follow to the minimum at (1, 1) (Rosenbrock 1960).",
    extent=(-2.0, 2.0, -1.0, 3.0),
    start=(-1.2, 1.0),
    minima=[(1.0, 1.0)],
    log_color=True,
)
def rosenbrock(p: Tensor) -> Tensor:
    x, y = _xy(p)
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


@SURFACES.register(
    "himmelblau",
    label="Himmelblau",
    help="(x² + y - 11)² + (x + y² - 7)²: four global minima of value 0; where a path ends "
    "depends on the start and the optimizer (Himmelblau 1972).",
    extent=(-5.0, 5.0, -5.0, 5.0),
    start=(0.0, 0.0),
    minima=[
        (3.0, 2.0),
        (-2.805118, 3.131312),
        (-3.779310, -3.283186),
        (3.584428, -1.848126),
    ],
    log_color=True,
)
def himmelblau(p: Tensor) -> Tensor:
    x, y = _xy(p)
    return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2


@SURFACES.register(
    "beale",
    label="Beale",
    help="(1.5 - x + xy)² + (2.25 - x + xy²)² + (2.625 - x + xy³)²: flat plateaus and steep "
    "walls around a narrow valley; minimum 0 at (3, 0.5) (Beale 1958).",
    extent=(-4.5, 4.5, -4.5, 4.5),
    start=(1.0, 1.5),
    minima=[(3.0, 0.5)],
    log_color=True,
)
def beale(p: Tensor) -> Tensor:
    x, y = _xy(p)
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


@SURFACES.register(
    "saddle",
    label="Saddle x² - y²",
    help="A saddle point at the origin: the gradient there is zero, and a start on the ridge "
    "escapes only as fast as the tiny y grows; no minimum (paths leave the map). Adaptive "
    "methods escape first (Dauphin et al. 2014 on saddles in deep nets).",
    extent=(-2.0, 2.0, -2.0, 2.0),
    start=(-1.8, 0.01),
    minima=[],
    log_color=False,
)
def saddle(p: Tensor) -> Tensor:
    x, y = _xy(p)
    return x**2 - y**2


@SURFACES.register(
    "styblinski_tang",
    label="Styblinski-Tang",
    help="½ Σ (t⁴ - 16 t² + 5 t) over t = x, y: four basins, the global minimum "
    "-78.332 at (-2.9035, -2.9035) and three local ones; from (0, 4.5) gradient descent "
    "settles in a local one (Styblinski & Tang 1990).",
    extent=(-5.0, 5.0, -5.0, 5.0),
    start=(0.0, 4.5),
    minima=[(-2.903534, -2.903534)],
    log_color=False,
)
def styblinski_tang(p: Tensor) -> Tensor:
    return 0.5 * (p**4 - 16 * p**2 + 5 * p).sum(dim=-1)


@SURFACES.register(
    "goldstein_price",
    label="Goldstein-Price",
    help="A degree-8 polynomial with values from 3 to about a million on [-2, 2]²: the "
    "global minimum 3 at (0, -1) and several local ones (Goldstein & Price 1971).",
    extent=(-2.0, 2.0, -2.0, 2.0),
    start=(1.0, -0.5),
    minima=[(0.0, -1.0)],
    log_color=True,
)
def goldstein_price(p: Tensor) -> Tensor:
    x, y = _xy(p)
    a = 1 + (x + y + 1) ** 2 * (19 - 14 * x + 3 * x**2 - 14 * y + 6 * x * y + 3 * y**2)
    b = 30 + (2 * x - 3 * y) ** 2 * (18 - 32 * x + 12 * x**2 + 48 * y - 36 * x * y + 27 * y**2)
    return a * b


def surface_grid(name: str, resolution: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The surface on a resolution x resolution grid over its extent, for a contour map:
    xs (res,), ys (res,) and z (res_y, res_x) with z[i, j] = f(xs[j], ys[i])."""
    entry = SURFACES.get(name)
    x0, x1, y0, y1 = entry.extra["extent"]
    xs, ys = np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution)
    gy, gx = np.meshgrid(ys, xs, indexing="ij")  # (res_y, res_x) each
    pts = torch.from_numpy(np.stack([gx, gy], axis=-1))  # (res_y, res_x, 2) float64
    with torch.no_grad():
        z = entry.build(pts).numpy()  # (res_y, res_x)
    return xs, ys, z


def shaded(name: str, z: np.ndarray) -> np.ndarray:
    """Values to colour a contour map by: z itself, or log10(z - min + 1e-3) for a surface
    whose `log_color` is set (its minima stay visible next to walls a million high)."""
    if not SURFACES.get(name).extra["log_color"]:
        return z
    return np.log10(z - np.nanmin(z) + 1e-3)


@dataclass
class Racer:
    """One optimizer in a race: a name for the legend and its settings (optimizer name, lr
    and the optimizer's own parameters, schedule) as a TrainConfig."""

    label: str
    train: TrainConfig


@dataclass
class Path:
    """Where one racer went: the start and each step's point, with the loss there."""

    label: str
    xy: np.ndarray  # (n + 1, 2): the start, then the point after each of n steps
    loss: np.ndarray  # (n + 1,)
    diverged: bool  # stopped early: the loss stopped being finite or the point left the map
    message: str


def race(name: str, start: tuple[float, float], racers: list[Racer], steps: int) -> list[Path]:
    """Run each racer for up to `steps` full-batch steps on surface `name` from `start`.

    Every racer starts from the same point in float64, with its own optimizer built by
    `engine.optimizers.build_optimizer([point], racer.train)` and its schedule over `steps`.
    A path stops early (diverged=True, with a message) when the loss becomes NaN/inf or the
    point gets further from the map's centre than 10 times the map's half-width (or
    half-height); the offending point is not included. Deterministic: same arguments, same
    paths.
    """
    entry = SURFACES.get(name)
    return [_run(entry.build, entry.extra, start, racer, steps) for racer in racers]


def _run(
    f: Surface, extra: Mapping[str, Any], start: tuple[float, float], racer: Racer, steps: int
) -> Path:
    """One racer's path on surface f (see `race`)."""
    x0, x1, y0, y1 = extra["extent"]
    centre = ((x0 + x1) / 2, (y0 + y1) / 2)
    reach = (ESCAPE * (x1 - x0) / 2, ESCAPE * (y1 - y0) / 2)
    point = torch.tensor(start, dtype=torch.float64, requires_grad=True)  # (2,)
    opt = build_optimizer([point], racer.train)
    # the noisy schedule draws noise: a fixed stream keeps races reproducible
    sched = build_schedule(opt, racer.train, steps, generator=generator(0, "noise"))
    loss = f(point)
    xy, losses = [tuple(start)], [loss.item()]

    def path(message: str, diverged: bool = True) -> Path:
        return Path(
            racer.label, np.array(xy, dtype=np.float64), np.array(losses), diverged, message
        )

    if not math.isfinite(losses[0]):
        return path(f"the loss at the start point is {losses[0]}: start closer to the minimum")
    for step in range(1, steps + 1):
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if racer.train.grad_clip:
            torch.nn.utils.clip_grad_norm_([point], racer.train.grad_clip)
        lr = opt.param_groups[0]["lr"]
        opt.step()
        sched.step()
        loss = f(point)
        value = loss.item()
        px, py = point.tolist()
        if not (math.isfinite(value) and math.isfinite(px) and math.isfinite(py)):
            return path(
                f"diverged at step {step}: the loss became {value}; lower the learning rate "
                f"(it was {lr:g})"
            )
        if abs(px - centre[0]) > reach[0] or abs(py - centre[1]) > reach[1]:
            why = (
                "this surface has no minimum, so escaping is the point"
                if not extra["minima"]
                else f"lower the learning rate (it was {lr:g})"
            )
            return path(
                f"left the map at step {step}: ({px:.3g}, {py:.3g}) is over {ESCAPE:g} times "
                f"the map's extent away; {why}"
            )
        xy.append((px, py))
        losses.append(value)
    return path(f"{steps} steps", diverged=False)
