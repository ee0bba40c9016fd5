"""IDX reader, embedded MNIST, and the full download against a local HTTP server (no internet)."""

from __future__ import annotations

import gzip
import hashlib
import socket
import struct
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from engine.config import DataConfig
from engine.data import DataError, build_dataset, mnist
from engine.data.idx import read_idx

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "mnist"
README_SHA256 = dict(  # as printed in the README: "digest  name"
    line.split()[::-1]
    for line in """
7dd1fc8d250ceb79c460321c7dcfd5cdf4de81552d7a17a36ca3810a00865082  train-5k-images-idx3-ubyte.gz
070bee7a874a690e0d87d865f2d1988c9478633a6a0a0351a0f2e701eadf444e  train-5k-labels-idx1-ubyte.gz
8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6  t10k-images-idx3-ubyte.gz
f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6  t10k-labels-idx1-ubyte.gz
""".strip().splitlines()
)
OFFICIAL_TEST_MD5 = {
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
IDX_CODES = {"u1": 0x08, "i1": 0x09, ">i2": 0x0B, ">i4": 0x0C, ">f4": 0x0D, ">f8": 0x0E}


def idx_bytes(arr: np.ndarray, dtype: str) -> bytes:
    """IDX encoding written independently of the reader: header, then big-endian values."""
    head = bytes([0, 0, IDX_CODES[dtype], arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return head + arr.astype(dtype).tobytes()


def write(path: Path, data: bytes, gz: bool) -> Path:
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


# IDX reader ----------------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [True, False], ids=["gzip", "raw"])
@pytest.mark.parametrize("dtype", list(IDX_CODES))
def test_idx_round_trip(tmp_path: Path, dtype: str, gz: bool) -> None:
    arr = (np.arange(2 * 3 * 4).reshape(2, 3, 4) * 7 - 40).astype(dtype)
    if dtype == "u1":
        arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4) * 10
    got = read_idx(write(tmp_path / "a.idx", idx_bytes(arr, dtype), gz))
    assert got.shape == (2, 3, 4) and got.dtype == np.dtype(dtype).newbyteorder("=")
    np.testing.assert_array_equal(got, arr)
    assert not got.flags.writeable


def test_idx_detects_gzip_by_magic_not_name(tmp_path: Path) -> None:
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    got = read_idx(write(tmp_path / "labels.idx", idx_bytes(labels, "u1"), gz=True))
    np.testing.assert_array_equal(got, labels)
    got = read_idx(write(tmp_path / "labels.gz", idx_bytes(labels, "u1"), gz=False))
    np.testing.assert_array_equal(got, labels)


GOOD = idx_bytes(np.arange(12, dtype=np.uint8).reshape(3, 4), "u1")


@pytest.mark.parametrize("gz", [True, False], ids=["gzip", "raw"])
@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"\x12\x34" + GOOD[2:], "bad magic number 0x12340802"),
        (GOOD[:-3], "truncated"),
        (GOOD + b"\x00", "trailing bytes"),
        (GOOD[:2] + b"\x07" + GOOD[3:], "unknown IDX dtype code 0x07"),
        (GOOD[:3] + b"\x05" + GOOD[4:12], "declares 5 dimensions"),
        (GOOD[:3] + b"\x00" + GOOD[4:], "0 dimensions"),
        (b"\x00\x00", "too short"),
    ],
    ids=["magic", "truncated", "trailing", "dtype", "header", "ndim0", "short"],
)
def test_idx_corrupt_files_raise_data_error_naming_the_file(
    tmp_path: Path, data: bytes, says: str, gz: bool
) -> None:
    path = write(tmp_path / "broken-idx3-ubyte.gz", data, gz)
    with pytest.raises(DataError, match=says) as info:
        read_idx(path)
    assert str(path) in str(info.value) and "download it again" in str(info.value)


def test_idx_bad_gzip_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gz"
    bad.write_bytes(gzip.compress(GOOD)[:-10])  # gzip stream cut short
    with pytest.raises(DataError, match="not a valid gzip file") as info:
        read_idx(bad)
    assert str(bad) in str(info.value)
    with pytest.raises(DataError, match="not found"):
        read_idx(tmp_path / "nope.gz")


