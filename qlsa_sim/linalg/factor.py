"""A block stored as a factor, ``A = scale * M M^T + eps I`` (M is n x r, r < n), handled without the n x n matrix.

A GGN or empirical-Fisher block of a batch of B samples and K outputs is ``M M^T / B`` with r = B K columns
(``curvature/mlp_ggn.py``); at paper scale (n = 12560, r = 1280) the dense block costs 4e11 flops and 1.3 GB to
form, the factor 64 MB to read. Everything the scheduler needs comes from one pass over M:

- the Gram matrix ``G = M^T M`` (r x r, float64): the nonzero eigenvalues of ``M M^T`` are those of G
  (Golub & Van Loan, Matrix Computations, 4th ed., Sec. 8.6.1, via the SVD of M), ``||M M^T||_F = ||G||_F``
  and ``||M||_F^2 = tr G``; it is also most of a Woodbury solve (``linalg/solvers.woodbury_solve`` takes it);
- the squared row norms ``||M_i||^2``: the diagonal of ``M M^T``. For a PSD matrix ``|H_ij| <= sqrt(H_ii H_jj)``
  (Horn & Johnson, Matrix Analysis, 2nd ed., Sec. 7.1), so ``max|A_ij|`` is the largest diagonal entry, and a
  zero row of M is a zero row (and column) of H;
- the support pattern of M, bit-packed: ``H_ij = scale <M_i, M_j>`` is non-zero only where the supports of rows
  i and j meet, and is then non-zero unless its terms cancel exactly.

Density: the zero rows and the diagonal are counted exactly; the off-diagonal entries among the non-zero rows
are estimated from ``samples`` uniform random (seeded, so repeatable) pairs, with Hoeffding's bound
(Hoeffding 1963, J. Amer. Statist. Assoc. 58:13-30, Thm 1): the fraction is within
``sqrt(ln(2/delta) / (2 samples))`` of the truth with probability >= 1 - delta.

The products run over row chunks converted to float64 one at a time (a float64 copy of M would be another
128 MB, and numpy's huge-page advice makes fresh large copies slow here: ``linalg/alloc.py``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qlsa_sim.errors import InputError

CHUNK_ELEMS = 1 << 21          # float64 elements per row chunk (16 MB)
SUB_ROWS = 128                 # rows per sub-block of the features' extra work in the pass
DENSITY_DELTA = 1e-6           # the density bound holds with probability >= 1 - DENSITY_DELTA
DENSITY_SAMPLES = 1 << 16      # default number of sampled off-diagonal pairs
PAIR_CHUNK = 1024              # sampled pairs whose supports are intersected at a time
MAX_ROW_CANDIDATES = 4         # rows whose non-zeros are counted exactly (the lower bound of max nnz per row)


def _as_factor(M: Any) -> np.ndarray:
    if hasattr(M, "detach") and hasattr(M, "numpy"):
        M = M.detach().cpu().numpy()
    M = np.asarray(M)
    if M.ndim != 2 or M.shape[0] == 0 or M.shape[1] == 0:
        raise InputError(f"factor must be a non-empty 2-D array, got shape {M.shape}")
    if not np.issubdtype(M.dtype, np.floating):
        raise InputError(f"factor must be floating point, got dtype {M.dtype}")
    return M


def _row_dots(x: np.ndarray, y: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Row-wise dot products ``<x_i, y_i>``: ``np.vecdot`` (numpy >= 2.0; 1.8x faster than einsum here, measured on
    128 x 1280 float64 sub-blocks), ``einsum`` before."""
    if hasattr(np, "vecdot"):
        return np.vecdot(x, y, out=out)
    return np.einsum("ij,ij->i", x, y, out=out)


