"""Reader for the IDX format of MNIST and Fashion-MNIST (LeCun et al., http://yann.lecun.com/exdb/mnist/).

An IDX file is: two zero bytes, a type code (0x08 unsigned byte, 0x09 signed byte, 0x0B int16,
0x0C int32, 0x0D float32, 0x0E float64), the number of dimensions, then each dimension as a
big-endian uint32, then the data in big-endian order. Files may be gzipped.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from qlsa_sim.errors import DataError

_DTYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
           0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (raw or ``.gz``) into a native-endian numpy array."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (OSError, EOFError) as e:
        raise DataError(f"{path}: cannot read ({e})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataError(f"{path}: not an IDX file (bad magic number)")
    code, ndim = raw[2], raw[3]
    if code not in _DTYPES:
        raise DataError(f"{path}: unknown IDX type code 0x{code:02x}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = _DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DataError(f"{path}: IDX payload has {len(raw) - header} bytes, header {shape} "
                        f"of {dtype} needs {expected} (truncated or corrupt)")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


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
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DataError(f"{img} / {lab}: shapes {images.shape} and {labels.shape} do not form a data set")
    return images, labels