# Embedded MNIST ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(README_SHA256))
def test_asset_files_match_the_readme_checksums(name: str) -> None:
    assert hashlib.sha256((ASSETS / name).read_bytes()).hexdigest() == README_SHA256[name]


@pytest.mark.parametrize("name", list(OFFICIAL_TEST_MD5))
def test_embedded_test_set_is_the_official_file(name: str) -> None:
    assert md5(ASSETS / name) == OFFICIAL_TEST_MD5[name]


def test_load_embedded_shapes_labels_and_balance() -> None:
    m = mnist.load_embedded()
    assert m.train_x.shape == (5000, 28, 28) and m.train_x.dtype == np.uint8
    assert m.test_x.shape == (10000, 28, 28) and m.test_x.dtype == np.uint8
    assert m.train_y.shape == (5000,) and m.test_y.shape == (10000,)
    np.testing.assert_array_equal(np.bincount(m.train_y, minlength=10), [500] * 10)
    official = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]  # MNIST test set counts
    np.testing.assert_array_equal(np.bincount(m.test_y, minlength=10), official)
    assert 0 < m.train_x.mean() < 255 and m.train_x.max() == 255
    assert not any(a.flags.writeable for a in (m.train_x, m.train_y, m.test_x, m.test_y))
    assert mnist.load_embedded() is m  # cached: read once per process


def test_embedded_prefix_is_roughly_balanced() -> None:
    counts = np.bincount(mnist.load_embedded().train_y[:1000], minlength=10)
    assert counts.min() >= 70 and counts.max() <= 130


# Download against a local server -------------------------------------------------------------


@pytest.fixture(autouse=True)
def offline_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxies, and defaults that point nowhere real, so no test can reach the internet."""
    for var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv(mnist.CACHE_ENV, str(tmp_path / "default-cache"))
    monkeypatch.setenv(mnist.URL_ENV, f"http://127.0.0.1:{closed_port()}/")


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SimpleNamespace]:
    """A ThreadingHTTPServer on 127.0.0.1 serving tmp_path/www, counting GET requests."""
    root = tmp_path / "www"
    root.mkdir()
    hits: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

        def do_GET(self) -> None:
            hits.append(self.path)
            super().do_GET()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield SimpleNamespace(root=root, url=f"http://127.0.0.1:{httpd.server_address[1]}/", hits=hits)
    httpd.shutdown()
    httpd.server_close()
    thread.join()


N_FAKE = 300  # small "full" training set: 300 random images (incompressible: several chunks)


@pytest.fixture
def fake_full(server: SimpleNamespace) -> SimpleNamespace:
    """Valid MNIST-shaped training files on the server, and their md5 table."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (N_FAKE, 28, 28), dtype=np.uint8)
    labels = (np.arange(N_FAKE) % 10).astype(np.uint8)
    write(server.root / mnist.TRAIN_IMAGES, idx_bytes(images, "u1"), gz=True)
    write(server.root / mnist.TRAIN_LABELS, idx_bytes(labels, "u1"), gz=True)
    hashes = {n: f"md5:{md5(server.root / n)}" for n in (mnist.TRAIN_IMAGES, mnist.TRAIN_LABELS)}
    size = sum((server.root / n).stat().st_size for n in hashes)
    return SimpleNamespace(images=images, labels=labels, hashes=hashes, size=size)


def cached_files(cache: Path) -> list[Path]:
    return [p for p in cache.rglob("*") if p.is_file()] if cache.exists() else []


def test_download_verifies_reports_progress_and_loads(
    tmp_path: Path, server: SimpleNamespace, fake_full: SimpleNamespace
) -> None:
    cache = tmp_path / "cache"
    calls: list[tuple[int, int]] = []
    paths = mnist.download_full(
        cache, server.url, lambda d, t: calls.append((d, t)), hashes=fake_full.hashes
    )
    assert set(paths) == {mnist.TRAIN_IMAGES, mnist.TRAIN_LABELS}
    assert all(p.parent == cache and p.is_file() for p in paths.values())

    done = [d for d, _ in calls]
    assert len(calls) > 3 and done == sorted(done) and len(set(done)) == len(done)
    assert calls[-1] == (fake_full.size, fake_full.size)  # the bar ends full, over both files
    assert all(0 < d <= t for d, t in calls)

    full = mnist.load_full(cache)
    np.testing.assert_array_equal(full.train_x, fake_full.images)
    np.testing.assert_array_equal(full.train_y, fake_full.labels)
    assert full.test_x is mnist.load_embedded().test_x  # the official test set is embedded

    # (b) A second call finds both files cached and verified: no request reaches the server.
    hits = len(server.hits)
    assert mnist.download_full(cache, server.url, hashes=fake_full.hashes) == paths
    assert len(server.hits) == hits


