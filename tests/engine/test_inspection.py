"""Looking at a trained network: the output plane, per-unit maps, predictions and mistakes."""

from __future__ import annotations

import collections
import math
from typing import Any

import numpy as np
import pytest
import torch

from engine.data import Split
from engine.inspection import (
    Predictions,
    confusion_matrix,
    evaluate_plane,
    most_confident_wrong,
    plane_extent,
    plane_grid,
    predict,
)
from engine.trainer import Trainer
from tests.engine.tiny import tiny


def trainer(**changes: Any) -> Trainer:
    """A small seeded trainer on the circle set, `changes` as dotted config paths."""
    return Trainer(tiny(**{"model.hidden": [5, 3], "train.epochs": 2, **changes}))


# The plane -----------------------------------------------------------------------------------


def test_plane_extent_is_a_whole_number_that_holds_every_point() -> None:
    t = trainer()
    extent = plane_extent(t.data)
    peak = max(np.abs(t.data.train_xy).max(), np.abs(t.data.val_xy).max())
    assert extent == math.ceil(peak * 1.05) and extent.is_integer()
    assert extent >= peak
    assert plane_extent(t.data, margin=2.0) == math.ceil(peak * 2.0)


def test_plane_extent_refuses_data_without_2d_points() -> None:
    t = trainer(**{"data.dataset": "normal_noise", "data.input_dim": 5})
    with pytest.raises(ValueError, match="no 2-D points"):
        plane_extent(t.data)
    with pytest.raises(ValueError):
        evaluate_plane(t.model, t.data, resolution=4)


def test_plane_grid_is_in_image_order() -> None:
    grid = plane_grid(2.0, 3).reshape(3, 3, 2)  # (row, column, [x1, x2])
    np.testing.assert_array_equal(grid[0, 0], [-2.0, 2.0])  # top left: smallest x1, largest x2
    np.testing.assert_array_equal(grid[0, 2], [2.0, 2.0])  # top right
    np.testing.assert_array_equal(grid[2, 0], [-2.0, -2.0])  # bottom left
    np.testing.assert_array_equal(grid[1, 1], [0.0, 0.0])
    assert np.all(np.diff(grid[..., 0], axis=1) > 0)  # x1 grows left to right
    assert np.all(np.diff(grid[..., 1], axis=0) < 0)  # x2 falls top to bottom
    assert np.all(np.diff(grid[..., 0], axis=0) == 0) and np.all(np.diff(grid[..., 1], axis=1) == 0)


def test_classification_plane_holds_probabilities_and_unit_maps() -> None:
    t = trainer(**{"data.dataset": "spiral3", "model.hidden": [6, 4, 3]})
    t.step(5)
    out = evaluate_plane(t.model, t.data, resolution=9)
    assert out.task == "classification" and out.extent == plane_extent(t.data)
    assert out.output.shape == (9, 9, 3)
    assert np.all(out.output >= 0)
    np.testing.assert_allclose(out.output.sum(axis=2), 1.0, atol=1e-5)
    assert [u.shape for u in out.units] == [(9, 9, 6), (9, 9, 4), (9, 9, 3)]
    assert all(np.all(np.abs(u) <= 1) for u in out.units)  # tanh outputs


def test_a_plane_can_keep_only_the_units_a_view_draws() -> None:
    """A view draws a dozen units per layer: the plane keeps just those (and the widths), so
    a 32-layer network's frame is not res^2 x every unit (issue 10.2)."""
    t = trainer(**{"model.hidden": [40, 3, 20]})
    full = evaluate_plane(t.model, t.data, resolution=5)
    kept = evaluate_plane(t.model, t.data, resolution=5, keep_units=12)
    assert kept.widths == full.widths == (40, 3, 20)
    assert [u.shape[-1] for u in kept.units] == [12, 3, 12]
    for a, b in zip(kept.units, full.units, strict=True):
        np.testing.assert_array_equal(a, b[..., : a.shape[-1]])
    np.testing.assert_array_equal(kept.output, full.output)


def test_regression_plane_has_one_output_channel() -> None:
    t = trainer(**{"data.dataset": "reg_gauss", "train.loss": "mse"})
    out = evaluate_plane(t.model, t.data, resolution=6, extent=3.0)
    assert out.task == "regression" and out.extent == 3.0
    assert out.output.shape == (6, 6, 1)
    assert [u.shape for u in out.units] == [(6, 6, 5), (6, 6, 3)]


