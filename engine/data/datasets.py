"""Datasets by name, and `build_dataset`: config + seed -> normalized train/val/test tensors.

Entry extras (read by engine/config.py and the UI): `task` ("classification" | "regression"),
`n_classes` (1 for regression), `images` (MNIST-like (1, 28, 28) inputs), `toy` (generated
points), `points2d` (raw 2-D points that go through `data.features`; False for normal_noise),
`sequence` (inputs (steps, features) for the recurrent networks; `data.seq_len` steps).
`params` names the DataConfig fields the dataset reads, so the UI shows only those controls.
A toy entry's `build` is its generator `(n, noise, rng) -> (X, y)`; an MNIST entry's is its
loader `() -> MnistArrays`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import torch

from engine.data import mnist, sequences, toy
from engine.data.errors import DataError
from engine.registry import ConfigError, Registry
from engine.seeding import STREAMS

if TYPE_CHECKING:
    from engine.config import DataConfig

DATASETS: Registry[Any] = Registry("dataset", "data.dataset")

_POINTS = ("n_samples", "noise", "train_fraction", "features", "normalize")
_IMAGES = ("train_subset", "val_fraction", "normalize", "classes")


def _toy(name: str, gen: toy.Generator, label: str, help: str, n_classes: int = 2) -> None:
    task = "regression" if n_classes == 1 else "classification"
    DATASETS.add(
        name,
        gen,
        label=label,
        help=help,
        params=_POINTS,
        task=task,
        n_classes=n_classes,
        images=False,
        toy=True,
        points2d=True,
    )


_toy("circle", toy.circle, "Circle", "A blob of one class inside a ring of the other.")
_toy("xor", toy.xor, "Exclusive or", "Opposite quadrants share a class: no single line splits it.")
_toy("gauss", toy.gauss, "Two Gaussians", "Two round clouds; a straight line separates them.")
_toy("spiral", toy.spiral, "Spiral", "Two arms wound around each other: the hardest 2-D set.")
_toy("moons", toy.moons, "Moons", "Two interlocking half circles: a gently curved boundary.")
_toy("checkerboard", toy.checkerboard, "Checkerboard", "4x4 squares of alternating class.")
_toy("spiral3", toy.spiral3, "Three spirals", "Three spiral arms, one per class.", n_classes=3)
_toy("reg_plane", toy.reg_plane, "Plane (regression)", "Predict (x1 + x2) / 10.", n_classes=1)
_toy(
    "reg_gauss",
    toy.reg_gauss,
    "Bumps (regression)",
    "Predict the height of six positive and negative bumps.",
    n_classes=1,
)
DATASETS.add(
    "normal_noise",
    toy.normal_noise,
    label="Gaussian inputs",
    help="Many standard-normal inputs labelled by a random line: for watching activations.",
    params=("n_samples", "noise", "train_fraction", "input_dim", "normalize"),
    task="classification",
    n_classes=2,
    images=False,
    toy=True,
    points2d=False,
)
DATASETS.add(
    "adding",
    sequences.adding,
    label="Adding problem (sequences)",
    help="Random values, two of them marked: predict the sum of the two marked values.",
    params=("n_samples", "seq_len", "train_fraction"),
    task="regression",
    n_classes=1,
    images=False,
    toy=False,
    points2d=False,
    sequence=True,
)
DATASETS.add(
    "uploaded",
    None,
    label="Your own points (CSV)",
    help="2-D points you upload as a CSV file with columns x1, x2, label.",
    params=("train_fraction", "features", "normalize"),
    task="classification",
    n_classes=2,  # at least; the uploaded file decides (up to 10)
    images=False,
    toy=True,
    points2d=True,
    uploaded=True,
)
DATASETS.add(
    "mnist",
    mnist.load_embedded,
    label="MNIST (5k, built in)",
    help="Handwritten digits 0-9: 5,000 training images that ship with the app, 10,000 to test.",
    params=_IMAGES,
    train_images=5_000,  # for engine.budget's estimate of the pre-training steps
    task="classification",
    n_classes=10,
    images=True,
    toy=False,
    points2d=False,
)
DATASETS.add(
    "mnist_full",
    mnist.load_full,
    label="MNIST (60k, download)",
    help="All 60,000 MNIST training images; download them once (about 10 MB) before use.",
    params=_IMAGES,
    train_images=60_000,
    task="classification",
    n_classes=10,
    images=True,
    toy=False,
    points2d=False,
)


@dataclass(frozen=True, eq=False)  # eq=False: comparing tensors with == has no single truth
class Split:
    """Inputs x (N, *input_shape) float32 and targets y: int64 (N,) or float32 (N, 1)."""

    x: torch.Tensor
    y: torch.Tensor


@dataclass(frozen=True, eq=False)
class Dataset:
    """Normalized splits plus what the model and the UI need to know about them.

    `shift`/`scale` hold the normalization fitted on the train split: x_norm = (x - shift) /
    scale, float32, one value per feature (tabular) or one scalar (images). `train_xy`/`val_xy`
    are the raw 2-D points of toy sets in split order (None otherwise), for plotting.
    """

    name: str
    train: Split
    val: Split
    test: Split | None
    task: str
    n_classes: int
    input_shape: tuple[int, ...]
    feature_names: tuple[str, ...]
    normalize: str
    shift: torch.Tensor
    scale: torch.Tensor
    train_xy: np.ndarray[Any, Any] | None = None
    val_xy: np.ndarray[Any, Any] | None = None
    class_names: tuple[str, ...] = ()  # how the user's file named its classes; () elsewhere

    def prepare_points(self, xy: np.ndarray[Any, Any]) -> torch.Tensor:
        """Raw 2-D points (m, 2) -> model inputs (m, F): the features, then the train scaling.

        The UI uses it to evaluate the model on a grid for decision-boundary images.
        """
        if self.train_xy is None:
            raise ValueError(f"{self.name} has no 2-D points; prepare_points is for toy 2-D sets")
        feats = toy.make_features(xy, self.feature_names)  # (m, F) float64
        return apply_scaling(torch.from_numpy(feats).float(), self.shift, self.scale)


def data_rng(seed: int) -> np.random.Generator:
    """The data's own random stream (SeedSequence([seed, 0xDA7A])), separate from the init,
    batch-order and dropout streams, so changing those knobs never changes the data."""
    return np.random.default_rng(np.random.SeedSequence([seed, STREAMS["data"]]))


class Points(Protocol):
    """User points (see engine.data.uploads.UploadedPoints): xy (n, 2), labels y (n,) in
    0..n_classes-1."""

    # Properties: a frozen dataclass (UploadedPoints) holds them read-only.
    @property
    def xy(self) -> np.ndarray[Any, Any]: ...
    @property
    def y(self) -> np.ndarray[Any, Any]: ...
    @property
    def n_classes(self) -> int: ...
    @property
    def class_names(self) -> tuple[str, ...]: ...


def build_dataset(cfg: DataConfig, seed: int, points: Points | None = None) -> Dataset:
    """Make the dataset `cfg` describes; the same (cfg, seed) always gives identical tensors.

    `points` are the user's own 2-D points, needed (and used) only by the `uploaded` dataset.
    """
    entry = DATASETS.get(cfg.dataset)
    if entry.extra["images"]:
        return _build_images(cfg, entry.build())
    if entry.extra.get("uploaded"):
        if points is None:
            raise DataError(
                "data.dataset 'uploaded' needs your points: upload a CSV file (x1, x2, label) on "
                "the Playground page, or pass --points FILE.csv on the command line"
            )
        # Shuffle with the data stream: a file sorted by class would otherwise give a training
        # set of one class.
        order = data_rng(seed).permutation(len(points.y))
        xy, y = points.xy[order], points.y[order]
        data = _build_points(cfg, xy, y, "classification", points.n_classes)
        return replace(data, class_names=tuple(points.class_names))
    rng = data_rng(seed)
    if entry.extra.get("sequence"):
        return _build_sequences(cfg, *entry.build(cfg.n_samples, cfg.seq_len, rng))
    if entry.extra["points2d"]:
        xy, y = entry.build(cfg.n_samples, cfg.noise, rng)  # (n, 2), (n,)
    else:
        xy, y = entry.build(cfg.n_samples, cfg.noise, rng, input_dim=cfg.input_dim)
    order = rng.permutation(len(y))  # generators emit class blocks
    n_classes = entry.extra["n_classes"]
    return _build_points(cfg, xy[order], y[order], entry.extra["task"], n_classes)


# ---------------------------------------------------------------------------------------------
# Normalization, fitted on the training split only (no information leaks from val/test)


def fit_scaling(x: torch.Tensor, method: str, images: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(shift, scale) for `method`: per feature for tabular x (N, F), one scalar for images."""
    if method == "standard":
        if images:  # one mean/std over all pixels: per-pixel stats would distort the image
            shift, scale = x.mean(), x.std(correction=0)
        else:
            shift, scale = x.mean(dim=0), x.std(dim=0, correction=0)
        return shift, scale.clamp_min(1e-8)  # a constant feature would divide by 0
    if method == "minmax":
        if images:
            return torch.tensor(0.0), torch.tensor(255.0)  # pixels are 0..255 by definition
        lo, hi = x.amin(dim=0), x.amax(dim=0)
        return lo, (hi - lo).clamp_min(1e-8)
    if method == "none":
        shape = () if images else x.shape[1:]
        return torch.zeros(shape), torch.ones(shape)
    raise ConfigError("data.normalize", f"unknown normalization '{method}'")


