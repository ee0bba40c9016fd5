"""MNIST: the embedded 5k subset (offline default) and the full 60k training set on request.

The embedded files in assets/mnist/ are a class-balanced 5,000-image training subset and the
official 10,000-image test set. `download_full` fetches only the two full *training* files: the
official test set is already embedded, byte-identical. Downloads go through pooch, which writes
to a temporary file and moves it into the cache only when its checksum matches, so a failed or
tampered download never leaves a corrupt file behind.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from engine.data.errors import DataError
from engine.data.idx import read_idx

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "mnist"
EMBEDDED = {
    "train_x": "train-5k-images-idx3-ubyte.gz",
    "train_y": "train-5k-labels-idx1-ubyte.gz",
    "test_x": "t10k-images-idx3-ubyte.gz",
    "test_y": "t10k-labels-idx1-ubyte.gz",
}
TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
# Official MD5s of the full training files (the published checksums of the MNIST mirrors).
FULL_HASHES = {
    TRAIN_IMAGES: "md5:f68b3c2dcbeaaa9fbdd348bbdeb94873",
    TRAIN_LABELS: "md5:d53e105ee54ea40749a09fcbcd1e9432",
}
DEFAULT_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"  # the mirror torchvision uses
URL_ENV = "PLAYGROUND_MNIST_URL"
CACHE_ENV = "PLAYGROUND_CACHE_DIR"
CHUNK = 64 * 1024  # bytes per progress update
TIMEOUT_S = 30
DOWNLOAD_ADVICE = "run `python -m engine data mnist-full` or press Download on the MNIST page"

Progress = Callable[[int, int], None]


@dataclass(frozen=True, eq=False)
class MnistArrays:
    """Read-only MNIST arrays: images uint8 (N, 28, 28), labels uint8 (N,) in 0..9."""

    train_x: np.ndarray[Any, Any]
    train_y: np.ndarray[Any, Any]
    test_x: np.ndarray[Any, Any]
    test_y: np.ndarray[Any, Any]


def _read_pair(images: Path, labels: Path) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Images and labels of one split, checked to be MNIST-shaped and of matching length."""
    x, y = read_idx(images), read_idx(labels)
    if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != (28, 28):
        raise DataError(
            f"{images}: expected uint8 images of shape (N, 28, 28), got {x.dtype} {x.shape}; "
            "delete it and download it again"
        )
    if y.dtype != np.uint8 or y.ndim != 1 or len(y) != len(x) or (len(y) and y.max() > 9):
        raise DataError(
            f"{labels}: expected {len(x)} uint8 labels in 0..9 to match {images.name}, got "
            f"{y.dtype} {y.shape}; delete it and download it again"
        )
    return x, y


@cache
def load_embedded() -> MnistArrays:
    """The embedded 5,000 training and 10,000 test images (cached: the arrays are read-only)."""
    train_x, train_y = _read_pair(ASSETS / EMBEDDED["train_x"], ASSETS / EMBEDDED["train_y"])
    test_x, test_y = _read_pair(ASSETS / EMBEDDED["test_x"], ASSETS / EMBEDDED["test_y"])
    return MnistArrays(train_x, train_y, test_x, test_y)


def default_cache_dir() -> Path:
    """Where the full files live: $PLAYGROUND_CACHE_DIR/mnist, else the user cache (pooch)."""
    import pooch

    root = os.environ.get(CACHE_ENV) or pooch.os_cache("nn-playground")
    return Path(root) / "mnist"


class _ProgressAdapter:
    """Turns pooch's tqdm-like calls into `progress(done_bytes, total_bytes)`.

    pooch's HTTPDownloader sets `.total` from Content-Length, calls `.update(chunk_size)` per
    chunk (over-counting the last one), then `.reset()`, `.update(total)` and `.close()`. Counts
    are clamped to the total, accumulate over files (`offset`), and never go backwards, so a
    progress bar fills once across both files.
    """

    def __init__(self, callback: Progress) -> None:
        self.callback = callback
        self.offset = 0  # bytes (and total) of the files already finished
        self.total = 0  # of the current file; set by pooch
        self.n = 0  # bytes of the current file so far
        self._last = -1

    def update(self, n: int) -> None:
        self.n = min(self.n + n, self.total) if self.total else self.n + n
        done = self.offset + self.n
        if done > self._last:
            self._last = done
            self.callback(done, self.offset + self.total)

    def reset(self) -> None:
        self.n = 0  # pooch follows with update(total); `_last` keeps reports monotonic

    def close(self) -> None:
        self.offset += max(self.total, self.n)
        self.total = self.n = 0


