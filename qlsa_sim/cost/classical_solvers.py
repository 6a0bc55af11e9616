"""MODELED flop counts of the classical block solvers (the lead calibrates seconds per flop).

Every number returned here is modeled (a textbook operation count), not measured. A flop is one
floating-point addition or multiplication (Golub & Van Loan, Matrix Computations, 4th ed.,
Sec. 1.1.15). Lower-order terms that matter at small n are kept.

- Cholesky solve: n^3/3 (factor, GVL Alg. 4.2.2) + 2 n^2 (two triangular solves, GVL Sec. 3.1.2).
- LU solve (paper Eq. 3's solver): 2n^3/3 (GVL Sec. 3.4, partial pivoting) + 2 n^2.
- Conjugate gradient: k = ceil(0.5 sqrt(kappa) ln(2/rtol)) iterations to reduce the A-norm error
  by rtol (Shewchuk 1994, "An Introduction to the Conjugate Gradient Method Without the
  Agonizing Pain", Sec. 10; from Saad, Iterative Methods for Sparse Linear Systems, 2nd ed.,
  Thm 6.29: ||e_k||_A <= 2 ((sqrt kappa - 1)/(sqrt kappa + 1))^k ||e_0||_A). Each iteration is
  one matvec (2 nnz flops) + 2 dot products (4n) + 3 axpys (6n) = 2 nnz + 10 n.
  In exact arithmetic CG also ends after at most (number of distinct eigenvalues) steps, e.g.
  rank + 1 for H = M M^T/B + eps I; pass ``max_iterations`` to cap by that.
  On a block stored as a factor (H = scale M M^T + eps I, M n x r) CG runs matrix-free: each matvec is
  scale M (M^T v) + eps v = 4nr + 3n flops, and the n x n matrix is never built.
- Woodbury (factored block, M n x r): Gram M^T M r^2 n (symmetric rank-r update, GVL Sec. 1.1.14)
  unless given, Cholesky r^3/3 + 2r^2, M^T g and M y 4nr, final axpy 2n.

Memory traffic (for the roofline term of ``cost/models.py``; Williams, Waterman & Patterson, "Roofline: an
insightful visual performance model for multicore architectures", CACM 52(4), 2009): the bytes a solver must
stream from memory when its operand does not stay in cache, in float64 (the CG and Woodbury solvers here work
in float64; a float32 factor is converted once). CG streams its operand once per iteration: the dense matrix
(8 n^2 bytes, whatever its sparsity: it is stored dense) or the factor twice (M^T v, then M y: 16 n r).
Woodbury's kernels each pass over the factor once (the Gram) or twice (M^T g, M y), and its r x r Cholesky
works in cache. A solve is a sequence of such kernels (:class:`Phase`), each timed by its own roofline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from qlsa_sim.errors import InputError


def _pos(name: str, v: float) -> float:
    v = float(v)
    if not (math.isfinite(v) and v >= 1):
        raise InputError(f"{name} must be finite and >= 1, got {v}")
    return v


def cholesky_flops(n: float) -> float:
    """Modeled flops of one dense Cholesky solve: n^3/3 + 2n^2."""
    n = _pos("n", n)
    return n ** 3 / 3.0 + 2.0 * n ** 2


def lu_flops(n: float) -> float:
    """Modeled flops of one dense LU solve (partial pivoting): 2n^3/3 + 2n^2."""
    n = _pos("n", n)
    return 2.0 * n ** 3 / 3.0 + 2.0 * n ** 2


def cg_iterations(kappa: float, rtol: float, *, max_iterations: float | None = None) -> float:
    """Modeled CG iterations ceil(0.5 sqrt(kappa) ln(2/rtol)) (Shewchuk 1994, Sec. 10), capped if asked."""
    kappa = _pos("kappa", kappa) if math.isfinite(float(kappa)) else math.inf
    if not 0 < rtol < 1:
        raise InputError(f"rtol must be in (0, 1), got {rtol}")
    k = math.ceil(0.5 * math.sqrt(kappa) * math.log(2.0 / rtol)) if math.isfinite(kappa) else math.inf
    if max_iterations is not None:
        k = min(k, _pos("max_iterations", max_iterations))
    return float(max(k, 1))


def cg_flops(n: float, nnz: float, kappa: float, rtol: float, *, max_iterations: float | None = None,
             factor_rank: float | None = None) -> float:
    """Modeled CG flops: iterations x (2 nnz + 10 n). ``nnz`` = non-zeros of H (n^2 if dense). With
    ``factor_rank`` r (matrix-free on H = scale M M^T + eps I): iterations x (4 n r + 3 n + 10 n)."""
    return sum(p.flops for p in cg_phases(n, nnz, kappa, rtol, max_iterations=max_iterations,
                                          factor_rank=factor_rank))


#: Bytes of one float64 number (what the CG and Woodbury solvers here compute in).
FLOAT64_BYTES = 8.0


@dataclass(frozen=True)
class Phase:
    """One kernel of a solve, for the roofline (MODELED): its flops, the bytes it works on (``working_set``) and the
    bytes it streams from memory if they are not cached (``traffic``)."""

    name: str
    flops: float
    working_set: float
    traffic: float


def cg_phases(n: float, nnz: float, kappa: float, rtol: float, *, factor_rank: float | None = None,
              max_iterations: float | None = None) -> tuple[Phase, ...]:
    """CG as one phase: iterations x (one product + 10 n) flops, its operand (dense 8 n^2 bytes, or the factor
    8 n r) streamed once per iteration (the factor twice: M^T v, then M y)."""
    n = _pos("n", n)
    nnz = float(nnz)
    if not (math.isfinite(nnz) and 0 <= nnz <= n * n):
        raise InputError(f"nnz must be in [0, n^2], got {nnz}")
    k = cg_iterations(kappa, rtol, max_iterations=max_iterations)
    if factor_rank is None:
        return (Phase("iterations", k * (2.0 * nnz + 10.0 * n), FLOAT64_BYTES * n * n, k * FLOAT64_BYTES * n * n),)
    r = _pos("r", factor_rank)
    return (Phase("iterations", k * (factored_matvec_flops(n, r) + 13.0 * n), FLOAT64_BYTES * n * r,
                  k * 2.0 * FLOAT64_BYTES * n * r),)


def woodbury_phases(n: float, r: float, *, gram_given: bool = False) -> tuple[Phase, ...]:
    """Woodbury's kernels (:func:`woodbury_flops` split): the Gram (a GEMM over the factor, unless given), the
    r x r Cholesky solve, and the two products with the factor (M^T g, M y: the factor streamed twice)."""
    n, r = _pos("n", n), _pos("r", r)
    fac = FLOAT64_BYTES * n * r
    gram = () if gram_given else (Phase("gram", n * r * r, fac, fac),)
    return gram + (Phase("cholesky", r ** 3 / 3.0 + 2.0 * r ** 2, FLOAT64_BYTES * r * r, FLOAT64_BYTES * r * r),
                   Phase("apply", 4.0 * n * r + 2.0 * n, fac, 2.0 * fac))


def woodbury_flops(n: float, r: float, *, gram_given: bool = False) -> float:
    """Modeled flops of a Woodbury solve with an n x r factor: n r^2 (Gram) + r^3/3 + 2r^2 + 4nr + 2n."""
    return sum(p.flops for p in woodbury_phases(n, r, gram_given=gram_given))


def factored_matvec_flops(n: float, r: float) -> float:
    """Modeled flops of (M M^T) v with M n x r, without forming the product: 4 n r."""
    return 4.0 * _pos("n", n) * _pos("r", r)
