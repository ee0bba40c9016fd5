"""Toy generators: parametrized over the DATASETS registry, plus each set's known structure."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from engine.config import FEATURES as CONFIG_FEATURES
from engine.data import DATASETS, toy
from engine.registry import Entry

# Generators only: `uploaded` has none (its points come from the user).
TOY = [e for e in DATASETS if e.extra["toy"] and not e.extra.get("uploaded")]


def gen(entry: Entry[Any], n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    if entry.extra["points2d"]:
        return entry.build(n, noise, rng)
    return entry.build(n, noise, rng, input_dim=7)


def clean(name: str, n: int = 600, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    return gen(DATASETS.get(name), n, 0.0, seed)


def test_registry_lists_the_toy_sets() -> None:
    names = {e.name for e in TOY}
    assert names == {
        "circle", "xor", "gauss", "spiral", "moons", "checkerboard", "spiral3",
        "reg_plane", "reg_gauss", "normal_noise",
    }  # fmt: skip


@pytest.mark.parametrize("entry", TOY, ids=lambda e: e.name)
@pytest.mark.parametrize("n", [301, 40])
def test_shapes_dtypes_and_labels(entry: Entry[Any], n: int) -> None:
    x, y = gen(entry, n, 0.2, seed=0)
    dim = 2 if entry.extra["points2d"] else 7
    assert x.shape == (n, dim) and x.dtype == np.float64
    assert y.shape == (n,)
    assert np.isfinite(x).all() and np.isfinite(y).all()
    if entry.extra["task"] == "classification":
        assert y.dtype == np.int64
        assert set(np.unique(y)) == set(range(entry.extra["n_classes"]))  # every class present
    else:
        assert entry.extra["n_classes"] == 1
        assert y.dtype == np.float64
        assert np.abs(y).max() <= 1.2 * (1 + 0.2) + 1e-9
    if entry.extra["points2d"]:
        assert np.abs(x).max() <= 8.0  # TF Playground's [-6, 6] range, give or take noise


@pytest.mark.parametrize("entry", TOY, ids=lambda e: e.name)
def test_seeded_determinism(entry: Entry[Any]) -> None:
    a, b, c = (gen(entry, 200, 0.3, seed=s) for s in (5, 5, 6))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("entry", TOY, ids=lambda e: e.name)
def test_noise_changes_the_data(entry: Entry[Any]) -> None:
    (x0, y0), (x1, y1) = gen(entry, 300, 0.0, seed=1), gen(entry, 300, 0.5, seed=1)
    assert not (np.array_equal(x0, x1) and np.array_equal(y0, y1))


@pytest.mark.parametrize("entry", [e for e in TOY if e.extra["points2d"]], ids=lambda e: e.name)
def test_noise_range_up_to_one_stays_finite(entry: Entry[Any]) -> None:
    x, y = gen(entry, 200, 1.0, seed=2)
    assert np.isfinite(x).all() and np.isfinite(y).all()


# Known structure at noise 0 ------------------------------------------------------------------


def test_circle_inner_disc_is_class_1_and_ring_is_class_0() -> None:
    x, y = clean("circle")
    r = np.linalg.norm(x, axis=1)
    np.testing.assert_array_equal(y, (r < 2.5).astype(np.int64))
    assert r[y == 1].max() < 2.5 and r[y == 0].min() >= 3.5 and r.max() <= 5


def test_xor_label_is_the_sign_product_rule() -> None:
    x, y = clean("xor")
    np.testing.assert_array_equal(y, (x[:, 0] * x[:, 1] >= 0).astype(np.int64))
    assert np.abs(x).min() >= 0.3  # TF's padding keeps points off the axes


def test_gauss_blobs_sit_at_plus_and_minus_two() -> None:
    x, y = clean("gauss", n=4000)
    np.testing.assert_allclose(x[y == 1].mean(axis=0), [2, 2], atol=0.1)
    np.testing.assert_allclose(x[y == 0].mean(axis=0), [-2, -2], atol=0.1)
    np.testing.assert_allclose(x[y == 1].var(axis=0), [0.5, 0.5], rtol=0.15)  # TF's variance


@pytest.mark.parametrize(("name", "shifts"), [("spiral", {1: 0.0, 0: math.pi}), ("spiral3", None)])
def test_spiral_points_lie_on_their_arm(name: str, shifts: dict[int, float] | None) -> None:
    x, y = clean(name)
    k = int(y.max()) + 1
    shifts = shifts or {j: 2 * math.pi * j / k for j in range(k)}
    r = np.linalg.norm(x, axis=1)
    t = 1.75 * 2 * np.pi * r / 5 + np.array([shifts[int(c)] for c in y])
    np.testing.assert_allclose(x, np.stack([r * np.sin(t), r * np.cos(t)], axis=1), atol=1e-9)


def test_moons_arcs_are_unit_circles_scaled_by_four() -> None:
    x, y = clean("moons")
    np.testing.assert_allclose(np.linalg.norm(x[y == 0] - [-2, -1], axis=1), 4, atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(x[y == 1] - [2, 1], axis=1), 4, atol=1e-9)
    assert (x[y == 0][:, 1] >= -1 - 1e-9).all() and (x[y == 1][:, 1] <= 1 + 1e-9).all()


def test_checkerboard_label_is_cell_parity() -> None:
    x, y = clean("checkerboard")
    cells = np.floor((x + 6) / 3).astype(int)
    assert cells.min() >= 0 and cells.max() <= 3  # a 4x4 board
    np.testing.assert_array_equal(y, cells.sum(axis=1) % 2)


def test_normal_noise_is_standard_normal_and_linearly_separable() -> None:
    x, y = clean("normal_noise", n=4000)
    np.testing.assert_allclose(x.mean(axis=0), 0, atol=0.06)
    np.testing.assert_allclose(x.std(axis=0), 1, atol=0.06)
    # Least squares on ±1 targets recovers the teacher's direction closely enough.
    w, *_ = np.linalg.lstsq(x, 2.0 * y - 1, rcond=None)
    assert ((x @ w > 0) == y).mean() > 0.95
    assert 0.3 < y.mean() < 0.7


def test_normal_noise_teacher_does_not_depend_on_n() -> None:
    entry = DATASETS.get("normal_noise")
    x, y = entry.build(2000, 0.0, np.random.default_rng(9), input_dim=4)
    xs, ys = entry.build(50, 0.0, np.random.default_rng(9), input_dim=4)
    w, *_ = np.linalg.lstsq(x, 2.0 * y - 1, rcond=None)
    assert ((xs @ w > 0) == ys).mean() > 0.9


def test_reg_plane_target_is_the_plane() -> None:
    x, y = clean("reg_plane")
    np.testing.assert_allclose(y, (x[:, 0] + x[:, 1]) / 10)
    assert np.abs(x).max() <= 6


TF_GAUSSIANS = [
    (-4, 2.5, 1),
    (0, 2.5, -1),
    (4, 2.5, 1),
    (-4, -2.5, -1),
    (0, -2.5, 1),
    (4, -2.5, -1),
]


def _tf_reg_gauss_label(px: float, py: float) -> float:
    """TF Playground's getLabel of regressGaussian, written as its scalar loop."""
    label = 0.0
    for cx, cy, sign in TF_GAUSSIANS:
        d = math.hypot(px - cx, py - cy)
        new = sign * min(max(1 - d / 2, 0.0), 1.0)
        if abs(new) > abs(label):
            label = new
    return label


