"""Probe summaries against numpy: histograms, saturation and dead units."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from engine.config import Config
from engine.models import Network, build_model
from engine.probes import MAX_SUMMARY_VALUES, Probes, histograms, nice_limit


def test_batched_histograms_match_numpy_per_tensor() -> None:
    g = torch.Generator().manual_seed(0)
    xs = [torch.randn(500, generator=g) * s + m for s, m in ((1, 0), (3, 2), (0.1, -5))]
    ranges = [(-2.0, 2.0), (-10.0, 10.0), (-6.0, -4.0)]
    out = histograms(xs, ranges, bins=20)
    for x, (lo, hi), h in zip(xs, ranges, out, strict=True):
        a = x.numpy()
        expected, edges = np.histogram(np.clip(a, lo, hi), bins=20, range=(lo, hi))
        assert h["counts"] == expected.tolist()  # segments do not leak into each other
        assert np.allclose(h["edges"], edges)
        assert h["mean"] == pytest.approx(a.mean(), abs=1e-5)
        assert h["std"] == pytest.approx(a.std(), rel=1e-4)
        assert h["outside"] == pytest.approx(np.mean((a < lo) | (a > hi)))


def test_values_outside_the_range_land_in_the_end_bins() -> None:
    x = torch.tensor([-100.0, -1.0, 0.0, 0.99, 5.0, math.inf, -math.inf])
    (h,) = histograms([x], [(-1.0, 1.0)], bins=4)
    assert h["counts"] == [3, 0, 1, 3]  # -100, -1, -inf | 0 | 0.99, 5, inf
    assert h["outside"] == pytest.approx(4 / 7)


def test_nan_is_left_out_of_the_counts() -> None:
    x = torch.tensor([0.5, float("nan"), -0.5])
    (h,) = histograms([x], [(-1.0, 1.0)], bins=2)
    assert h["counts"] == [1, 1]
    assert math.isnan(h["mean"])  # a NaN activation shows as a NaN mean, not as a bar


def test_large_tensors_are_summarized_from_an_even_sample() -> None:
    x = torch.linspace(-1, 1, 100_000)
    (h,) = histograms([x], [(-1.0, 1.0)], bins=10)
    assert MAX_SUMMARY_VALUES // 2 < sum(h["counts"]) <= MAX_SUMMARY_VALUES
    assert max(h["counts"]) - min(h["counts"]) <= 2  # still uniform
    assert h["std"] == pytest.approx(2 / math.sqrt(12), rel=0.01)


def test_nice_limit() -> None:
    assert [nice_limit(v) for v in (0.3, 1.0, 1.5, 4.0, 7.0, 12.0)] == [0.5, 1, 2, 5, 10, 20]
    assert nice_limit(float("nan")) == 1.0


def _net(activation: str, **model: object) -> Network:
    cfg = Config().replace(
        **{"model.activation": activation, "model.hidden": [16, 16], "model.init": "normal"},
        **{f"model.{k}": v for k, v in model.items()},
    )
    return build_model(cfg.model, (2,), 2, seed=0)


def test_saturation_counts_units_near_the_bounds() -> None:
    net = _net("tanh", init_std=20.0)  # huge weights: tanh pinned at +-1
    probes = Probes(net, "tanh")
    with probes.capture():
        net(torch.randn(64, 2) * 3)
    rows = probes.summary()
    assert rows[1]["saturated"] > 0.8
    assert rows[1]["dead"] is None
    assert rows[1]["post"]["edges"][0] == -1.0 and rows[1]["post"]["edges"][-1] == 1.0


def test_dead_units_are_those_negative_for_every_example() -> None:
    net = _net("relu", init_std=0.5)
    with torch.no_grad():
        net.blocks[0].layer.bias[:4] = -100.0  # 4 of 16 units can never fire
    probes = Probes(net, "relu")
    with probes.capture():
        net(torch.randn(256, 2))
    assert probes.summary()[0]["dead"] == pytest.approx(4 / 16)
