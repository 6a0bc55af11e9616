"""Classical solvers of one block system H x = g that the scheduler can pick.

- :func:`cholesky_solve`: dense Cholesky (LAPACK potrf/potrs via scipy); n^3/3 flops
  (Golub & Van Loan, Matrix Computations, 4th ed., Alg. 4.2.2).
- :func:`lu_solve`: dense LU with partial pivoting (getrf/getrs); 2n^3/3 flops (GVL Sec. 3.4).
  The paper's classical baseline (Eq. 3).
- :func:`cg_solve`: conjugate gradient (Hestenes & Stiefel 1952) through scipy; iterations grow
  with sqrt(kappa) (Shewchuk 1994, Sec. 10), each one matvec.
- :func:`woodbury_solve`: (scale M M^T + eps I) x = g through the r x r system
  (eps/scale I + M^T M) (Sherman-Morrison-Woodbury; GVL Sec. 2.1.4; Higham, Accuracy and
  Stability, 2nd ed., Sec. 13.1), for blocks stored as a factor (GGN: H = M M^T / B).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import scipy.linalg
import scipy.sparse
import scipy.sparse.linalg

from qlsa_sim.errors import InputError
from qlsa_sim.linalg.alloc import torch_input
from qlsa_sim.linalg.factor import factor_matvec, factor_rmatvec, summarize_factor
from qlsa_sim.linalg.spectrum import _as_array


def _system(H: Any, g: Any) -> tuple[np.ndarray, np.ndarray]:
    A = _as_array(H)
    b = _as_array(g)
    if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] == 0:
        raise InputError(f"expected a non-empty square matrix, got shape {A.shape}")
    if b.ndim not in (1, 2) or b.shape[0] != A.shape[0]:
        raise InputError(f"right-hand side of shape {b.shape} does not match matrix of shape {A.shape}")
    if not np.isfinite(A).all() or not np.isfinite(b).all():
        raise InputError("matrix or right-hand side contains NaN or Inf")
    return A, b


BACKENDS = ("auto", "scipy", "torch")


def _backend(backend: str, n: int) -> str:
    if backend not in BACKENDS:
        raise InputError(f"unknown solver backend {backend!r}; known: {', '.join(BACKENDS)}")
    if backend == "auto":
        # torch's MKL potrf/getrf is ~1.5x faster than scipy's OpenBLAS at n = 12560, 1 thread
        # (measured in bench/bench_kappa.py); scipy has less call overhead for small n
        return "torch" if n >= 256 else "scipy"
    return backend


def _torch_rhs(b: np.ndarray):
    t = torch_input(b)
    return t[:, None] if t.ndim == 1 else t


def cholesky_solve(H: Any, g: Any, *, backend: str = "auto") -> np.ndarray:
    """x = H^-1 g by Cholesky; InputError naming "not positive definite" if the factorization fails.

    ``backend``: "scipy" (LAPACK potrf via scipy), "torch" (MKL via torch.linalg.cholesky_ex) or
    "auto" (torch for n >= 256). Only the lower triangle of H is read.
    """
    A, b = _system(H, g)
    if _backend(backend, A.shape[0]) == "torch":
        import torch

        L, info = torch.linalg.cholesky_ex(torch_input(A))
        if int(info) != 0:
            raise InputError(f"matrix is not positive definite (Cholesky failed at leading minor {int(info)})")
        # two triangular solves (torch.cholesky_solve is ~20x slower here for one right-hand side)
        y = torch.linalg.solve_triangular(L, _torch_rhs(b).to(L.dtype), upper=False)
        x = torch.linalg.solve_triangular(L.mT, y, upper=True).numpy()
        return x[:, 0] if b.ndim == 1 else x
    try:
        c = scipy.linalg.cho_factor(A, lower=True, check_finite=False)
    except np.linalg.LinAlgError as e:
        raise InputError(f"matrix is not positive definite (Cholesky failed: {e})") from None
    return scipy.linalg.cho_solve(c, b, check_finite=False)


def lu_solve(H: Any, g: Any, *, backend: str = "auto") -> np.ndarray:
    """x = H^-1 g by LU with partial pivoting; InputError if H is exactly singular.

    ``backend`` as in :func:`cholesky_solve` (torch: torch.linalg.lu_factor_ex / lu_solve).
    """
    A, b = _system(H, g)
    if _backend(backend, A.shape[0]) == "torch":
        import torch

        LU, piv, info = torch.linalg.lu_factor_ex(torch_input(A))
        if int(info) != 0:
            raise InputError(f"matrix is singular (zero pivot {int(info)} in LU)")
        x = torch.linalg.lu_solve(LU, piv, _torch_rhs(b).to(LU.dtype)).numpy()
        return x[:, 0] if b.ndim == 1 else x
    with warnings.catch_warnings():
        warnings.simplefilter("error", scipy.linalg.LinAlgWarning)
        try:
            lu, piv = scipy.linalg.lu_factor(A, check_finite=False)
        except (np.linalg.LinAlgError, scipy.linalg.LinAlgWarning) as e:
            raise InputError(f"matrix is singular (LU: {e})") from None
    if (np.diagonal(lu) == 0).any():
        raise InputError("matrix is singular (zero pivot in LU)")
    return scipy.linalg.lu_solve((lu, piv), b, check_finite=False)


def cg_solve(H_or_op: Any, g: Any, *, rtol: float = 1e-8, maxiter: int | None = None,
             x0: Any = None) -> tuple[np.ndarray, int]:
    """Conjugate gradient for SPD H (dense, sparse, torch or LinearOperator): (x, iterations).

    Stops at ||g - H x|| <= rtol ||g|| (scipy's criterion). If that is not reached within
    ``maxiter`` (default 10 n) a RuntimeWarning is issued and the last iterate is returned.
    """
    if not (math.isfinite(rtol) and 0 < rtol < 1):
        raise InputError(f"rtol must be in (0, 1), got {rtol}")
    if isinstance(H_or_op, scipy.sparse.linalg.LinearOperator) or scipy.sparse.issparse(H_or_op):
        A = H_or_op
        if A.shape[0] != A.shape[1]:
            raise InputError(f"operator must be square, got shape {A.shape}")
        b = _as_array(g)
        if b.ndim != 1 or b.shape[0] != A.shape[0] or not np.isfinite(b).all():
            raise InputError(f"right-hand side must be a finite vector of length {A.shape[0]}")
    else:
        A, b = _system(H_or_op, g)
        if b.ndim != 1:
            raise InputError("cg_solve takes one right-hand side vector")
    count = [0]

    def cb(_xk: np.ndarray) -> None:
        count[0] += 1

    x, info = scipy.sparse.linalg.cg(A, b, x0=x0, rtol=rtol, atol=0.0, maxiter=maxiter, callback=cb)
    if info > 0:
        warnings.warn(f"CG did not reach rtol={rtol:g} in {count[0]} iterations", RuntimeWarning, stacklevel=2)
    elif info < 0:
        raise InputError("CG breakdown: the matrix is not symmetric positive definite")
    return x, count[0]


def woodbury_solve(M: Any, g: Any, eps: float, *, scale: float = 1.0, gram: Any = None) -> np.ndarray:
    """Solve (scale * M M^T + eps I) x = g for M (n x r) through an r x r Cholesky.

    x = (g - M (eps/scale I_r + M^T M)^-1 M^T g) / eps   (Sherman-Morrison-Woodbury).
    ``gram`` = M^T M may be passed (e.g. ``gram_from_kron``, or the one the scheduler's features computed). Needs
    eps > 0. Cost O(n r^2 + r^3) (O(n r + r^3) with the Gram given) instead of O(n^3). A float32 M is multiplied
    in float64 chunk by chunk (``linalg/factor.py``), without a float64 copy of the whole factor.
    """
    Mf = _as_array(M)
    b = _as_array(g)
    if Mf.ndim != 2 or Mf.shape[0] == 0 or Mf.shape[1] == 0:
        raise InputError(f"factor must be a non-empty 2-D array, got shape {Mf.shape}")
    if b.ndim not in (1, 2) or b.shape[0] != Mf.shape[0]:
        raise InputError(f"right-hand side of shape {b.shape} does not match factor of shape {Mf.shape}")
    if not (math.isfinite(eps) and eps > 0):
        raise InputError(f"woodbury_solve needs eps > 0, got {eps}")
    if not (math.isfinite(scale) and scale > 0):
        raise InputError(f"scale must be finite and > 0, got {scale}")
    if not np.isfinite(b).all():
        raise InputError("factor or right-hand side contains NaN or Inf")
    b = b.astype(np.float64, copy=False)
    r = Mf.shape[1]
    if gram is None:
        K = summarize_factor(Mf, support=False, name="factor or right-hand side").gram  # checks finiteness
    else:  # a NaN or Inf in M shows in x (checked below) without a pass over M here
        K = np.array(_as_array(gram), dtype=np.float64)
        if K.shape != (r, r):
            raise InputError(f"gram must be {r} x {r}, got {K.shape}")
    K.flat[:: r + 1] += eps / scale
    c = scipy.linalg.cho_factor(K, lower=True, overwrite_a=True, check_finite=False)  # reads the lower triangle
    y = scipy.linalg.cho_solve(c, factor_rmatvec(Mf, b), check_finite=False)
    x = (b - factor_matvec(Mf, y)) / eps
    if not np.isfinite(x).all():
        raise InputError("factor or right-hand side contains NaN or Inf (or the Gram is not M^T M)")
    return x


def factor_operator(M: Any, eps: float, *, scale: float = 1.0) -> scipy.sparse.linalg.LinearOperator:
    """``scale * M M^T + eps I`` as a float64 scipy LinearOperator that never forms the n x n matrix: each product
    is scale M (M^T v) + eps v, 4 n r + 3 n flops (a float32 M is converted to float64 once, 8 n r bytes)."""
    Mf = np.ascontiguousarray(_as_array(M), dtype=np.float64)
    if Mf.ndim != 2 or Mf.shape[0] == 0 or Mf.shape[1] == 0:
        raise InputError(f"factor must be a non-empty 2-D array, got shape {Mf.shape}")
    if not (math.isfinite(eps) and math.isfinite(scale) and scale > 0):
        raise InputError(f"eps must be finite and scale finite and > 0, got eps={eps}, scale={scale}")
    if not np.isfinite(Mf).all():
        raise InputError("factor contains NaN or Inf")

    def apply(v: np.ndarray) -> np.ndarray:
        v = np.asarray(v, dtype=np.float64).reshape(-1)
        return scale * (Mf @ (Mf.T @ v)) + eps * v

    n = Mf.shape[0]
    return scipy.sparse.linalg.LinearOperator((n, n), matvec=apply, rmatvec=apply, dtype=np.float64)


def factor_apply(M: Any, x: Any, eps: float, *, scale: float = 1.0) -> np.ndarray:
    """``(scale * M M^T + eps I) x`` in float64 without forming the n x n matrix."""
    x = _as_array(x).astype(np.float64, copy=False)
    return scale * factor_matvec(M, factor_rmatvec(M, x)) + eps * x


def solve_with(solver: str, A: np.ndarray | None, g: np.ndarray, *, factor: np.ndarray | None = None,
               scale: float = 1.0, eps: float = 0.0, rtol: float = 1e-2, gram: np.ndarray | None = None) -> np.ndarray:
    """``A x = g`` by the named solver: "cholesky", "lu", "cg" (to relative residual ``rtol``) or "woodbury"
    (on ``A = scale * factor factor^T + eps I``; needs the factor, reuses ``gram`` = factor^T factor if given, and
    does not need ``A``). Given the factor, CG runs matrix-free on it (:func:`factor_operator`) and does not
    need ``A`` either."""
    if solver == "woodbury":
        if factor is None:
            raise InputError("woodbury was chosen for a block without a factor")
        return woodbury_solve(factor, g, eps, scale=scale, gram=gram)
    if solver == "cg" and factor is not None:
        return cg_solve(factor_operator(factor, eps, scale=scale), g, rtol=rtol)[0]
    if A is None:
        raise InputError(f"{solver} needs the dense matrix")
    if solver == "cholesky":
        return cholesky_solve(A, g)
    if solver == "lu":
        return lu_solve(A, g)
    if solver == "cg":
        return cg_solve(A, g, rtol=rtol)[0]
    raise InputError(f"unknown classical solver {solver!r}; known: cholesky, lu, cg, woodbury")


def exact_solve(A: np.ndarray, g: np.ndarray, positive_definite: bool, *, factor: np.ndarray | None = None,
                scale: float = 1.0, eps: float = 0.0) -> np.ndarray:
    """The reference solution: Woodbury on ``A = scale factor factor^T + eps I`` when the factor is given (exact
    in exact arithmetic, O(n r^2)), else Cholesky if ``A`` is positive definite (falling back to LU if it
    fails), else LU."""
    if factor is not None and eps > 0:
        return woodbury_solve(factor, g, eps, scale=scale)
    if positive_definite:
        try:
            return cholesky_solve(A, g)
        except InputError:
            pass
    return lu_solve(A, g)
