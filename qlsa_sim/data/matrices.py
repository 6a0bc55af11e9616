"""Matrix and vector files given on the command line (``estimate --matrix``, ``validate --matrix``, ``validate
--rhs``): ``.npy``, loaded without pickle. The header (dtype, shape) is read and checked first, with the size
limits and the memory guard (``core/resources.py``), before any data is read; then the file's length must match
the header and every entry must be finite. Errors name the flag and the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qlsa_sim.core.bounded import format_bytes, regular_file_size
from qlsa_sim.core.resources import check_memory
from qlsa_sim.errors import InputError

#: Working copies a command makes of a loaded matrix (eigendecompositions, features), for the memory guard.
WORKING_COPIES = 6


def npy_header(path: str | Path, what: str) -> tuple[tuple[int, ...], np.dtype, int]:
    """``(shape, dtype, data offset)`` of a ``.npy`` file, read from its header alone (InputError naming
    ``what`` and the file for an empty, non-regular or non-``.npy`` file, or an object dtype)."""
    p = Path(path)
    size = regular_file_size(p, what)
    if size == 0:
        raise InputError(f"{what} {p}: empty file (0 bytes)")
    fmt = np.lib.format
    try:
        with open(p, "rb") as f:
            version = fmt.read_magic(f)
            if version == (1, 0):
                shape, _, dtype = fmt.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, _, dtype = fmt.read_array_header_2_0(f)
            else:
                shape, _, dtype = fmt._read_array_header(f, version)
            offset = f.tell()
    except (ValueError, OSError, EOFError, SyntaxError) as e:
        raise InputError(f"{what} {p}: not a .npy array file ({' '.join(str(e).split())[:120]})") from None
    if dtype.hasobject:
        raise InputError(f"{what} {p}: holds Python objects (dtype {dtype}); only numeric arrays are read")
    need = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if size != offset + need:
        raise InputError(f"{what} {p}: {size - offset} bytes of data, its header {tuple(shape)} {dtype} needs {need} "
                         "(truncated or corrupt)")
    return tuple(int(s) for s in shape), dtype, offset


def _load_checked(p: Path, what: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    if dtype.kind not in "iuf":
        raise InputError(f"{what} {p}: a real numeric array is needed, got dtype {dtype}")
    try:
        arr = np.load(p, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise InputError(f"{what} {p}: cannot read ({' '.join(str(exc).split())[:120]})") from None
    arr = np.asarray(arr, dtype=np.float64 if dtype.kind != "f" or dtype.itemsize > 8 else arr.dtype)
    if not np.isfinite(arr).all():
        raise InputError(f"{what} {p}: contains NaN or Inf")
    return arr


def load_matrix(path: str | Path, *, what: str = "--matrix", max_n: int | None = None,
                limit_what: str = "") -> np.ndarray:
    """A finite, real, non-empty square matrix from ``.npy`` (no pickle); ``max_n`` refuses larger ones before
    reading (``limit_what`` says why), and the memory guard refuses one whose working copies would not fit."""
    p = Path(path)
    shape, dtype, _ = npy_header(p, what)
    if len(shape) != 2 or shape[0] != shape[1] or shape[0] < 1:
        raise InputError(f"{what} {p}: a non-empty square 2-D array is needed, got shape {shape}")
    n = shape[0]
    if max_n is not None and n > max_n:
        raise InputError(f"{what} {p}: n = {n}, more than the {max_n} {limit_what or 'allowed'}")
    check_memory(WORKING_COPIES * 8.0 * n * n, f"{what} {p} (n = {n}, {format_bytes(8.0 * n * n)} as float64)")
    return _load_checked(p, what, shape, dtype)


def load_vector(path: str | Path, n: int, *, what: str = "--rhs") -> np.ndarray:
    """A finite, real, non-zero vector of length ``n`` from ``.npy`` (no pickle)."""
    p = Path(path)
    shape, dtype, _ = npy_header(p, what)
    if shape != (n,):
        raise InputError(f"{what} {p}: a vector of length {n} (the matrix's n) is needed, got shape {shape}")
    v = _load_checked(p, what, shape, dtype)
    if not np.any(v):
        raise InputError(f"{what} {p}: the right-hand side is zero")
    return v