def test_reg_gauss_matches_tf_playground() -> None:
    x, y = clean("reg_gauss", n=300)
    expected = [_tf_reg_gauss_label(a, b) for a, b in x]
    np.testing.assert_allclose(y, expected)
    assert np.abs(y).max() <= 1 and y.max() > 0.5 and y.min() < -0.5


def test_label_noise_flips_some_labels() -> None:
    rng = np.random.default_rng(0)
    x, y = toy.circle(2000, 0.5, rng)
    r = np.linalg.norm(x, axis=1)
    flipped = (y != (r < 2.5)).mean()
    assert 0.05 < flipped < 0.5


# Features ------------------------------------------------------------------------------------


def test_feature_names_match_the_config() -> None:
    assert tuple(toy.FEATURES) == CONFIG_FEATURES


def test_make_features_values_and_order() -> None:
    xy = np.array([[1.0, 2.0], [-0.5, 3.0]])
    f = toy.make_features(xy, ("x1x2", "x1", "sin_x2", "x2^2", "x1^2", "x2", "sin_x1"))
    a, b = xy[:, 0], xy[:, 1]
    expected = np.stack([a * b, a, np.sin(b), b**2, a**2, b, np.sin(a)], axis=1)
    np.testing.assert_allclose(f, expected)


def test_make_features_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="x3"):
        toy.make_features(np.zeros((3, 2)), ("x3",))
    with pytest.raises(ValueError, match=r"\(m, 2\)"):
        toy.make_features(np.zeros((3, 3)), ("x1",))
