"""Probe summaries against numpy: histograms, saturation and dead units."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from engine.config import Config
from engine.models import Network, build_model
from engine.probes import MAX_SUMMARY_VALUES, Probes, histograms, nice_limit
from tests.engine.tiny import measured


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


# Probes.snapshot: a look between training steps that leaves no trace -------------------------


def _bn_dropout_config() -> Config:
    return Config().replace(
        **{
            "device": "cpu",
            "data.n_samples": 200,
            "model.hidden": [8, 8],
            "model.activation": "relu",
            "model.norm": "batch",
            "model.dropout": "dropout",
            "model.dropout_rate": 0.3,
            "train.batch_size": 20,
            "train.epochs": 3,
        }
    )


def test_snapshot_between_steps_does_not_change_the_run() -> None:
    from engine.trainer import Trainer

    cfg = _bn_dropout_config()
    watched, unwatched = Trainer(cfg), Trainer(cfg)
    probes = Probes(watched.model, cfg.model.activation)
    x, y = watched.train_split.x[:50], watched.train_split.y[:50]
    while not watched.done:
        watched.step(1)
        unwatched.step(1)
        buffers = {k: v.clone() for k, v in watched.model.named_buffers()}
        assert any("running_mean" in k for k in buffers)
        rows = probes.snapshot(x, y, watched.loss_fn)
        assert len(rows) == 3 and rows[0]["grad_norm"] > 0  # it did look
        for k, v in watched.model.named_buffers():
            assert torch.equal(v, buffers[k]), k  # BatchNorm running stats and batch count
        assert all(p.grad is None for p in watched.model.parameters())
    assert watched.history.loss == unwatched.history.loss
    assert measured(watched.history.evals) == measured(unwatched.history.evals)
    for a, b in zip(watched.model.parameters(), unwatched.model.parameters(), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("training", [True, False])
def test_snapshot_restores_the_mode_and_repeats_exactly(training: bool) -> None:
    cfg = _bn_dropout_config()
    net = build_model(cfg.model, (2,), 2, seed=0)
    net.train(training)
    x, y = torch.randn(40, 2, generator=torch.Generator().manual_seed(1)), torch.arange(40) % 2
    loss_fn = torch.nn.CrossEntropyLoss()
    first = Probes(net, "relu").snapshot(x, y, loss_fn)
    assert net.training is training
    again = Probes(net, "relu").snapshot(x, y, loss_fn)
    assert again == first  # the same dropout masks: the generator was rewound


def test_snapshot_runs_in_train_mode() -> None:
    cfg = _bn_dropout_config().replace(**{"model.norm": "none", "model.dropout_rate": 0.5})
    net = build_model(cfg.model, (2,), 2, seed=0)
    net.eval()
    x, y = torch.randn(64, 2, generator=torch.Generator().manual_seed(1)), torch.arange(64) % 2
    rows = Probes(net, "relu").snapshot(x, y, torch.nn.CrossEntropyLoss())
    with torch.no_grad():
        h = net.blocks[0].act(net.blocks[0].layer(x))  # post-activations, no dropout
    # dropout after the first block zeroes about half of the second layer's inputs, so the
    # second layer's pre-activations differ from an eval-mode pass
    with torch.no_grad():
        eval_pre = net.blocks[1].layer(h)
    assert rows[1]["pre"]["mean"] != pytest.approx(float(eval_pre.mean()), rel=1e-4)


def test_snapshot_histogram_ranges_are_fixed_at_the_first_look() -> None:
    net = _net("tanh", init_std=0.3)
    probes = Probes(net, "tanh")
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 2, generator=g), torch.randint(0, 2, (64,), generator=g)
    loss_fn = torch.nn.CrossEntropyLoss()
    first = probes.snapshot(x, y, loss_fn)
    ranges = dict(probes.ranges)
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(10.0)  # as if training had grown the weights a lot
    later = probes.snapshot(x * 20, y, loss_fn)
    assert probes.ranges == ranges
    for a, b in zip(first, later, strict=True):
        for part in ("pre", "post", "weight"):
            if part in a:  # the output layer has weights only
                assert a[part]["edges"] == b[part]["edges"], (a["layer"], part)
    assert later[0]["pre"]["outside"] > 0.5  # out-of-range values pile up in the end bins
    assert later[0]["weight"]["outside"] > first[0]["weight"]["outside"]
