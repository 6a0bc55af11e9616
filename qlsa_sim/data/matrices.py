"""Matrix files given on the command line (``estimate --matrix``, ``validate --matrix``): ``.npy``, loaded
without pickle, checked for shape and dtype, errors naming the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qlsa_sim.errors import InputError


def load_matrix(path: str | Path) -> np.ndarray:
    """A real square matrix from ``.npy`` (no pickle; InputError naming the file otherwise)."""
    p = Path(path)
    try:
        arr = np.load(p, allow_pickle=False)
    except FileNotFoundError:
        raise InputError(f"matrix file not found: {p}") from None
    except (OSError, ValueError, EOFError) as exc:
        raise InputError(f"cannot read matrix file {p}: {exc}") from None
    if not isinstance(arr, np.ndarray):
        raise InputError(f"matrix file {p} does not hold a single array (.npz is not supported)")
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] < 1:
        raise InputError(f"matrix file {p}: a non-empty square 2-D array is needed, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise InputError(f"matrix file {p}: a real matrix is needed, got dtype {arr.dtype}")
    return arr
