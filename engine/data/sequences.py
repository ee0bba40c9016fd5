"""Sequence tasks for the recurrent networks: seeded generators `(n, steps, rng) -> (X, y)`.

The adding problem (Hochreiter & Schmidhuber 1997, as set by Le et al. 2015): each step shows a
random value in [0, 1) and a marker (0 or 1); exactly two steps are marked, one in the first
half of the sequence and one in the second, and the answer is the sum of the two marked values.
Always answering 1 (the mean) scores a mean squared error of 1/6 (the variance of a sum of two
uniforms), so a network has learnt something only once it is well below 0.167; solving it means
carrying the first marked value across up to `steps` steps, which is what a vanilla RNN's
vanishing gradient stops at long lengths.
"""

from __future__ import annotations

from typing import Any

import numpy as np

Array = np.ndarray[Any, Any]
ADDING_BASELINE = 1 / 6  # MSE of always answering 1: Var(U1 + U2) for two uniforms


def adding(n: int, steps: int, rng: np.random.Generator) -> tuple[Array, Array]:
    """X float64 (n, steps, 2): value and marker per step; y float64 (n,): the marked sum."""
    values = rng.random((n, steps))
    half = max(steps // 2, 1)
    first = rng.integers(0, half, n)
    second = rng.integers(half, steps, n) if steps > 1 else first
    markers = np.zeros((n, steps))
    rows = np.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    y = values[rows, first] + values[rows, second]
    return np.stack([values, markers], axis=2), y
