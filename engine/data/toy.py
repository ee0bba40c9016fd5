"""Toy datasets: pure seeded generators `(n, noise, rng) -> (X, y)`, and input features.

The 2-D sets follow TensorFlow Playground's `src/dataset.ts` where it has them (circle, xor,
gauss, spiral, reg_plane, reg_gauss): same shapes, the same [-6, 6]-ish range, and the same way
of applying noise, so a lesson written for playground.tensorflow.org carries over. Differences:
`noise` is a fraction (TF's 0-50 % slider is 0-0.5 here, and values up to 1 extrapolate the same
formulas), classes are 0..K-1 (TF's -1/+1 become 0/1), and points come in class blocks (the
caller shuffles). Every generator returns X float64 (n, 2) (`normal_noise`: (n, input_dim)) and
y int64 class labels (n,) or, for regression, float64 targets (n,).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Array = np.ndarray[Any, Any]
Generator = Callable[..., tuple[Array, Array]]


def _split(n: int, k: int) -> list[int]:
    """Sizes of k classes that sum to n, as equal as possible (the first ones get the extra)."""
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


def _labels(sizes: list[int], classes: list[int]) -> Array:
    return np.repeat(np.asarray(classes, dtype=np.int64), sizes)  # (n,)


# ---------------------------------------------------------------------------------------------
# Classification (TF Playground)


def circle(n: int, noise: float, rng: np.random.Generator) -> tuple[Array, Array]:
    """A disc of class 1 (radius < 2.5) inside a ring of class 0 (radius 3.5 to 5).

    As in TF, noise does not move the points: each point's label is decided at a position
    jittered by up to ±5·noise, so noise flips labels near the boundary.
    """
    radius = 5.0
    n_in, n_out = _split(n, 2)
    r = np.concatenate(
        [rng.uniform(0, radius * 0.5, n_in), rng.uniform(radius * 0.7, radius, n_out)]
    )
    angle = rng.uniform(0, 2 * np.pi, n)
    x = np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)  # (n, 2)
    jitter = rng.uniform(-radius, radius, (n, 2)) * noise  # (n, 2)
    y = (np.linalg.norm(x + jitter, axis=1) < radius * 0.5).astype(np.int64)
    return x, y


def xor(n: int, noise: float, rng: np.random.Generator) -> tuple[Array, Array]:
    """Four quadrants: class 1 where x1·x2 >= 0. A 0.3 gap keeps points off the axes (as TF)."""
    x = rng.uniform(-5, 5, (n, 2))  # (n, 2)
    x += np.where(x > 0, 0.3, -0.3)
    jitter = rng.uniform(-5, 5, (n, 2)) * noise
    shifted = x + jitter
    y = (shifted[:, 0] * shifted[:, 1] >= 0).astype(np.int64)
    return x, y


def gauss(n: int, noise: float, rng: np.random.Generator) -> tuple[Array, Array]:
    """Two Gaussian blobs: class 1 around (2, 2), class 0 around (-2, -2).

    TF maps noise 0..0.5 linearly to a variance of 0.5..4; the same line continues up to 7.5
    at noise 1, where the blobs overlap heavily.
    """
    variance = 0.5 + 7.0 * noise
    n1, n0 = _split(n, 2)
    centers = np.repeat(np.array([[2.0, 2.0], [-2.0, -2.0]]), [n1, n0], axis=0)  # (n, 2)
    x = centers + rng.standard_normal((n, 2)) * np.sqrt(variance)
    return x, _labels([n1, n0], [1, 0])


def _spiral_arms(
    n: int, noise: float, rng: np.random.Generator, labels: list[int]
) -> tuple[Array, Array]:
    """Interleaved spiral arms (TF's formula): arm j of k is rotated by 2πj/k, class labels[j].

    Point i of m on an arm sits at radius r = 5i/m and angle 1.75·2π·i/m + shift, jittered by
    up to ±noise in each coordinate (TF's absolute jitter).
    """
    k = len(labels)
    sizes = _split(n, k)
    xs = []
    for j, m in enumerate(sizes):
        frac = np.arange(m) / m  # (m,)
        r = frac * 5
        t = 1.75 * frac * 2 * np.pi + 2 * np.pi * j / k
        xs.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1))  # (m, 2)
    x = np.concatenate(xs) + rng.uniform(-1, 1, (n, 2)) * noise
    return x, _labels(sizes, labels)


def spiral(n: int, noise: float, rng: np.random.Generator) -> tuple[Array, Array]:
    """Two spiral arms wound around each other; the arm starting at angle 0 is class 1 (as TF)."""
    return _spiral_arms(n, noise, rng, [1, 0])


def spiral3(n: int, noise: float, rng: np.random.Generator) -> tuple[Array, Array]:
    """Three spiral arms, one per class (the classic CS231n three-class spiral)."""
    return _spiral_arms(n, noise, rng, [0, 1, 2])


# ---------------------------------------------------------------------------------------------
# Classification (not in TF Playground)


def moons(n: int, noise: float, rng: np.random.Generator) -> tuple[Array, Array]:
    """Two interleaving half circles (as scikit-learn's make_moons), scaled to x in [-6, 6].

    Class 0 is the upper arc of the unit circle, class 1 the lower arc shifted by (1, 0.5); both
    are then centred and scaled by 4. Noise is Gaussian jitter of std 2·noise (0.5·noise in
    make_moons units) in each coordinate.
    """
    n0, n1 = _split(n, 2)
    t = rng.uniform(0, np.pi, n)  # (n,)
    upper = np.stack([np.cos(t[:n0]), np.sin(t[:n0])], axis=1)  # (n0, 2)
    lower = np.stack([1 - np.cos(t[n0:]), 0.5 - np.sin(t[n0:])], axis=1)  # (n1, 2)
    x = (np.concatenate([upper, lower]) - [0.5, 0.25]) * 4
    x += rng.standard_normal((n, 2)) * 2 * noise
    return x, _labels([n0, n1], [0, 1])


def checkerboard(n: int, noise: float, rng: np.random.Generator) -> tuple[Array, Array]:
    """A 4x4 checkerboard of 3x3 cells over [-6, 6]²; cell parity is the class.

    Noise works like TF's xor: a point's label is decided at a position jittered by up to
    ±cell·noise, so labels flip near the cell edges.
    """
    cell = 3.0
    x = rng.uniform(-6, 6, (n, 2))  # (n, 2)
    shifted = x + rng.uniform(-cell, cell, (n, 2)) * noise
    idx = np.floor((shifted + 6) / cell).astype(np.int64)  # (n, 2) cell indices (beyond 0..3 ok)
    return x, (idx.sum(axis=1) % 2).astype(np.int64)


def normal_noise(
    n: int, noise: float, rng: np.random.Generator, *, input_dim: int = 100
) -> tuple[Array, Array]:
    """Standard-normal inputs (n, input_dim) labelled by a random linear teacher.

    y = 1 where x·w + noise·ε > 0, with w a random unit vector and ε standard normal, so the set
    is learnable (linearly separable at noise 0) and its inputs have exactly zero mean and unit
    variance, the setting in which initialization schemes are derived (Glorot & Bengio 2010,
    He et al. 2015). The teacher is drawn first, so it does not depend on n.
    """
    w = rng.standard_normal(input_dim)  # (input_dim,)
    w /= np.linalg.norm(w)  # x·w is then standard normal, so noise is on the data's scale
    x = rng.standard_normal((n, input_dim))  # (n, input_dim)
    logit = x @ w + noise * rng.standard_normal(n)  # (n,)
    return x, (logit > 0).astype(np.int64)


# ---------------------------------------------------------------------------------------------
# Regression (TF Playground); targets roughly in [-1, 1]


def reg_plane(n: int, noise: float, rng: np.random.Generator) -> tuple[Array, Array]:
    """Target (x1 + x2) / 10 on [-6, 6]², read at a position jittered by up to ±6·noise."""
    x = rng.uniform(-6, 6, (n, 2))  # (n, 2)
    shifted = x + rng.uniform(-6, 6, (n, 2)) * noise
    return x, shifted.sum(axis=1) / 10


_REG_GAUSSIANS = np.array(  # centre x, centre y, sign (TF's regressGaussian)
    [[-4, 2.5, 1], [0, 2.5, -1], [4, 2.5, 1], [-4, -2.5, -1], [0, -2.5, 1], [4, -2.5, -1]],
    dtype=np.float64,
)


def reg_gauss(n: int, noise: float, rng: np.random.Generator) -> tuple[Array, Array]:
    """Six bumps of alternating sign; the target is the bump of largest magnitude, each falling
    linearly from ±1 at its centre to 0 at distance 2. Read at a jittered position as reg_plane.
    """
    x = rng.uniform(-6, 6, (n, 2))  # (n, 2)
    shifted = x + rng.uniform(-6, 6, (n, 2)) * noise
    dist = np.linalg.norm(shifted[:, None, :] - _REG_GAUSSIANS[None, :, :2], axis=2)  # (n, 6)
    values = _REG_GAUSSIANS[:, 2] * np.clip(1 - dist / 2, 0, 1)  # (n, 6)
    best = np.abs(values).argmax(axis=1)  # first maximum wins, as in TF's loop
    return x, values[np.arange(n), best]


# ---------------------------------------------------------------------------------------------
# Input features computed from (x1, x2), TF Playground's feature toggles


def _x1(x1: Array, x2: Array) -> Array:
    return x1


def _x2(x1: Array, x2: Array) -> Array:
    return x2


FEATURES: dict[str, Callable[[Array, Array], Array]] = {
    "x1": _x1,
    "x2": _x2,
    "x1^2": lambda x1, x2: x1 * x1,
    "x2^2": lambda x1, x2: x2 * x2,
    "x1x2": lambda x1, x2: x1 * x2,
    "sin_x1": lambda x1, x2: np.sin(x1),
    "sin_x2": lambda x1, x2: np.sin(x2),
}
"""Feature name -> fn(x1, x2); the names and order of `engine.config.FEATURES`."""


def make_features(xy: Array, names: tuple[str, ...] | list[str]) -> Array:
    """Map raw points (m, 2) to the named features (m, len(names)), float64, in that order."""
    xy = np.asarray(xy, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"expected points of shape (m, 2), got {xy.shape}")
    unknown = [f for f in names if f not in FEATURES]
    if unknown:
        raise ValueError(f"unknown features {unknown}; choose from: {', '.join(FEATURES)}")
    x1, x2 = xy[:, 0], xy[:, 1]
    return np.stack([FEATURES[f](x1, x2) for f in names], axis=1)  # (m, F)