def test_download_uses_the_environment_defaults(
    tmp_path: Path,
    server: SimpleNamespace,
    fake_full: SimpleNamespace,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(mnist.URL_ENV, server.url.rstrip("/"))  # a missing slash is fine
    monkeypatch.setenv(mnist.CACHE_ENV, str(tmp_path / "env-cache"))
    paths = mnist.download_full(hashes=fake_full.hashes)
    assert paths[mnist.TRAIN_IMAGES] == tmp_path / "env-cache" / "mnist" / mnist.TRAIN_IMAGES
    assert len(mnist.load_full().train_y) == N_FAKE

    cfg = DataConfig(dataset="mnist_full", train_subset=0, val_fraction=0.1, normalize="minmax")
    ds = build_dataset(cfg, seed=0)
    assert (len(ds.train.y), len(ds.val.y), len(ds.test.y)) == (270, 30, 10000)
    assert ds.train.x.shape == (270, 1, 28, 28) and float(ds.train.x.max()) <= 1.0


def test_corrupt_cached_file_is_downloaded_again(
    tmp_path: Path, server: SimpleNamespace, fake_full: SimpleNamespace
) -> None:
    cache = tmp_path / "cache"
    mnist.download_full(cache, server.url, hashes=fake_full.hashes)
    (cache / mnist.TRAIN_LABELS).write_bytes(b"half a file")
    with pytest.raises(DataError, match="delete it") as info:
        mnist.load_full(cache)
    assert mnist.TRAIN_LABELS in str(info.value)
    hits = len(server.hits)
    mnist.download_full(cache, server.url, hashes=fake_full.hashes)
    assert server.hits[hits:] == ["/" + mnist.TRAIN_LABELS]  # only the bad file is fetched
    np.testing.assert_array_equal(mnist.load_full(cache).train_y, fake_full.labels)


def test_checksum_mismatch_raises_and_keeps_nothing(
    tmp_path: Path, server: SimpleNamespace, fake_full: SimpleNamespace
) -> None:
    cache = tmp_path / "cache"
    with pytest.raises(DataError, match="checksum mismatch") as info:
        mnist.download_full(cache, server.url)  # the real MD5 table: our fake files fail it
    assert server.url in str(info.value) and mnist.URL_ENV in str(info.value)
    assert cached_files(cache) == []
    assert len(server.hits) == 1  # pooch retries nothing by default


def test_http_error_raises_with_the_status(tmp_path: Path, server: SimpleNamespace) -> None:
    with pytest.raises(DataError, match="HTTP 404") as info:
        mnist.download_full(tmp_path / "cache", server.url)  # the server has no files
    assert mnist.TRAIN_LABELS in str(info.value)
    assert cached_files(tmp_path / "cache") == []


def test_unreachable_server_raises_data_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/mnist/"
    with pytest.raises(DataError, match="could not download") as info:
        mnist.download_full(tmp_path / "cache", url)
    assert url in str(info.value) and "connection" in str(info.value)
    assert cached_files(tmp_path / "cache") == []


def test_after_a_failed_download_the_embedded_set_still_works(tmp_path: Path) -> None:
    with pytest.raises(DataError):
        mnist.download_full(tmp_path / "cache", f"http://127.0.0.1:{closed_port()}/")
    assert len(mnist.load_embedded().train_y) == 5000
    cfg = DataConfig(dataset="mnist", train_subset=0, val_fraction=0.1, normalize="standard")
    ds = build_dataset(cfg, seed=0)
    assert len(ds.train.y) == 4500
    with pytest.raises(DataError, match="python -m engine data mnist-full"):
        mnist.load_full(tmp_path / "cache")


def test_load_full_on_empty_cache_says_how_to_download(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not downloaded") as info:
        mnist.load_full(tmp_path / "empty")
    assert "Download" in str(info.value) and mnist.TRAIN_IMAGES in str(info.value)