def _chunks(n: int, r: int):
    step = max(1, CHUNK_ELEMS // max(1, r))
    for i in range(0, n, step):
        yield i, min(n, i + step)


@dataclass(frozen=True, eq=False)
class FactorSummary:
    """What one pass over the factor M gives: the Gram matrix ``M^T M`` (float64), the squared row norms, the
    bit-packed support (one row of uint64 words per row of M; None if not asked for), and the MEASURED seconds of
    the pass; ``gram_seconds`` is its part that a Woodbury solve spends anyway (converting M and the Gram)."""

    n: int
    r: int
    gram: np.ndarray = field(repr=False)
    row_sq: np.ndarray = field(repr=False)
    support: np.ndarray | None = field(repr=False)
    seconds: float
    gram_seconds: float

    @property
    def nonzero_rows(self) -> np.ndarray:
        """Indices of the rows of M that are not all zero."""
        return np.flatnonzero(self.row_sq > 0)

    def support_sizes(self) -> np.ndarray:
        """Non-zeros in each row of M (from the packed support)."""
        if self.support is None:
            raise InputError("the factor summary was taken without the support")
        if hasattr(np, "bitwise_count"):
            return np.bitwise_count(self.support).sum(axis=1, dtype=np.int64)
        return np.unpackbits(self.support.view(np.uint8), axis=1).sum(axis=1, dtype=np.int64)  # numpy < 2.0


def summarize_factor(M: Any, *, support: bool = True, name: str = "factor") -> FactorSummary:
    """One pass over ``M`` in float64 row chunks: Gram matrix and, with ``support`` (the features), the squared row
    norms and the packed support (without: the Gram alone, for a Woodbury solve; ``row_sq`` is then empty).
    InputError if M holds NaN or Inf (they reach the Gram's diagonal)."""
    t0 = time.perf_counter()
    M = _as_factor(M)
    n, r = M.shape
    G = np.zeros((r, r))
    row_sq = np.empty(n if support else 0)
    packed = np.zeros((n, (r + 63) // 64 * 8), dtype=np.uint8) if support else None
    buf = np.empty((min(n, max(1, CHUNK_ELEMS // r)), r))
    t_extra = 0.0
    for i, j in _chunks(n, r):
        C = buf[: j - i]
        if packed is None:
            np.copyto(C, M[i:j], casting="unsafe")
        else:  # row norms and support of each sub-block while it is in cache (saves a pass over the chunk)
            for a in range(i, j, SUB_ROWS):
                b = min(j, a + SUB_ROWS)
                c = C[a - i: b - i]
                np.copyto(c, M[a:b], casting="unsafe")
                te = time.perf_counter()
                _row_dots(c, c, out=row_sq[a:b])
                packed[a:b, : (r + 7) // 8] = np.packbits(M[a:b] != 0, axis=1)
                t_extra += time.perf_counter() - te
        G += C.T @ C
    if not np.isfinite(np.diagonal(G)).all():
        raise InputError(f"{name}: contains NaN or Inf (or entries whose squares overflow)")
    G += G.T   # C^T C is symmetric up to rounding: make it exactly so
    G *= 0.5
    secs = time.perf_counter() - t0
    return FactorSummary(n, r, G, row_sq, packed.view(np.uint64) if packed is not None else None, secs,
                         secs - t_extra)


def factor_matvec(M: Any, x: np.ndarray) -> np.ndarray:
    """``M x`` in float64 (x of length r, or r x k), M converted chunk by chunk."""
    M = _as_factor(M)
    if M.dtype == np.float64:
        return M @ x
    out = np.empty((M.shape[0],) + x.shape[1:])
    for i, j in _chunks(*M.shape):
        out[i:j] = M[i:j].astype(np.float64) @ x
    return out


def factor_rmatvec(M: Any, y: np.ndarray) -> np.ndarray:
    """``M^T y`` in float64 (y of length n, or n x k), M converted chunk by chunk."""
    M = _as_factor(M)
    if M.dtype == np.float64:
        return M.T @ y
    out = np.zeros((M.shape[1],) + y.shape[1:])
    for i, j in _chunks(*M.shape):
        out += M[i:j].astype(np.float64).T @ y[i:j]
    return out


def hoeffding_halfwidth(samples: int, delta: float = DENSITY_DELTA) -> float:
    """Half-width t with P(|mean - p| >= t) <= delta for ``samples`` i.i.d. draws in [0, 1] (Hoeffding 1963)."""
    if samples < 1:
        raise InputError(f"need at least one sample, got {samples}")
    return math.sqrt(math.log(2.0 / delta) / (2.0 * samples))


@dataclass(frozen=True)
class FactorSparsity:
    """Non-zeros of ``A = scale M M^T + eps I`` (entries with |A_ij| > tol): ``nnz`` (zero rows and diagonal exact,
    off-diagonal sampled), ``nnz_error`` (half-width of the Hoeffding interval on nnz, probability >= 1 - delta),
    ``max_nnz_per_row`` (an upper bound, exact where ``max_nnz_per_row_lower`` equals it; the lower bound counts
    the rows of M with the largest supports exactly), ``samples``."""

    nnz: float
    nnz_error: float
    max_nnz_per_row: int
    max_nnz_per_row_lower: int
    samples: int
    delta: float


def _pair_nonzero(M: np.ndarray, s: FactorSummary, i: np.ndarray, j: np.ndarray, scale: float, tol: float
                  ) -> np.ndarray:
    """Whether ``A_ij`` (i != j) is non-zero (|A_ij| > tol): support overlap for tol = 0, else the value."""
    out = np.empty(len(i), dtype=bool)
    if tol == 0.0 and s.support is not None:
        for a in range(0, len(i), PAIR_CHUNK):  # in cache-sized pieces: 15% faster than all pairs at once
            w = s.support[i[a:a + PAIR_CHUNK]]
            w &= s.support[j[a:a + PAIR_CHUNK]]
            out[a:a + PAIR_CHUNK] = w.any(axis=1)
        return out
    step = max(1, CHUNK_ELEMS // s.r)
    for a in range(0, len(i), step):
        b = a + step
        v = _row_dots(M[i[a:b]].astype(np.float64), M[j[a:b]].astype(np.float64))
        out[a:b] = np.abs(scale * v) > tol
    return out


def _row_counts(M: np.ndarray, s: FactorSummary, rows: np.ndarray, scale: float, eps: float, tol: float
                ) -> list[int]:
    """Exact non-zeros of the given rows of A (support overlap for tol = 0, else values)."""
    out = []
    for i in rows:
        if tol == 0.0 and s.support is not None:
            hit = (s.support & s.support[i]).any(axis=1)
        else:
            hit = np.abs(scale * factor_matvec(M, M[i].astype(np.float64))) > tol
        hit[i] = (scale * s.row_sq[i] + eps) > tol
        out.append(int(hit.sum()))
    return out


def factor_sparsity(M: Any, s: FactorSummary, scale: float, eps: float, tol: float, *,
                    samples: int = DENSITY_SAMPLES, delta: float = DENSITY_DELTA, seed: int = 0) -> FactorSparsity:
    """Non-zeros of ``scale M M^T + eps I`` at threshold ``tol`` from the factor (module docstring)."""
    M = _as_factor(M)
    diag = scale * s.row_sq
    nz = s.nonzero_rows
    m = len(nz)
    exact = float(np.count_nonzero(diag + eps > tol))  # the diagonal (zero rows: eps alone)
    pairs = m * (m - 1)                                # ordered off-diagonal pairs among non-zero rows
    if samples < 1:
        raise InputError(f"density needs at least one sampled pair, got {samples}")
    if pairs == 0:
        p, err, k = 0.0, 0.0, 0
    else:
        rng = np.random.default_rng(seed)
        a = rng.integers(0, m, samples)
        b = (a + 1 + rng.integers(0, m - 1, samples)) % m   # uniform over the other m - 1 rows
        p = float(_pair_nonzero(M, s, nz[a], nz[b], scale, tol).mean())
        err, k = hoeffding_halfwidth(samples, delta) * pairs, samples
    # upper bound per row: |A_ij| <= sqrt(H_ii H_jj) (PSD), so row i can only hit rows j with H_ii H_jj > tol^2
    hmax = float(diag.max()) if len(diag) else 0.0
    if tol == 0.0:
        upper = max(m, int(eps > 0))
    else:
        upper = min(s.n, int(np.count_nonzero(diag * hmax > tol * tol)) + 1)
    cand = np.argsort(s.row_sq if s.support is None else s.support_sizes(), kind="stable")[-MAX_ROW_CANDIDATES:]
    lower = max(_row_counts(M, s, cand, scale, eps, tol))
    return FactorSparsity(nnz=exact + p * pairs, nnz_error=err, max_nnz_per_row=max(upper, lower),
                          max_nnz_per_row_lower=lower, samples=k, delta=delta)



def dense_from_factor(M: Any, scale: float, eps: float, *, rows: int = 1024, mirror: bool = True) -> np.ndarray:
    """``A = scale M M^T + eps I`` as a dense float64 n x n array, for a solver that needs it. Row blocks of the lower
    triangle by GEMM in M's own precision (as a trace reader rebuilds ``scale * M @ M.T``; a float32 factor has no
    more digits to give), mirrored into the upper one (exactly symmetric; half the flops of ``M @ M.T``), in memory
    allocated without numpy's huge-page advice (``linalg/alloc.py``). ``mirror=False`` leaves the upper triangle
    (outside the diagonal blocks) zero, for a Cholesky solve, which reads the lower one only. About 3.5 s at
    n = 12560, r = 1280 (float32; 0.7 s of it the mirror) where ``scale * (M @ M.T)`` and then a float64
    ``H + eps I`` took 23 s (measured here, 1 thread, a loaded machine)."""
    from qlsa_sim.linalg.alloc import no_hugepage_advice

    M = _as_factor(M)
    n = M.shape[0]
    dt = M.dtype if M.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    Mc = np.ascontiguousarray(M, dtype=dt)
    with no_hugepage_advice():
        A = np.zeros((n, n))
    for i in range(0, n, rows):
        j = min(n, i + rows)
        B = Mc[i:j] @ Mc[:j].T
        B *= dt.type(scale)
        A[i:j, :j] = B
    A.flat[:: n + 1] += eps
    if mirror:
        mirror_lower(A, rows=rows)
    return A


def mirror_lower(A: np.ndarray, *, rows: int = 1024) -> np.ndarray:
    """Copy the strict lower triangle of square ``A`` onto its upper one, in place; returns A."""
    n = A.shape[0]
    for i in range(0, n, rows):
        j = min(n, i + rows)
        A[i:j, j:] = A[j:, i:j].T
        blk = A[i:j, i:j]
        iu = np.triu_indices(j - i, 1)
        blk[iu] = blk.T[iu]
    return A
