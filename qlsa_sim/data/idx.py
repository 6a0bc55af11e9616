"""Reader for the IDX format of MNIST and Fashion-MNIST (LeCun et al., http://yann.lecun.com/exdb/mnist/).

An IDX file is: two zero bytes, a type code (0x08 unsigned byte, 0x09 signed byte, 0x0B int16,
0x0C int32, 0x0D float32, 0x0E float64), the number of dimensions, then each dimension as a
big-endian uint32, then the data in big-endian order. Files may be gzipped.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from qlsa_sim.core.bounded import format_bytes, read_exactly, regular_file_size
from qlsa_sim.core.resources import check_memory
from qlsa_sim.errors import DataError

_DTYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
           0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
#: The largest IDX payload read (Fashion-MNIST's training images take 47 MB).
MAX_IDX_BYTES = 1 << 31
MAX_IDX_DIMS = 8


def _read_header(f, path: Path) -> tuple[np.dtype, tuple[int, ...], int]:
    """``(dtype, shape, header bytes)`` from the start of an (uncompressed) IDX stream."""
    head = f.read(4)
    if len(head) < 4 or head[0] != 0 or head[1] != 0:
        raise DataError(f"{path}: not an IDX file (bad magic number)")
    code, ndim = head[2], head[3]
    if code not in _DTYPES:
        raise DataError(f"{path}: unknown IDX type code 0x{code:02x}")
    if not 1 <= ndim <= MAX_IDX_DIMS:
        raise DataError(f"{path}: IDX header declares {ndim} dimensions; 1 to {MAX_IDX_DIMS} are read")
    dims = f.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise DataError(f"{path}: truncated IDX header")
    return _DTYPES[code], tuple(struct.unpack(f">{ndim}I", dims)), 4 + 4 * ndim


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (raw or ``.gz``) into a native-endian numpy array.

    The header is read first and its size (exact integers) held against :data:`MAX_IDX_BYTES` and the memory
    guard before any data is read; a gzipped file is decompressed only as far as the header implies (plus
    one byte, to catch trailing data), so a decompression bomb is refused, not unpacked."""
    path = Path(path)
    size = regular_file_size(path, "IDX file", error=DataError)
    try:
        with open(path, "rb") as raw:
            gz = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            f = gzip.GzipFile(fileobj=raw) if gz else raw
            dtype, shape, header = _read_header(f, path)
            need = int(np.prod(shape, dtype=object)) * dtype.itemsize
            if need > MAX_IDX_BYTES:
                raise DataError(f"{path}: IDX header declares {shape} of {dtype.name} = {format_bytes(need)}, more "
                                f"than the {format_bytes(MAX_IDX_BYTES)} read")
            if not gz and size - header != need:
                raise DataError(f"{path}: IDX payload has {size - header} bytes, header {shape} of {dtype.name} needs "
                                f"{need} (truncated or corrupt)")
            check_memory(need + 12.0 * need / dtype.itemsize, f"IDX file {path} ({shape} of {dtype.name})")
            data = read_exactly(f, need, f"{path}: IDX payload", DataError)
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{path}: cannot read ({e})") from None
    return np.frombuffer(data, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path: str | Path, array: np.ndarray, *, gz: bool | None = None) -> Path:
    """Write an array as IDX (used by tests to make small files; ``gz`` defaults to the suffix)."""
    path = Path(path)
    array = np.asarray(array)
    code = {v.newbyteorder("="): k for k, v in _DTYPES.items()}[array.dtype.newbyteorder("=")]
    data = (bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
            + array.astype(array.dtype.newbyteorder(">")).tobytes())
    if gz if gz is not None else path.suffix == ".gz":
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


MAX_LABEL = 255
_SPLIT_STEMS = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
                "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def _find(directory: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (directory / name).is_file():
            return directory / name
    return None


def load_idx_split(directory: str | Path, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Images (N, rows, cols) uint8 and labels (N,) of an MNIST-format directory."""
    directory = Path(directory)
    if split not in _SPLIT_STEMS:
        raise DataError(f"unknown split {split!r}; known: train, test")
    img_stem, lab_stem = _SPLIT_STEMS[split]
    img, lab = _find(directory, img_stem), _find(directory, lab_stem)
    if img is None or lab is None:
        missing = [s for s, p in ((img_stem, img), (lab_stem, lab)) if p is None]
        raise DataError(f"{directory}: no {' / '.join(missing)}[.gz] (MNIST-format IDX files expected)")
    images, labels = read_idx(img), read_idx(lab)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels) or len(labels) == 0:
        raise DataError(f"{img} / {lab}: shapes {images.shape} and {labels.shape} do not form a data set")
    if images.dtype.kind == "f" and not np.isfinite(images).all():
        raise DataError(f"{img}: images contain NaN or Inf")
    if labels.dtype.kind not in "iu":
        raise DataError(f"{lab}: labels must be integers, got IDX type {labels.dtype}")
    if labels.min() < 0 or labels.max() > MAX_LABEL:
        raise DataError(f"{lab}: labels must be class indices in [0, {MAX_LABEL}], got {int(labels.min())} to "
                        f"{int(labels.max())}")
    return images, labels
