"""build_dataset: splits, seeding, normalization fitted on train only, MNIST splits, metadata."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from engine.config import DataConfig, field_info
from engine.data import DATASETS, DataError, Dataset, build_dataset
from engine.data.datasets import data_rng, fit_scaling
from engine.data.mnist import load_embedded
from engine.data.toy import make_features
from engine.registry import ConfigError, Entry

ALL = [
    "circle", "xor", "gauss", "spiral", "moons", "checkerboard", "spiral3",
    "reg_plane", "reg_gauss", "normal_noise", "adding", "uploaded", "mnist", "mnist_full",
]  # fmt: skip
# Generated sets; `uploaded` is built from the user's points (tested below).
TOY = [e.name for e in DATASETS if e.extra["toy"] and not e.extra.get("uploaded")]
POINTS = [e.name for e in DATASETS if e.extra["points2d"] and not e.extra.get("uploaded")]
DATA_FIELDS = {f.name for f in dataclasses.fields(DataConfig)}


def build(seed: int = 0, **kw: Any) -> Dataset:
    return build_dataset(DataConfig(**kw), seed)


def assert_same(a: Dataset, b: Dataset) -> None:
    for name in ("train", "val", "test"):
        sa, sb = getattr(a, name), getattr(b, name)
        if sa is None:
            assert sb is None
            continue
        assert torch.equal(sa.x, sb.x) and torch.equal(sa.y, sb.y)


# Registry metadata ---------------------------------------------------------------------------


def test_registry_names_and_config_choices() -> None:
    assert DATASETS.names() == ALL
    assert field_info("data.dataset")["choices"] == tuple(ALL)


@pytest.mark.parametrize("entry", list(DATASETS), ids=lambda e: e.name)
def test_entry_metadata(entry: Entry[Any]) -> None:
    x = entry.extra
    assert entry.label and entry.help and "\n" not in entry.help and len(entry.help) < 100
    assert x["task"] in ("classification", "regression")
    assert isinstance(x["n_classes"], int) and (x["n_classes"] == 1) == (x["task"] == "regression")
    assert all(isinstance(x[k], bool) for k in ("images", "toy", "points2d"))
    # each set is one kind: generated points, images or sequences
    assert x["toy"] + x["images"] + x.get("sequence", False) == 1
    assert not (x["points2d"] and not x["toy"])
    assert set(entry.params) <= DATA_FIELDS
    # sequences come in [0, 1) already (their builder does not rescale them)
    assert ("normalize" in entry.params) != bool(x.get("sequence"))
    DataConfig(dataset=entry.name)  # the config accepts it


@pytest.mark.parametrize("name", [n for n in ALL if n not in ("mnist_full", "uploaded")])
def test_every_dataset_builds_with_consistent_fields(name: str) -> None:
    ds = build(dataset=name, n_samples=200)
    entry = DATASETS.get(name)
    assert ds.name == name and ds.task == entry.extra["task"]
    assert ds.n_classes == entry.extra["n_classes"]
    for split in (ds.train, ds.val) + ((ds.test,) if ds.test is not None else ()):
        assert split.x.dtype == torch.float32 and split.x.shape[1:] == ds.input_shape
        assert len(split.x) == len(split.y)
        if ds.task == "regression":
            assert split.y.dtype == torch.float32 and split.y.shape == (len(split.x), 1)
        else:
            assert split.y.dtype == torch.int64 and split.y.ndim == 1
            assert int(split.y.min()) >= 0 and int(split.y.max()) < ds.n_classes
    assert (ds.test is None) == (not entry.extra["images"])  # generated sets: no test split


def test_mnist_full_without_download_raises_data_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLAYGROUND_CACHE_DIR", str(tmp_path))
    with pytest.raises(DataError, match="mnist-full"):
        build(dataset="mnist_full")


# Toy data ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "frac", "n_train"), [(500, 0.5, 250), (500, 0.8, 400), (11, 0.05, 1)]
)
def test_toy_split_sizes(n: int, frac: float, n_train: int) -> None:
    ds = build(dataset="spiral", n_samples=n, train_fraction=frac)
    assert (len(ds.train.y), len(ds.val.y)) == (n_train, n - n_train)
    assert ds.test is None
    assert ds.train_xy is not None and ds.val_xy is not None
    assert ds.train_xy.shape == (n_train, 2) and ds.val_xy.shape == (n - n_train, 2)


@pytest.mark.parametrize("name", TOY)
def test_toy_seeded_determinism(name: str) -> None:
    a, b, c = build(7, dataset=name), build(7, dataset=name), build(8, dataset=name)
    assert_same(a, b)
    assert not torch.equal(a.train.x, c.train.x)


def test_data_stream_is_the_documented_seed_sequence() -> None:
    expected = np.random.default_rng(np.random.SeedSequence([3, 0xDA7A])).random(4)
    np.testing.assert_array_equal(data_rng(3).random(4), expected)


def test_toy_points_are_shuffled_before_splitting() -> None:
    ds = build(dataset="gauss", n_samples=400)  # the generator emits class blocks
    assert 0.3 < float(ds.train.y.float().mean()) < 0.7
    assert 0.3 < float(ds.val.y.float().mean()) < 0.7


FEATS = ("x1", "x2", "x1^2", "x2^2", "x1x2", "sin_x1", "sin_x2")


@pytest.mark.parametrize("normalize", ["standard", "minmax", "none"])
def test_toy_normalization_is_fitted_on_train_only(normalize: str) -> None:
    ds = build(dataset="circle", n_samples=300, features=FEATS, normalize=normalize, noise=0.3)
    assert ds.train_xy is not None and ds.feature_names == FEATS
    raw = torch.from_numpy(make_features(ds.train_xy, FEATS)).float()  # (n_train, 7)
    x = ds.train.x
    if normalize == "standard":
        torch.testing.assert_close(x.mean(0), torch.zeros(7), atol=1e-5, rtol=0)
        torch.testing.assert_close(x.std(0, correction=0), torch.ones(7), atol=1e-4, rtol=0)
        torch.testing.assert_close(ds.shift, raw.mean(0))
    elif normalize == "minmax":
        torch.testing.assert_close(x.amin(0), torch.zeros(7), atol=1e-6, rtol=0)
        torch.testing.assert_close(x.amax(0), torch.ones(7), atol=1e-6, rtol=0)
        assert float(ds.val.x.min()) < 0 or float(ds.val.x.max()) > 1  # val was not fitted
    else:
        torch.testing.assert_close(x, raw)
    assert ds.shift.shape == ds.scale.shape == (7,)
    # The val statistics differ: they were not used.
    if normalize == "standard":
        assert float(ds.val.x.mean(0).abs().max()) > 1e-3


@pytest.mark.parametrize("normalize", ["standard", "minmax"])
def test_constant_feature_does_not_divide_by_zero(normalize: str) -> None:
    x = torch.tensor([[1.0, 3.0], [2.0, 3.0], [4.0, 3.0]])  # second feature is constant
    shift, scale = fit_scaling(x, normalize, images=False)
    assert float(scale[1]) == pytest.approx(1e-8)  # floored, so (x - shift) / scale stays finite
    assert torch.isfinite((x - shift) / scale).all()


@pytest.mark.parametrize("normalize", ["standard", "minmax", "none"])
@pytest.mark.parametrize("name", POINTS)
def test_prepare_points_matches_the_training_tensors(name: str, normalize: str) -> None:
    feats = ("x2", "x1x2", "sin_x1", "x1^2")
    ds = build(3, dataset=name, features=feats, normalize=normalize, n_samples=120)
    assert ds.train_xy is not None and ds.val_xy is not None
    torch.testing.assert_close(ds.prepare_points(ds.train_xy), ds.train.x)
    torch.testing.assert_close(ds.prepare_points(ds.val_xy), ds.val.x)
    grid = np.stack(np.meshgrid(np.linspace(-6, 6, 5), np.linspace(-6, 6, 5)), -1).reshape(-1, 2)
    assert ds.prepare_points(grid).shape == (25, 4)


def test_regression_targets() -> None:
    ds = build(dataset="reg_plane", n_samples=100, noise=0.0)
    assert ds.task == "regression" and ds.n_classes == 1
    assert ds.train.y.dtype == torch.float32 and ds.train.y.shape == (50, 1)
    assert ds.train_xy is not None
    expected = torch.from_numpy(ds.train_xy.sum(1) / 10).float().unsqueeze(1)
    torch.testing.assert_close(ds.train.y, expected)


def test_normal_noise_uses_input_dim_and_ignores_features() -> None:
    ds = build(dataset="normal_noise", input_dim=12, features=("x1^2",), n_samples=100)
    assert ds.input_shape == (12,) and ds.train.x.shape == (50, 12)
    assert ds.feature_names == tuple(f"x{i}" for i in range(1, 13))
    assert ds.train_xy is None
    with pytest.raises(ValueError, match="2-D"):
        ds.prepare_points(np.zeros((3, 2)))


# MNIST ---------------------------------------------------------------------------------------


def test_mnist_shapes_and_default_split() -> None:
    ds = build(dataset="mnist")
    assert ds.train.x.shape == (4500, 1, 28, 28) and ds.train.x.dtype == torch.float32
    assert ds.val.x.shape == (500, 1, 28, 28) and ds.test is not None
    assert ds.test.x.shape == (10000, 1, 28, 28) and ds.test.y.dtype == torch.int64
    assert ds.input_shape == (1, 28, 28) and ds.n_classes == 10 and ds.train_xy is None
    m = load_embedded()
    np.testing.assert_array_equal(ds.val.y.numpy(), m.train_y[-500:])  # the LAST images
    np.testing.assert_array_equal(ds.train.y.numpy(), m.train_y[:4500])
    np.testing.assert_array_equal(ds.test.y.numpy(), m.test_y)


def test_mnist_validation_is_fixed_across_train_subsets() -> None:
    full = build(dataset="mnist", normalize="none")
    small = build(dataset="mnist", normalize="none", train_subset=1000)
    assert len(small.train.y) == 1000
    assert torch.equal(full.val.x, small.val.x) and torch.equal(full.val.y, small.val.y)
    assert torch.equal(small.train.x, full.train.x[:1000])
    # With standard scaling the val *images* are the same; only the train-fitted scale differs.
    std = build(dataset="mnist", train_subset=1000)
    torch.testing.assert_close(std.val.x * std.scale + std.shift, full.val.x, atol=1e-3, rtol=0)


def test_mnist_seed_does_not_change_the_split() -> None:
    assert_same(
        build(0, dataset="mnist", train_subset=300), build(5, dataset="mnist", train_subset=300)
    )


@pytest.mark.parametrize("val_fraction", [0.0, 0.25])
def test_mnist_val_fraction(val_fraction: float) -> None:
    ds = build(dataset="mnist", val_fraction=val_fraction, normalize="none")
    n_val = round(val_fraction * 5000)
    assert (len(ds.train.y), len(ds.val.y)) == (5000 - n_val, n_val)
    assert ds.val.x.shape[1:] == (1, 28, 28)


def test_mnist_train_subset_too_large_names_the_field() -> None:
    build(dataset="mnist", train_subset=4500)  # exactly what remains is fine
    with pytest.raises(ConfigError, match="only 4500 training images remain") as info:
        build(dataset="mnist", train_subset=4501)
    assert info.value.field == "data.train_subset"


def test_mnist_standard_uses_one_scalar_from_train() -> None:
    ds = build(dataset="mnist", train_subset=2000)
    assert ds.shift.shape == ds.scale.shape == ()
    assert abs(float(ds.train.x.mean())) < 1e-4 and abs(float(ds.train.x.std()) - 1) < 1e-3
    raw = load_embedded().train_x[:2000].astype(np.float64)
    assert float(ds.shift) == pytest.approx(raw.mean(), rel=1e-5)
    assert float(ds.scale) == pytest.approx(raw.std(), rel=1e-5)
    assert ds.test is not None
    restored = ds.test.x * ds.scale + ds.shift
    torch.testing.assert_close(
        restored[:10, 0], torch.tensor(load_embedded().test_x[:10]).float(), atol=1e-3, rtol=0
    )


def test_mnist_minmax_and_none() -> None:
    mm, raw = build(dataset="mnist", normalize="minmax"), build(dataset="mnist", normalize="none")
    assert float(mm.train.x.min()) == 0 and float(mm.train.x.max()) == 1
    assert float(raw.train.x.max()) == 255 and float(raw.scale) == 1 and float(raw.shift) == 0
    torch.testing.assert_close(mm.val.x * 255, raw.val.x)
    assert not load_embedded().train_x.flags.writeable  # building never touched the shared arrays