def test_plane_value_equals_the_model_on_the_prepared_point() -> None:
    t = trainer(**{"data.features": ["x1", "x2", "x1^2", "x1x2"]})
    t.step(10)
    res, extent = 5, 4.0
    out = evaluate_plane(t.model, t.data, resolution=res, extent=extent)
    t.model.eval()
    for row, col in [(0, 0), (0, 4), (4, 0), (1, 3), (2, 2)]:
        # computed here, not with plane_grid: row 0 is the top of the image (x2 = +extent)
        point = np.array(
            [[-extent + 2 * extent * col / (res - 1), extent - 2 * extent * row / (res - 1)]]
        )
        with torch.no_grad():
            logits = t.model(t.data.prepare_points(point))
            hidden = t.model.blocks[0].act(t.model.blocks[0].layer(t.data.prepare_points(point)))
        expected = torch.softmax(logits, dim=1)[0].numpy()
        np.testing.assert_allclose(out.output[row, col], expected, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(out.units[0][row, col], hidden[0].numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("was_training", [True, False])
def test_plane_uses_eval_mode_and_restores_the_mode(was_training: bool) -> None:
    t = trainer(**{"model.norm": "batch", "model.dropout": "dropout", "model.dropout_rate": 0.5})
    t.step(10)  # BatchNorm running statistics move away from their initial values
    t.model.train(was_training)
    a = evaluate_plane(t.model, t.data, resolution=8)
    b = evaluate_plane(t.model, t.data, resolution=8)
    assert t.model.training is was_training
    np.testing.assert_array_equal(a.output, b.output)  # no dropout masks, no batch statistics
    for ua, ub in zip(a.units, b.units, strict=True):
        np.testing.assert_array_equal(ua, ub)
    t.model.eval()
    with torch.no_grad():
        expected = torch.softmax(t.model(t.data.prepare_points(plane_grid(a.extent, 8))), dim=1)
    np.testing.assert_allclose(a.output.reshape(-1, 2), expected.numpy(), rtol=1e-5, atol=1e-6)


def test_plane_leaves_no_hooks_behind() -> None:
    t = trainer()
    evaluate_plane(t.model, t.data, resolution=4)
    assert all(not b.act._forward_hooks for b in t.model.blocks)


# Predictions ---------------------------------------------------------------------------------


def test_predict_matches_the_trainers_metrics() -> None:
    t = trainer(**{"data.dataset": "spiral3", "data.n_samples": 300, "model.dropout": "dropout"})
    t.step(30)
    t.model.train()
    p = predict(t.model, t.val_split)
    assert t.model.training  # restored
    n = len(t.val_split.y)
    assert p.probs.shape == (n, 3) and p.pred.shape == (n,) and p.target.shape == (n,)
    np.testing.assert_allclose(p.probs.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(p.pred, p.probs.argmax(axis=1))
    np.testing.assert_array_equal(p.target, t.val_split.y.numpy())
    np.testing.assert_array_equal(p.confidence, p.probs.max(axis=1))
    assert p.accuracy == pytest.approx(t.metrics(t.val_split)["acc"])
    assert 0.0 < p.accuracy < 1.0  # some right, some wrong: the comparison means something


def test_predict_evaluates_in_chunks_like_one_pass() -> None:
    t = trainer()
    whole = predict(t.model, t.train_split)
    t.model.eval_chunk = 7  # as engine.budget sizes it for a wide network
    chunked = predict(t.model, t.train_split)
    np.testing.assert_allclose(chunked.probs, whole.probs, rtol=1e-5, atol=1e-6)


def test_predict_on_an_empty_split() -> None:
    t = trainer()
    p = predict(t.model, Split(t.val_split.x[:0], t.val_split.y[:0]))
    assert len(p.pred) == 0 and math.isnan(p.accuracy)


def test_confusion_matrix_by_hand() -> None:
    target = np.array([0, 0, 1, 2, 2, 2])
    pred = np.array([0, 1, 1, 2, 0, 2])
    expected = np.array([[1, 1, 0], [0, 1, 0], [1, 0, 2]])  # row = true class
    np.testing.assert_array_equal(confusion_matrix(target, pred, 3), expected)
    assert confusion_matrix(target, pred, 5).shape == (5, 5)  # classes never seen are zeros
    assert confusion_matrix(target, pred, 5)[3:].sum() == 0


def test_confusion_matrix_counts_every_pair() -> None:
    rng = np.random.default_rng(0)
    target, pred = rng.integers(0, 10, 2000), rng.integers(0, 10, 2000)
    counts = collections.Counter(zip(target.tolist(), pred.tolist(), strict=True))
    m = confusion_matrix(target, pred, 10)
    assert m.sum() == 2000
    for (true, guess), n in counts.items():
        assert m[true, guess] == n
    np.testing.assert_array_equal(m.sum(axis=1), np.bincount(target, minlength=10))


def _predictions(probs: list[list[float]], target: list[int]) -> Predictions:
    p = np.array(probs)
    return Predictions(p, p.argmax(axis=1), np.array(target))


def test_most_confident_wrong_lists_only_mistakes_most_confident_first() -> None:
    p = _predictions(
        [[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.95, 0.05], [0.3, 0.7], [0.45, 0.55]],
        [1, 1, 1, 0, 0, 0],  # wrong: 0 (0.9), 1 (0.6), 4 (0.7), 5 (0.55)
    )
    assert most_confident_wrong(p).tolist() == [0, 4, 1, 5]
    assert most_confident_wrong(p, k=2).tolist() == [0, 4]
    assert most_confident_wrong(p, k=0).tolist() == []


def test_most_confident_wrong_on_a_real_model() -> None:
    t = trainer(**{"data.dataset": "spiral3", "data.n_samples": 300})
    t.step(20)
    p = predict(t.model, t.val_split)
    idx = most_confident_wrong(p, k=5)
    assert 0 < len(idx) <= 5
    assert not p.correct[idx].any()
    conf = p.confidence[idx]
    assert np.all(np.diff(conf) <= 0)
    others = np.setdiff1d(np.flatnonzero(~p.correct), idx)
    assert len(others) == 0 or conf[-1] >= p.confidence[others].max()