def apply_scaling(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """(x - shift) / scale, in place: x is always a fresh tensor here, and in place halves the
    peak memory for the 60k MNIST images (188 MB as float32)."""
    return x.sub_(shift).div_(scale)


# ---------------------------------------------------------------------------------------------
# Builders


def _build_points(
    cfg: DataConfig, xy: np.ndarray[Any, Any], y: np.ndarray[Any, Any], task: str, n_classes: int
) -> Dataset:
    """Shuffled points -> the first train_fraction for training, the rest for validation;
    input features computed and normalized with statistics of the training part."""
    entry = DATASETS.get(cfg.dataset)
    n_train = min(max(round(cfg.train_fraction * len(y)), 1), len(y) - 1)

    if entry.extra["points2d"]:
        names = tuple(cfg.features)
        feats = toy.make_features(xy, names)  # (n, F)
    else:
        names = tuple(f"x{i + 1}" for i in range(xy.shape[1]))
        feats = xy
    x = torch.from_numpy(feats).float()  # (n, F)
    shift, scale = fit_scaling(x[:n_train], cfg.normalize, images=False)
    x = apply_scaling(x, shift, scale)
    if task == "regression":
        t = torch.from_numpy(y).float().unsqueeze(1)  # (n, 1)
    else:
        t = torch.from_numpy(y).long()  # (n,)
    keep_xy = entry.extra["points2d"]
    return Dataset(
        name=cfg.dataset,
        train=Split(x[:n_train], t[:n_train]),
        val=Split(x[n_train:], t[n_train:]),
        test=None,
        task=task,
        n_classes=n_classes,
        input_shape=(x.shape[1],),
        feature_names=names,
        normalize=cfg.normalize,
        shift=shift,
        scale=scale,
        train_xy=xy[:n_train] if keep_xy else None,
        val_xy=xy[n_train:] if keep_xy else None,
    )


def _build_sequences(cfg: DataConfig, x: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> Dataset:
    """Sequences (n, steps, features) -> the first train_fraction for training, the rest for
    validation. Not rescaled: the values already lie in [0, 1) and the markers are 0 or 1
    (data.normalize does not apply)."""
    n_train = min(max(round(cfg.train_fraction * len(y)), 1), len(y) - 1)
    xt = torch.from_numpy(x).float()  # (n, steps, features)
    t = torch.from_numpy(y).float().unsqueeze(1)  # (n, 1)
    entry = DATASETS.get(cfg.dataset)
    return Dataset(
        name=cfg.dataset,
        train=Split(xt[:n_train], t[:n_train]),
        val=Split(xt[n_train:], t[n_train:]),
        test=None,
        task=entry.extra["task"],
        n_classes=entry.extra["n_classes"],
        input_shape=tuple(xt.shape[1:]),
        feature_names=("value", "marker"),
        normalize="none",
        shift=torch.zeros(()),
        scale=torch.ones(()),
    )


def _images(x: np.ndarray[Any, Any]) -> torch.Tensor:
    return torch.from_numpy(x.astype(np.float32)).unsqueeze(1)  # (N, 1, 28, 28), 0..255


def _digits(y: np.ndarray[Any, Any], classes: tuple[int, ...]) -> np.ndarray[Any, Any]:
    """Indices of the labels in `y` that are among `classes` (all of them when `classes` is
    empty or has all ten digits)."""
    if not classes or set(range(10)) <= set(classes):
        return np.arange(len(y))
    return np.flatnonzero(np.isin(y, np.asarray(classes)))


def _build_images(cfg: DataConfig, arrays: mnist.MnistArrays) -> Dataset:
    """MNIST splits. Validation is the LAST round(val_fraction * N) training images, fixed, so
    that changing train_subset (a learning-curve experiment) never changes the yardstick; the
    training images are the first train_subset of the rest (the embedded subset is shuffled, so
    any prefix is roughly class-balanced). The official test set stays the test set.
    `data.classes` keeps only those digits in every split (labels stay the digits)."""
    n = len(arrays.train_y)
    n_val = round(cfg.val_fraction * n)
    remain = n - n_val
    pool = _digits(arrays.train_y[:remain], cfg.classes)
    if cfg.train_subset > len(pool):
        which = f" of the digits {_listed(cfg.classes)}" if len(pool) < remain else ""
        raise ConfigError(
            "data.train_subset",
            f"{cfg.train_subset} is too many: only {len(pool)} training images{which} remain "
            f"after the validation split ({n} images, {n_val} held out); use at most "
            f"{len(pool)} (0 = all)",
        )
    n_train = cfg.train_subset or len(pool)
    if len(pool) < remain:  # some digits left out
        train_idx = pool[:n_train]
        val_idx = remain + _digits(arrays.train_y[remain:], cfg.classes)
        test_idx = _digits(arrays.test_y, cfg.classes)
        train_x, train_y = arrays.train_x[train_idx], arrays.train_y[train_idx]
        val_x, val_y = arrays.train_x[val_idx], arrays.train_y[val_idx]
        test_x, test_y = arrays.test_x[test_idx], arrays.test_y[test_idx]
    else:  # slices, not index copies: the full set is 47 MB of pixels
        train_x, train_y = arrays.train_x[:n_train], arrays.train_y[:n_train]
        val_x, val_y = arrays.train_x[remain:], arrays.train_y[remain:]
        test_x, test_y = arrays.test_x, arrays.test_y
    train_t = _images(train_x)
    shift, scale = fit_scaling(train_t, cfg.normalize, images=True)

    def labels(y: np.ndarray[Any, Any]) -> torch.Tensor:
        return torch.from_numpy(y.astype(np.int64))  # (N,)

    def split(x: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> Split:
        return Split(apply_scaling(_images(x), shift, scale), labels(y))

    entry = DATASETS.get(cfg.dataset)
    return Dataset(
        name=cfg.dataset,
        train=Split(apply_scaling(train_t, shift, scale), labels(train_y)),
        val=split(val_x, val_y),
        test=split(test_x, test_y),
        task=entry.extra["task"],
        n_classes=entry.extra["n_classes"],
        input_shape=(1, 28, 28),
        feature_names=(),
        normalize=cfg.normalize,
        shift=shift,
        scale=scale,
    )


def pretrain_split(cfg: DataConfig, classes: tuple[int, ...], data: Dataset) -> Split:
    """The pre-training images: every image of the digits `classes` in the training pool (the
    training images before data.train_subset and data.classes pick theirs; never the validation
    images), scaled with `data`'s normalization so the network sees its inputs as the main
    training will show them."""
    entry = DATASETS.get(cfg.dataset)
    if not entry.extra["images"]:
        raise ConfigError("train.pretrain_epochs", "pre-training needs an MNIST dataset")
    arrays = entry.build()
    remain = len(arrays.train_y) - round(cfg.val_fraction * len(arrays.train_y))
    idx = _digits(arrays.train_y[:remain], classes)
    x = apply_scaling(_images(arrays.train_x[idx]), data.shift, data.scale)
    return Split(x, torch.from_numpy(arrays.train_y[idx].astype(np.int64)))


def _listed(classes: tuple[int, ...]) -> str:
    return ", ".join(str(c) for c in classes)
