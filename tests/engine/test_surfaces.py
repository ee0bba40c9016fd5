"""Analytic surfaces (values at known minima, autograd gradients) and optimizer races."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from engine.config import TrainConfig
from engine.optimizers import OPTIMIZERS
from engine.surfaces import SURFACES, Racer, race, shaded, surface_grid

NAMES = SURFACES.names()
HIMMELBLAU_MINIMA = [
    (3.0, 2.0),
    (-2.805118, 3.131312),
    (-3.779310, -3.283186),
    (3.584428, -1.848126),
]


def value(name: str, x: float, y: float) -> float:
    return SURFACES.get(name).build(torch.tensor([x, y], dtype=torch.float64)).item()


def test_every_named_surface_is_registered() -> None:
    assert set(NAMES) == {
        "quadratic",
        "rosenbrock",
        "himmelblau",
        "beale",
        "saddle",
        "styblinski_tang",
        "goldstein_price",
    }


@pytest.mark.parametrize(
    ("name", "point", "expected", "tol"),
    [
        ("quadratic", (0.0, 0.0), 0.0, 1e-12),
        ("rosenbrock", (1.0, 1.0), 0.0, 1e-12),
        ("beale", (3.0, 0.5), 0.0, 1e-12),
        ("goldstein_price", (0.0, -1.0), 3.0, 1e-9),
        ("styblinski_tang", (-2.903534, -2.903534), -78.33233, 1e-4),
        ("saddle", (0.0, 0.0), 0.0, 1e-12),
        *[("himmelblau", m, 0.0, 1e-9) for m in HIMMELBLAU_MINIMA],
    ],
)
def test_values_at_known_points(name, point, expected, tol) -> None:
    assert value(name, *point) == pytest.approx(expected, abs=tol)


def test_formulas_at_a_generic_point() -> None:
    x, y = 0.7, -1.3  # hand-computed from the textbook formulas
    assert value("quadratic", x, y) == pytest.approx(x**2 / 20 + y**2)
    assert value("rosenbrock", x, y) == pytest.approx((1 - x) ** 2 + 100 * (y - x**2) ** 2)
    assert value("saddle", x, y) == pytest.approx(x**2 - y**2)
    st = sum(0.5 * (t**4 - 16 * t**2 + 5 * t) for t in (x, y))
    assert value("styblinski_tang", x, y) == pytest.approx(st)


@pytest.mark.parametrize("name", NAMES)
def test_metadata_and_listed_minima(name) -> None:
    entry = SURFACES.get(name)
    x0, x1, y0, y1 = entry.extra["extent"]
    assert x0 < x1 and y0 < y1
    sx, sy = entry.extra["start"]
    assert x0 <= sx <= x1 and y0 <= sy <= y1
    assert isinstance(entry.extra["log_color"], bool) and entry.help and entry.label
    minima = entry.extra["minima"]
    assert (minima == []) == (name == "saddle")
    for mx, my in minima:
        p = torch.tensor([mx, my], dtype=torch.float64, requires_grad=True)
        (grad,) = torch.autograd.grad(entry.build(p), p)
        # a minimum: zero gradient (to the 6-7 digits the literature gives) and the lowest
        # value on a fine grid of the map, up to the grid's resolution
        assert grad.abs().max().item() < 1e-3 * max(1.0, abs(entry.build(p).item()))
        _, _, z = surface_grid(name, 201)
        assert entry.build(p).item() <= z.min() + 1e-6 * (1 + abs(z.min()))


@pytest.mark.parametrize("name", NAMES)
def test_autograd_gradients_match_finite_differences(name) -> None:
    x0, x1, y0, y1 = SURFACES.get(name).extra["extent"]
    g = torch.Generator().manual_seed(1)
    u = torch.rand(5, 2, generator=g, dtype=torch.float64)
    pts = torch.stack([x0 + (x1 - x0) * u[:, 0], y0 + (y1 - y0) * u[:, 1]], dim=1)  # (5, 2)
    pts.requires_grad_(True)
    assert torch.autograd.gradcheck(
        SURFACES.get(name).build, (pts,), eps=1e-6, atol=1e-4, rtol=1e-5
    )


def test_surface_grid_orientation_and_shape() -> None:
    xs, ys, z = surface_grid("rosenbrock", 30)
    assert xs.shape == (30,) and ys.shape == (30,) and z.shape == (30, 30)
    x0, x1, y0, y1 = SURFACES.get("rosenbrock").extra["extent"]
    assert (xs[0], xs[-1], ys[0], ys[-1]) == (x0, x1, y0, y1)
    for i, j in [(0, 5), (7, 29), (20, 3)]:  # rows follow y, columns follow x
        assert z[i, j] == pytest.approx(value("rosenbrock", xs[j], ys[i]))


def test_shaded_is_log_scaled_only_where_asked() -> None:
    _, _, z = surface_grid("quadratic", 20)
    assert np.array_equal(shaded("quadratic", z), z)
    _, _, z = surface_grid("goldstein_price", 20)
    s = shaded("goldstein_price", z)
    assert np.all(np.isfinite(s)) and s.max() - s.min() < 10  # six decades -> a few units


def racer(opt: str, lr: float, **kw) -> Racer:
    return Racer(opt, TrainConfig(optimizer=opt, lr=lr, **kw))


def test_race_paths_start_together_and_are_deterministic() -> None:
    racers = [racer("sgd", 0.05), racer("momentum", 0.05), racer("adam", 0.1)]
    a = race("rosenbrock", (-1.2, 1.0), racers, 60)
    b = race("rosenbrock", (-1.2, 1.0), racers, 60)
    assert [p.label for p in a] == ["sgd", "momentum", "adam"]
    for p, q in zip(a, b, strict=True):
        assert np.array_equal(p.xy, q.xy) and np.array_equal(p.loss, q.loss)
        assert tuple(p.xy[0]) == (-1.2, 1.0) and p.loss[0] == pytest.approx(24.2)
        if not p.diverged:
            assert p.xy.shape == (61, 2) and p.loss.shape == (61,)
    assert not np.array_equal(a[0].xy, a[2].xy)  # the update rules differ


def test_each_recorded_loss_is_the_surface_at_that_point() -> None:
    (p,) = race("himmelblau", (0.0, 0.0), [racer("adam", 0.1)], 40)
    for (x, y), loss in zip(p.xy, p.loss, strict=True):
        assert loss == pytest.approx(value("himmelblau", x, y))


def steps_to(path, threshold: float) -> int:
    below = np.nonzero(path.loss < threshold)[0]
    return int(below[0]) if len(below) else math.inf


def test_momentum_and_adam_beat_sgd_on_the_elongated_bowl() -> None:
    lr = 0.1
    sgd, mom, adam = race(
        "quadratic", (-7.0, 2.0), [racer("sgd", lr), racer("momentum", lr), racer("adam", lr)], 400
    )
    assert not (sgd.diverged or mom.diverged or adam.diverged)
    assert steps_to(mom, 1e-3) < steps_to(sgd, 1e-3)
    assert steps_to(adam, 1e-3) < steps_to(sgd, 1e-3)
    assert mom.loss[-1] < sgd.loss[-1] and adam.loss[-1] < sgd.loss[-1]


def test_a_huge_learning_rate_diverges_with_a_message() -> None:
    (p,) = race("quadratic", (-7.0, 2.0), [racer("sgd", 50.0)], 100)
    assert p.diverged and "step" in p.message and "learning rate" in p.message
    assert len(p.xy) < 101 and np.all(np.isfinite(p.xy)) and np.all(np.isfinite(p.loss))
    _, _, y0, y1 = SURFACES.get("quadratic").extra["extent"]
    assert np.all(np.abs(p.xy[:, 1]) <= 10 * (y1 - y0) / 2)  # kept points lie within 10x


def test_non_finite_loss_stops_the_path() -> None:
    # Far out on Rosenbrock's wall (f ~ 1e306, gradient ~ 4e230) one step lands where x^4
    # overflows float64: the loss check fires before the point is tested against the map.
    (p,) = race("rosenbrock", (1e76, 0.0), [racer("sgd", 1e-3)], 10)
    assert p.diverged and p.message.startswith("diverged at step 1: the loss became inf")
    assert p.xy.shape == (1, 2) and np.all(np.isfinite(p.loss))


def test_a_start_where_the_loss_is_not_finite_stops_at_once() -> None:
    (p,) = race("quadratic", (1e200, 0.0), [racer("adam", 0.1)], 10)
    assert p.diverged and "start" in p.message and p.xy.shape == (1, 2)


def test_escaping_the_saddle_is_reported_as_such() -> None:
    (p,) = race("saddle", (-1.8, 0.01), [racer("adam", 0.05)], 2000)
    assert p.diverged and "no minimum" in p.message


@pytest.mark.parametrize("name", OPTIMIZERS.names())
def test_every_registered_optimizer_races_with_its_own_settings(name) -> None:
    suggested = OPTIMIZERS.get(name).extra.get("suggested", {})
    cfg = TrainConfig(optimizer=name, **{"lr": 0.05, **suggested})
    (p,) = race("quadratic", (-7.0, 2.0), [Racer(name, cfg)], 100)
    assert not p.diverged and p.loss[-1] < p.loss[0]


def test_schedules_apply() -> None:
    const, decayed = race(
        "quadratic",
        (-7.0, 2.0),
        [
            racer("sgd", 0.1),
            racer("sgd", 0.1, schedule="exponential", decay_steps=5, decay_rate=0.5),
        ],
        50,
    )
    assert np.array_equal(const.xy[:2], decayed.xy[:2])  # the first step uses the base lr
    assert decayed.loss[-1] > const.loss[-1]  # then the step size halves every 5 steps
