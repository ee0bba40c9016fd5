"""A reader for the IDX format of MNIST (http://yann.lecun.com/exdb/mnist/), gzip or raw.

Layout: two zero bytes, a dtype code, the number of dimensions d, then d big-endian uint32 sizes,
then the values in C order, big-endian. One reader serves the embedded subset and the full
download, and it checks everything it can, because a truncated download otherwise surfaces much
later as a confusing reshape error.
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from engine.data.errors import DataError

# IDX dtype code -> numpy dtype (big-endian on disk)
DTYPES: dict[int, np.dtype[Any]] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
GZIP_MAGIC = b"\x1f\x8b"
_ADVICE = "delete it and download it again"


def _fail(path: Path, problem: str) -> DataError:
    return DataError(f"{path}: {problem}; {_ADVICE}")


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when it starts with the gzip magic (whatever its name)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found; check the path or download it") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read the file ({e.strerror})") from None
    if raw[:2] != GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:  # BadGzipFile is an OSError; truncation: EOF
        raise _fail(path, f"not a valid gzip file ({e})") from None


def read_idx(path: str | Path) -> np.ndarray[Any, Any]:
    """Read an IDX file (gzip or raw) into a read-only array of its shape, native byte order.

    Raises DataError naming the file for a bad magic number, an unknown dtype code, a header
    shorter than its dimension count, or a payload whose size does not match the header.
    """
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise _fail(path, f"only {len(data)} bytes, too short for an IDX header")
    if data[:2] != b"\x00\x00":
        magic = int.from_bytes(data[:4], "big")
        raise _fail(path, f"bad magic number 0x{magic:08x}: not an IDX file (expected 0x0000TTDD)")
    code, ndim = data[2], data[3]
    if code not in DTYPES:
        known = ", ".join(f"0x{c:02x}" for c in DTYPES)
        raise _fail(path, f"unknown IDX dtype code 0x{code:02x} (known: {known})")
    if ndim == 0:
        raise _fail(path, "the header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise _fail(
            path, f"header declares {ndim} dimensions but the file ends at {len(data)} bytes"
        )
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = DTYPES[code]
    expected = math.prod(shape) * dtype.itemsize
    actual = len(data) - header
    if actual != expected:
        what = "truncated" if actual < expected else "has trailing bytes"
        raise _fail(
            path,
            f"payload is {actual} bytes but the header (shape {shape}, {dtype.name}) needs "
            f"{expected}: the file {what}",
        )
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    if dtype.byteorder == ">":
        arr = arr.astype(dtype.newbyteorder("="))  # native order, so torch can take it
    arr.flags.writeable = False  # callers share it (caches); copy before changing
    return arr