def download_full(
    cache_dir: Path | None = None,
    base_url: str | None = None,
    progress: Progress | None = None,
    *,
    hashes: Mapping[str, str] | None = None,
) -> dict[str, Path]:
    """Download the full MNIST training files (60,000 images) into the cache, verified.

    Returns {file name: path}. Files already cached with the right checksum are not fetched
    again. `progress(done_bytes, total_bytes)` is called as bytes arrive. `hashes` overrides
    the expected checksums ({file name: "md5:..." or "sha256:..."}; for tests). Raises DataError
    on an HTTP error, a connection failure or a checksum mismatch; no bad file is kept.
    """
    import pooch

    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    base = base_url or os.environ.get(URL_ENV) or DEFAULT_URL
    base = base if base.endswith("/") else base + "/"
    expected = {**FULL_HASHES, **(hashes or {})}
    adapter = _ProgressAdapter(progress) if progress else False
    downloader = pooch.HTTPDownloader(progressbar=adapter, chunk_size=CHUNK, timeout=TIMEOUT_S)
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel("WARNING")  # our progress callback replaces pooch's "Downloading..." lines
    try:
        return _retrieve_all(base, cache_dir, expected, downloader)
    finally:
        logger.setLevel(level)


def _retrieve_all(
    base: str, cache_dir: Path, expected: Mapping[str, str], downloader: Any
) -> dict[str, Path]:
    """pooch.retrieve each training file, turning its failures into DataError."""
    import pooch
    import requests

    paths: dict[str, Path] = {}
    for name in (TRAIN_LABELS, TRAIN_IMAGES):  # the tiny labels file first: the bar ends on 100 %
        url = base + name
        try:
            got = pooch.retrieve(
                url, known_hash=expected[name], fname=name, path=cache_dir, downloader=downloader
            )
        except requests.HTTPError as e:
            status = e.response.status_code if e.response is not None else "?"
            raise DataError(
                f"downloading {url} failed with HTTP {status}; check the address, or set "
                f"{URL_ENV} to another MNIST mirror"
            ) from None
        except requests.RequestException as e:  # connection refused, DNS, timeout, ...
            raise DataError(
                f"could not download {url} ({type(e).__name__}); check the internet connection, "
                f"or set {URL_ENV} to a reachable MNIST mirror"
            ) from None
        except ValueError as e:  # pooch's hash check; it has already deleted the download
            raise DataError(
                f"checksum mismatch for {url}: the file is not the expected MNIST file "
                f"({e}). Nothing was kept; try again, or set {URL_ENV} to another mirror"
            ) from None
        except OSError as e:
            raise DataError(
                f"cannot write {name} to {cache_dir} ({e}); set {CACHE_ENV} to a writable folder"
            ) from None
        paths[name] = Path(got)
    return paths


@lru_cache(maxsize=2)
def _read_full(images: Path, labels: Path, stamp: tuple[int, ...]) -> MnistArrays:
    """Read the cached training files; `stamp` (mtimes, sizes) re-reads them when they change."""
    train_x, train_y = _read_pair(images, labels)
    test = load_embedded()
    return MnistArrays(train_x, train_y, test.test_x, test.test_y)


def load_full(cache_dir: Path | None = None) -> MnistArrays:
    """The full 60,000 training images from the cache plus the embedded official test set."""
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    images, labels = cache_dir / TRAIN_IMAGES, cache_dir / TRAIN_LABELS
    missing = [p.name for p in (images, labels) if not p.is_file()]
    if missing:
        raise DataError(
            f"the full MNIST training set is not downloaded ({', '.join(missing)} missing from "
            f"{cache_dir}); {DOWNLOAD_ADVICE}"
        )
    stats = (images.stat(), labels.stat())
    stamp = tuple(v for s in stats for v in (s.st_mtime_ns, s.st_size))
    return _read_full(images, labels, stamp)
