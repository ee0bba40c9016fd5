"""The `uploaded` dataset: a user's own CSV points as train/validation splits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from engine.config import Config, DataConfig
from engine.data import DataError, Dataset, build_dataset, toy
from engine.data.uploads import UploadedPoints, parse_points_csv, points_to_csv
from engine.trainer import Trainer

FEATS = ("x1", "x2", "x1^2", "x2^2", "x1x2")


def points(name: str = "circle", n: int = 120, seed: int = 0) -> UploadedPoints:
    """Points of a toy set, through a CSV file as a user would upload them (class blocks)."""
    xy, y = getattr(toy, name)(n, 0.0, np.random.default_rng(seed))
    return parse_points_csv(points_to_csv(xy, y))


def build(pts: UploadedPoints, seed: int = 0, **data: Any) -> Dataset:
    return build_dataset(DataConfig(dataset="uploaded", **data), seed, pts)


def rows(a: np.ndarray[Any, Any]) -> list[tuple[float, ...]]:
    return sorted(map(tuple, a.tolist()))


def test_without_points_the_error_says_how_to_upload() -> None:
    with pytest.raises(DataError, match=r"upload a CSV file.*--points"):
        build_dataset(DataConfig(dataset="uploaded"), 0)
    with pytest.raises(DataError, match="--points"):
        Trainer(Config().replace(**{"data.dataset": "uploaded", "device": "cpu"}))


@pytest.mark.parametrize(("frac", "n_train"), [(0.5, 60), (0.3, 36), (0.8, 96), (0.05, 6)])
def test_split_sizes_follow_train_fraction(frac: float, n_train: int) -> None:
    ds = build(points(n=120), train_fraction=frac)
    assert (len(ds.train.y), len(ds.val.y)) == (n_train, 120 - n_train)
    assert ds.train_xy.shape == (n_train, 2) and ds.val_xy.shape == (120 - n_train, 2)
    assert ds.test is None and ds.task == "classification" and ds.name == "uploaded"


def test_splits_hold_every_uploaded_point_once_with_its_label() -> None:
    pts = points("spiral3", n=90)
    ds = build(pts)
    xy = np.concatenate([ds.train_xy, ds.val_xy])
    labels = torch.cat([ds.train.y, ds.val.y]).numpy()
    assert rows(np.column_stack([xy, labels])) == rows(np.column_stack([pts.xy, pts.y]))


def test_points_are_shuffled_by_the_seed() -> None:
    pts = points(n=200)  # the file lists one class, then the other
    assert pts.y[:100].tolist() == [pts.y[0]] * 100
    a, b, c = build(pts, seed=3), build(pts, seed=3), build(pts, seed=4)
    np.testing.assert_array_equal(a.train_xy, b.train_xy)
    assert torch.equal(a.train.x, b.train.x) and torch.equal(a.train.y, b.train.y)
    assert not np.array_equal(a.train_xy, c.train_xy)
    for ds in (a, c):  # both classes in both splits, roughly balanced
        assert 0.3 < float(ds.train.y.float().mean()) < 0.7
        assert 0.3 < float(ds.val.y.float().mean()) < 0.7


def test_number_of_classes_comes_from_the_file() -> None:
    for name, k in (("gauss", 2), ("spiral3", 3)):
        ds = build(points(name, n=90))
        assert ds.n_classes == k
        assert set(torch.cat([ds.train.y, ds.val.y]).tolist()) == set(range(k))
    t = Trainer(Config().replace(**{"data.dataset": "uploaded", "device": "cpu"}), dataset=ds)
    assert t.model.weight_layers()[-1][1].weight.shape[0] == 3


def test_features_are_computed_and_normalized_on_train_only() -> None:
    pts = points("circle", n=200)
    ds = build(pts, features=list(FEATS), normalize="standard")
    assert ds.feature_names == FEATS and ds.input_shape == (5,)
    raw_train = torch.from_numpy(toy.make_features(ds.train_xy, FEATS)).float()
    raw_all = torch.from_numpy(toy.make_features(pts.xy, FEATS)).float()
    torch.testing.assert_close(ds.shift, raw_train.mean(0))
    torch.testing.assert_close(ds.scale, raw_train.std(0, correction=0))
    assert not torch.allclose(ds.shift, raw_all.mean(0), atol=1e-3)  # not fitted on everything
    torch.testing.assert_close(ds.train.x.mean(0), torch.zeros(5), atol=1e-5, rtol=0)
    torch.testing.assert_close(ds.train.x.std(0, correction=0), torch.ones(5), atol=1e-4, rtol=0)
    raw_val = torch.from_numpy(toy.make_features(ds.val_xy, FEATS)).float()
    torch.testing.assert_close(ds.val.x, (raw_val - ds.shift) / ds.scale)
    torch.testing.assert_close(ds.prepare_points(ds.val_xy), ds.val.x)


def test_a_separable_upload_trains() -> None:
    cfg = Config().replace(**{"data.dataset": "uploaded", "device": "cpu", "train.epochs": 15})
    ds = build_dataset(cfg.data, cfg.seed, points("gauss", n=200))
    summary = Trainer(cfg, dataset=ds).run()
    assert summary["val_acc"] > 0.9


def test_a_checkpoint_of_an_uploaded_run_loads_back(tmp_path: Path) -> None:
    """`--points ... --save` writes a checkpoint; Trainer.load has to be able to read it."""
    cfg = Config().replace(**{"data.dataset": "uploaded", "device": "cpu", "train.epochs": 2})
    ds = build_dataset(cfg.data, cfg.seed, points("gauss", n=100))
    t = Trainer(cfg, dataset=ds)
    t.step(3)
    loaded = Trainer.load(t.save(tmp_path / "mine.pt"))
    assert loaded.step_count == t.step_count > 0
    for a, b in zip(loaded.model.parameters(), t.model.parameters(), strict=True):
        assert torch.equal(a, b)
    assert torch.equal(loaded.train_split.x, t.train_split.x)
