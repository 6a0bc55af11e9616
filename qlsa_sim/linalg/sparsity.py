"""Density and p%-sparsity of (curvature) matrices.

- density d: fraction of entries with |H_ij| > tol. The QLSA cost of the paper (Eq. 4) scales
  with the row sparsity s = d * n of the block encoding.
- p%-sparsity (Q-Newton paper, arXiv:2405.00252, Fig. 3): per row, the fewest entries whose
  absolute values reach p% of the row's absolute sum. Computed by sorting each row's |.| in
  descending order and counting how many leading terms of the cumulative sum are needed; an
  all-zero row needs 0 entries. (The seed code computes the same count per row in
  ``_compute_bacthed_vector_cum_percent_numel``.)

Dense inputs are processed in row chunks so no full-size temporary is made.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse

from qlsa_sim.errors import InputError

_CHUNK_ELEMS = 1 << 22  # ~4M entries (32 MB in float64) per chunk


def _matrix(H: Any) -> Any:
    if scipy.sparse.issparse(H):
        if len(H.shape) != 2:
            raise InputError(f"expected a 2-D matrix, got shape {H.shape}")
        return H.tocsr()
    if hasattr(H, "detach") and hasattr(H, "numpy"):
        H = H.detach().cpu().numpy()
    H = np.asarray(H)
    if H.ndim != 2 or H.size == 0:
        raise InputError(f"expected a non-empty 2-D matrix, got shape {H.shape}")
    if not np.issubdtype(H.dtype, np.number):
        raise InputError(f"expected a numeric matrix, got dtype {H.dtype}")
    return H


def _check_tol(tol: float) -> None:
    if not (np.isfinite(tol) and tol >= 0):
        raise InputError(f"tolerance must be finite and >= 0, got {tol}")


def _row_chunks(n_rows: int, n_cols: int):
    step = max(1, _CHUNK_ELEMS // max(1, n_cols))
    for i in range(0, n_rows, step):
        yield slice(i, min(i + step, n_rows))


def nnz_per_row(H: Any, tol: float = 0.0) -> np.ndarray:
    """Number of entries with |H_ij| > tol in each row (int64 array of length n_rows)."""
    _check_tol(tol)
    H = _matrix(H)
    if scipy.sparse.issparse(H):
        data = np.abs(H.data) > tol
        rows = np.repeat(np.arange(H.shape[0]), np.diff(H.indptr))
        return np.bincount(rows[data], minlength=H.shape[0]).astype(np.int64)
    out = np.empty(H.shape[0], dtype=np.int64)
    for r in _row_chunks(*H.shape):
        c = H[r]
        if np.isnan(c).any():
            raise InputError("matrix contains NaN")
        out[r] = np.count_nonzero(c, axis=1) if tol == 0 else np.count_nonzero(np.abs(c) > tol, axis=1)
    return out


def density(H: Any, tol: float = 0.0) -> float:
    """Fraction of entries with |H_ij| > tol."""
    H = _matrix(H)
    return float(nnz_per_row(H, tol).sum()) / float(H.shape[0] * H.shape[1])


def p_sparsity_multi(H: Any, ps: Sequence[float]) -> dict[float, np.ndarray]:
    """p%-sparsity per row for several p at once (one sort of each row).

    For each p in ``ps`` (0 < p <= 100): the fewest entries of each row whose |.| sum to at
    least p% of the row's absolute sum (0 for an all-zero row).
    """
    ps = [float(p) for p in ps]
    if not ps:
        raise InputError("need at least one percentage p")
    for p in ps:
        if not 0 < p <= 100:
            raise InputError(f"p must be in (0, 100], got {p}")
    H = _matrix(H)
    if scipy.sparse.issparse(H):
        H = H.toarray()
    out = {p: np.empty(H.shape[0], dtype=np.int64) for p in ps}
    for r in _row_chunks(*H.shape):
        a = np.abs(H[r]).astype(np.float64, copy=False)
        if not np.isfinite(a).all():
            raise InputError("matrix contains NaN or Inf")
        a = np.sort(a, axis=1)[:, ::-1]
        cs = np.cumsum(a, axis=1)
        total = cs[:, -1:]                      # same arithmetic as the cumulative sum
        zero = total[:, 0] == 0
        for p in ps:
            thr = (p / 100.0) * total
            # cs is non-decreasing: #entries with cs < thr, plus the one that reaches it
            cnt = np.count_nonzero(cs < thr, axis=1) + 1
            cnt = np.minimum(cnt, H.shape[1])
            cnt[zero] = 0
            out[p][r] = cnt
    return out


def p_sparsity(H: Any, p: float) -> np.ndarray:
    """Per row: the fewest entries whose |.| reach p% of the row's absolute sum (paper Fig. 3)."""
    return p_sparsity_multi(H, [p])[float(p)]


def p_sparsity_summary(H: Any, ps: Sequence[float] = (50, 75, 90, 95)) -> dict[float, dict[str, float]]:
    """Distribution of p%-sparsity over rows: min, quartiles, mean, max, as counts and fractions of n."""
    H = _matrix(H)
    ncols = H.shape[1]
    res = {}
    for p, cnt in p_sparsity_multi(H, ps).items():
        q = np.percentile(cnt, [0, 25, 50, 75, 100])
        res[p] = {"min": float(q[0]), "q1": float(q[1]), "median": float(q[2]), "q3": float(q[3]),
                  "max": float(q[4]), "mean": float(cnt.mean()), "mean_fraction": float(cnt.mean() / ncols),
                  "median_fraction": float(q[2] / ncols)}
    return res
