"""Extreme eigenvalues and condition numbers of symmetric (curvature) blocks, with provenance.

Every estimate is a :class:`SpectrumEstimate` carrying its value, the method that produced it
and the seconds it cost (the scheduler charges those seconds; issue 4, part 7).

Methods
- :func:`kappa_exact`: dense ``eigvalsh`` (LAPACK syevd), the reference. kappa_2 of a symmetric
  matrix is max|lambda| / min|lambda| (Golub & Van Loan, Matrix Computations, 4th ed., Sec. 2.6;
  the singular values of a symmetric matrix are its |lambda_i|, Sec. 8.6).
- :func:`kappa_lanczos`: Lanczos with full reorthogonalization for lambda_max (Golub & Van Loan
  Sec. 10.1; Parlett, The Symmetric Eigenvalue Problem, SIAM 1998, Ch. 13). For PSD H and
  eps > 0, lambda_min(H + eps I) >= eps is known, and a zero (or tiny) diagonal entry h_ii
  pins lambda_min(H) in [0, h_ii] (Rayleigh quotient of e_i), so a singular block needs only
  lambda_max.
- :func:`kappa_from_factor`: exact spectrum of ``scale * M M^T + eps I`` from the small Gram
  matrix M^T M (same nonzero eigenvalues; Golub & Van Loan Sec. 8.6.1 via the SVD of M).
- ``linalg/merikoski.py`` :func:`merikoski_log10_bound`: Merikoski, Urpala, Virtanen, Tam & Uhlig 1997, "A best upper
  bound for the 2-norm condition number of a matrix", Linear Algebra Appl. 254:355-365
  (Q-Newton paper, arXiv:2405.00252, Eq. 2), in log space via a log-determinant. The seed
  code's ``compute_condition_number_upper_bound`` writes (1 - n/||A||_F)^n where the theorem
  has (n/||A||_F^2)^n; we follow the 1997 paper.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg
import scipy.linalg.blas
import scipy.sparse
import scipy.sparse.linalg

from qlsa_sim.errors import InputError
from qlsa_sim.linalg.alloc import torch_input


@dataclass(frozen=True)
class SpectrumEstimate:
    """One condition-number estimate of ``H + eps*I`` with its provenance.

    ``lambda_min``/``lambda_max`` are the algebraic extremes of H + eps I (as estimated);
    ``kappa`` = max|lambda| / min|lambda| (inf if numerically singular). ``exact`` is True only
    for a full dense eigendecomposition (or the exact factor route). ``kappa_lower`` and
    ``kappa_upper`` are bounds where the method gives them (nan if not); ``matvecs`` counts
    matrix-vector products; ``note`` says how lambda_min was decided.
    """

    kappa: float
    lambda_min: float
    lambda_max: float
    method: str
    seconds: float
    exact: bool
    kappa_lower: float = math.nan
    kappa_upper: float = math.nan
    matvecs: int = 0
    note: str = ""


# ----------------------------------------------------------------------------- input handling

def _as_array(H: Any) -> np.ndarray:
    """numpy view of a numpy array or a CPU torch tensor (no copy when possible)."""
    if hasattr(H, "detach") and hasattr(H, "numpy"):
        H = H.detach().cpu().numpy()
    return np.asarray(H)


def _check_square(H: np.ndarray, name: str) -> None:
    if H.ndim != 2 or H.shape[0] != H.shape[1]:
        raise InputError(f"{name}: expected a square 2-D matrix, got shape {H.shape}")
    if H.shape[0] == 0:
        raise InputError(f"{name}: empty matrix")
    if not np.issubdtype(H.dtype, np.floating):
        raise InputError(f"{name}: expected a floating-point matrix, got dtype {H.dtype}")


def check_symmetric(H: Any, *, name: str = "matrix", rtol: float = 1e-8) -> None:
    """Raise InputError unless H is square, finite and max|H - H^T| <= rtol * max|H|.

    Checked in square tiles, so no n x n temporary is made (one pass over the matrix).
    """
    H = _as_array(H)
    _check_square(H, name)
    n = H.shape[0]
    tile = 1024
    amax = 0.0
    dmax = 0.0
    for i in range(0, n, tile):
        for j in range(i, n, tile):
            a = H[i:i + tile, j:j + tile]
            if not np.isfinite(a).all():
                raise InputError(f"{name}: contains NaN or Inf")
            amax = max(amax, float(np.abs(a).max()))
            if j == i:
                d = np.abs(a - a.T).max()
            else:
                b = H[j:j + tile, i:i + tile]
                if not np.isfinite(b).all():
                    raise InputError(f"{name}: contains NaN or Inf")
                amax = max(amax, float(np.abs(b).max()))
                d = np.abs(a - b.T).max()
            dmax = max(dmax, float(d))
    if dmax > rtol * amax:
        raise InputError(f"{name}: not symmetric (max |H - H^T| = {dmax:.3g} > {rtol:g} * max |H| = "
                         f"{rtol * amax:.3g}); symmetrize it as (H + H^T)/2 first")


def _singular_tol(n: int, dtype: np.dtype, scale: float) -> float:
    """|lambda| at or below this is zero: n * unit roundoff * max|lambda| (numpy matrix_rank rule)."""
    return n * float(np.finfo(dtype).eps) * scale


def _kappa_from_eigs(lmin: float, lmax: float, n: int, dtype: np.dtype) -> float:
    big = max(abs(lmin), abs(lmax))
    if big == 0.0:
        return math.inf
    if lmin <= 0.0 <= lmax or min(abs(lmin), abs(lmax)) <= _singular_tol(n, dtype, big):
        # spectrum touches or straddles 0 without the interior known: only a PSD/ND matrix has
        # min|lambda| at an end. Straddling callers use the interior (see kappa_exact).
        return math.inf
    return big / min(abs(lmin), abs(lmax))


# ----------------------------------------------------------------------------- exact

def _eigvalsh(H: np.ndarray, backend: str) -> tuple[np.ndarray, str]:
    if backend == "auto":
        backend = "torch" if H.shape[0] >= 512 else "numpy"
    if backend == "torch":
        try:
            import torch  # MKL syevd: ~4x faster than OpenBLAS here at n = 12544 (design.md)
        except ImportError:  # pragma: no cover - torch is a dependency
            backend = "numpy"
        else:
            return torch.linalg.eigvalsh(torch_input(H)).numpy(), "eigvalsh(torch)"
    if backend != "numpy":
        raise InputError(f"unknown eigvalsh backend {backend!r}; known: auto, numpy, torch")
    return np.linalg.eigvalsh(H), "eigvalsh(numpy)"


def kappa_exact(H: Any, eps: float = 0.0, *, backend: str = "auto") -> SpectrumEstimate:
    """Reference kappa of H + eps*I from all eigenvalues (dense symmetric eigensolver).

    kappa = max|lambda| / min|lambda| of H + eps I; eigenvalues with |lambda| <= n * u * max|lambda|
    (u = unit roundoff of H's dtype) count as zero, giving kappa = inf. The eigenvalues of H are
    shifted by eps rather than forming H + eps I (no n x n copy).
    """
    t0 = time.perf_counter()
    H = _as_array(H)
    check_symmetric(H, name="kappa_exact input")
    if not (math.isfinite(eps) and eps >= 0):
        raise InputError(f"eps must be finite and >= 0, got {eps}")
    w, how = _eigvalsh(H, backend)
    w = w.astype(np.float64) + eps
    n = H.shape[0]
    absw = np.abs(w)
    big = float(absw.max())
    small = float(absw.min())
    if big == 0.0 or small <= _singular_tol(n, H.dtype, big):
        kappa = math.inf
    else:
        kappa = big / small
    return SpectrumEstimate(kappa=kappa, lambda_min=float(w[0]), lambda_max=float(w[-1]), method=how,
                            seconds=time.perf_counter() - t0, exact=True, kappa_lower=kappa,
                            kappa_upper=kappa, note="all eigenvalues")


def kappa_singular(A: Any, *, exact_max_n: int = 1024, tol: float = 1e-8, seed: int = 0) -> SpectrumEstimate:
    """2-norm condition number ``sigma_max / sigma_min`` of a square, possibly non-symmetric ``A``.

    For a non-symmetric block (e.g. rowwise top-k pruning) a QLSA inverts the Hermitian dilation
    ``[[0, A], [A^T, 0]]``, whose eigenvalues are ``+-sigma_i(A)`` (Harrow, Hassidim, Lloyd 2009,
    arXiv:0811.3171, p. 2), so kappa is the singular-value ratio. ``lambda_min``/``lambda_max`` of
    the result hold ``sigma_min``/``sigma_max``.
    ``n <= exact_max_n``: all singular values (``scipy.linalg.svdvals``, exact). Larger: one LU
    factorization of A, then ARPACK Lanczos on ``A^T A`` (sigma_max^2) and on
    ``(A^T A)^-1 = A^-1 A^-T`` applied with the LU factors (1/sigma_min^2); both are extreme
    eigenvalues, found to relative accuracy ``tol``. A singular A gives kappa = inf.
    """
    t0 = time.perf_counter()
    A = _as_array(A)
    _check_square(A, "kappa_singular input")
    if not np.isfinite(A).all():
        raise InputError("kappa_singular input contains NaN or Inf")
    A = A.astype(np.float64, copy=False)
    n = A.shape[0]
    if n <= exact_max_n:
        sv = scipy.linalg.svdvals(A, check_finite=False)
        big, small = float(sv[0]), float(sv[-1])
        kappa = math.inf if big == 0.0 or small <= _singular_tol(n, A.dtype, big) else big / small
        return SpectrumEstimate(kappa=kappa, lambda_min=small, lambda_max=big, method="svdvals",
                                seconds=time.perf_counter() - t0, exact=True, kappa_lower=kappa, kappa_upper=kappa,
                                note="all singular values (lambda_min/lambda_max hold sigma_min/sigma_max)")
    v0 = np.random.default_rng(seed).standard_normal(n)
    gram = scipy.sparse.linalg.LinearOperator((n, n), matvec=lambda x: A.T @ (A @ x), dtype=np.float64)
    big = math.sqrt(float(scipy.sparse.linalg.eigsh(gram, k=1, which="LA", tol=tol, v0=v0,
                                                    return_eigenvectors=False)[0]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)  # a zero pivot is handled just below
        lu, piv = scipy.linalg.lu_factor(A, check_finite=False)
    if (np.abs(np.diagonal(lu)) <= _singular_tol(n, A.dtype, big)).any():
        return SpectrumEstimate(kappa=math.inf, lambda_min=0.0, lambda_max=big, method="lanczos-svd",
                                seconds=time.perf_counter() - t0, exact=False, note="zero pivot in LU: singular")

    def inv_gram(x: np.ndarray) -> np.ndarray:
        y = scipy.linalg.lu_solve((lu, piv), x, trans=1, check_finite=False)  # A^-T x
        return scipy.linalg.lu_solve((lu, piv), y, check_finite=False)      # A^-1 A^-T x

    op = scipy.sparse.linalg.LinearOperator((n, n), matvec=inv_gram, dtype=np.float64)
    inv_small_sq = float(scipy.sparse.linalg.eigsh(op, k=1, which="LA", tol=tol, v0=v0,
                                                   return_eigenvectors=False)[0])
    small = 1.0 / math.sqrt(inv_small_sq) if inv_small_sq > 0 else 0.0
    kappa = math.inf if small <= _singular_tol(n, A.dtype, big) else big / small
    return SpectrumEstimate(kappa=kappa, lambda_min=small, lambda_max=big, method="lanczos-svd",
                            seconds=time.perf_counter() - t0, exact=False,
                            note=f"Lanczos on A^T A and on (A^T A)^-1 via one LU, rel. tol {tol:g} "
                                 "(lambda_min/lambda_max hold sigma_min/sigma_max)")


def numerical_rank(H: Any, tol: float | None = None) -> int:
    """Number of eigenvalues of symmetric H with |lambda| > tol (default n * u * max|lambda|)."""
    H = _as_array(H)
    check_symmetric(H, name="numerical_rank input")
    w, _ = _eigvalsh(H, "auto")
    absw = np.abs(w)
    if tol is None:
        tol = _singular_tol(H.shape[0], H.dtype, float(absw.max()))
    if tol < 0:
        raise InputError(f"rank tolerance must be >= 0, got {tol}")
    return int((absw > tol).sum())


# ----------------------------------------------------------------------------- factor route

def factor_eigenvalues(M: Any, *, scale: float = 1.0, gram: Any = None,
                       n: int | None = None) -> tuple[np.ndarray, int]:
    """Eigenvalues of ``scale * M M^T`` (n x n, M n x r) from the r x r Gram matrix.

    Returns (the min(n, r) largest eigenvalues ascending, n); the other n - r (if r < n) are
    exactly zero. ``gram`` = M^T M may be given (e.g. from ``gram_from_kron``, no n-size work);
    then M may be None if ``n`` is given.
    """
    if not (math.isfinite(scale) and scale > 0):
        raise InputError(f"scale must be finite and > 0, got {scale}")
    if M is None:
        if gram is None or n is None:
            raise InputError("without the factor M, pass both gram and n")
        gram = _as_array(gram)
        r = gram.shape[0] if gram.ndim == 2 else -1
        if n < 1:
            raise InputError(f"n must be >= 1, got {n}")
    else:
        M = _as_array(M)
        if M.ndim != 2 or M.shape[0] == 0 or M.shape[1] == 0:
            raise InputError(f"factor must be a non-empty 2-D array, got shape {M.shape}")
        n, r = M.shape
    if gram is None:
        if not np.isfinite(M).all():
            raise InputError("factor contains NaN or Inf")
        Mf = M.astype(np.float64, copy=False)
        gram = Mf.T @ Mf
    gram = _as_array(gram).astype(np.float64, copy=False)
    if gram.shape != (r, r) or not np.isfinite(gram).all():
        raise InputError(f"gram must be a finite {r} x {r} matrix, got shape {gram.shape}")
    w = np.linalg.eigvalsh(0.5 * (gram + gram.T)) * scale
    w = np.clip(w, 0.0, None)          # M M^T is PSD: negative values are rounding
    return w[-min(n, r):], n


GRAM_LANCZOS_TOL = 1e-13  # relative error of lambda_max by Lanczos on a Gram matrix


def kappa_from_factor(M: Any, eps: float, *, scale: float = 1.0, gram: Any = None,
                      n: int | None = None, lanczos_min_rank: int | None = None,
                      lanczos_tol: float = GRAM_LANCZOS_TOL) -> SpectrumEstimate:
    """Exact kappa of ``scale * M M^T + eps I`` via the Gram matrix (r x r eigvalsh).

    If r < n the block is singular, so lambda_min = eps exactly; cost O(n r^2 + r^3), or O(r^3)
    with ``gram`` given (then ``M=None, n=...`` is allowed). With ``lanczos_min_rank`` and a singular
    block of r >= lanczos_min_rank, only lambda_max is needed and it comes from Lanczos on the Gram
    (:func:`gram_lambda_max`: O(r^2) per step, converged to ``lanczos_tol`` relative, about the rounding
    error of eigvalsh itself) instead of the O(r^3) eigendecomposition (0.2 s at r = 1280).
    """
    t0 = time.perf_counter()
    if not (math.isfinite(eps) and eps >= 0):
        raise InputError(f"eps must be finite and >= 0, got {eps}")
    r_cols = (_as_array(gram).shape[0] if gram is not None else _as_array(M).shape[1])
    n_rows = n if M is None else _as_array(M).shape[0]
    if (lanczos_min_rank is not None and gram is not None and n_rows is not None and r_cols < n_rows
            and r_cols >= lanczos_min_rank):
        if not (math.isfinite(scale) and scale > 0):
            raise InputError(f"scale must be finite and > 0, got {scale}")
        top = gram_lambda_max(_as_array(gram), tol=lanczos_tol)
        lmax = scale * top.theta_max
        kappa = math.inf if eps <= 0 else (lmax + eps) / eps
        upper = math.inf if eps <= 0 else (scale * (top.theta_max + top.error) + eps) / eps
        return SpectrumEstimate(kappa=kappa, lambda_min=eps, lambda_max=lmax + eps, method="factor-gram-lanczos",
                                seconds=time.perf_counter() - t0, exact=top.converged, kappa_lower=kappa,
                                kappa_upper=upper, matvecs=top.matvecs,
                                note=f"rank <= {r_cols} < n = {n_rows}: lambda_min = eps exactly; lambda_max by "
                                     f"Lanczos on the Gram to {top.error / max(top.theta_max, 1e-300):.1g} relative")
    w, n = factor_eigenvalues(M, scale=scale, gram=gram, n=n)
    lmax = float(w[-1])
    tol = _singular_tol(max(n, len(w)), np.dtype(np.float64), lmax)
    singular = len(w) < n or float(w[0]) <= tol
    lmin = eps if singular else float(w[0]) + eps
    kappa = math.inf if lmin <= 0 or lmax + eps == 0 else (lmax + eps) / lmin
    note = (f"rank <= {len(w)} < n = {n}: lambda_min = eps exactly" if len(w) < n else
            ("numerically singular: lambda_min = eps" if singular else "full rank"))
    return SpectrumEstimate(kappa=kappa, lambda_min=lmin, lambda_max=lmax + eps,
                            method="factor-gram-eigvalsh", seconds=time.perf_counter() - t0, exact=True,
                            kappa_lower=kappa, kappa_upper=kappa, note=note)



@dataclass(frozen=True)
class TopEigenvalue:
    """lambda_max of a symmetric PSD matrix: the value, an error estimate (min(r, r^2/gap) of the Ritz pair;
    the Ritz value is a lower bound), the matvecs and whether it converged (else it is an eigvalsh value)."""

    theta_max: float
    error: float
    matvecs: int
    converged: bool


def gram_lambda_max(G: np.ndarray, *, tol: float = GRAM_LANCZOS_TOL, max_matvecs: int = 200) -> TopEigenvalue:
    """Largest eigenvalue of a Gram matrix (symmetric PSD; its lower triangle is read) by Lanczos with full
    reorthogonalization (:func:`lanczos_extremes`) to relative error ``tol``; falls back to eigvalsh if it does not
    converge."""
    G = np.ascontiguousarray(G, dtype=np.float64)
    r = G.shape[0]
    mv = _symv_of(G) or (lambda v: G @ v)  # one triangle: half the memory traffic of G @ v
    res = lanczos_extremes(mv, r, tol=tol, max_matvecs=min(max_matvecs, r), want="max")
    err = min(res.resid_max, res.resid_max ** 2 / res.gap_max if res.gap_max > 0 else math.inf)
    if res.converged_max:
        return TopEigenvalue(res.theta_max, err, res.matvecs, True)
    return TopEigenvalue(float(np.linalg.eigvalsh(G)[-1]), 0.0, res.matvecs, True)


def numerical_rank_from_factor(M: Any, *, scale: float = 1.0, tol: float | None = None,
                               gram: Any = None, n: int | None = None) -> int:
    """Rank of scale * M M^T at ``tol`` (default n * u * lambda_max), from the Gram matrix."""
    w, n = factor_eigenvalues(M, scale=scale, gram=gram, n=n)
    if tol is None:
        tol = _singular_tol(n, np.dtype(np.float64), float(w[-1]))
    return int((w > tol).sum())


# ----------------------------------------------------------------------------- Lanczos

def _matvec_of(H: Any) -> tuple[Any, int, np.ndarray | None, np.dtype]:
    """(matvec in float64, n, dense array or None, compute dtype) for ndarray/tensor/sparse/operator."""
    if isinstance(H, scipy.sparse.linalg.LinearOperator):
        if len(H.shape) != 2 or H.shape[0] != H.shape[1]:
            raise InputError(f"operator must be square, got shape {H.shape}")
        return (lambda v: np.asarray(H.matvec(v), dtype=np.float64).reshape(-1)), H.shape[0], None, np.dtype(np.float64)
    if scipy.sparse.issparse(H):
        if H.shape[0] != H.shape[1]:
            raise InputError(f"matrix must be square, got shape {H.shape}")
        if not np.isfinite(H.data).all():
            raise InputError("matrix contains NaN or Inf")
        return (lambda v: np.asarray(H @ v, dtype=np.float64)), H.shape[0], None, np.dtype(np.float64)
    A = _as_array(H)
    _check_square(A, "kappa_lanczos input")
    dt = A.dtype
    # multiply in the matrix's own dtype: a float64 vector would upcast (copy) a float32 matrix
    return (lambda v: (A @ v.astype(dt, copy=False)).astype(np.float64, copy=False)), A.shape[0], A, dt


def _symv_of(A: np.ndarray) -> Any | None:
    """BLAS symv on one triangle of a contiguous float32/float64 matrix (half the memory traffic
    of gemv, about 2x faster at n = 12560), or None if not applicable. It assumes symmetry, so the
    caller must check that first (see :func:`kappa_lanczos`)."""
    if A.dtype not in (np.float32, np.float64) or not (A.flags.c_contiguous or A.flags.f_contiguous):
        return None
    F = A.T if A.flags.c_contiguous else A          # column-major view, no copy; symmetric => same matrix
    symv = scipy.linalg.blas.dsymv if A.dtype == np.float64 else scipy.linalg.blas.ssymv
    dt = A.dtype
    return lambda v: symv(1.0, F, v.astype(dt, copy=False), lower=1).astype(np.float64, copy=False)


@dataclass(frozen=True)
class LanczosResult:
    """Ritz values of one Lanczos run: extremes, their residual norms, and the matvecs used."""

    theta_max: float
    theta_min: float
    resid_max: float
    resid_min: float
    gap_max: float
    gap_min: float
    matvecs: int
    converged_max: bool
    converged_min: bool


def lanczos_extremes(matvec: Any, n: int, *, tol: float = 1e-6, max_matvecs: int = 60, want: str = "max",
                     seed: int = 0, symmetry_rtol: float = 1e-6, v0: np.ndarray | None = None,
                     hv0: np.ndarray | None = None) -> LanczosResult:
    """Lanczos with full reorthogonalization; stops when the wanted end(s) converged.

    An extreme Ritz value theta with residual r = ||H y - theta y|| (= beta_k |s_k|) and gap
    delta to the other Ritz values has eigenvalue error <= min(r, r^2/delta) (Parlett 1998,
    Ch. 11, residual and gap bounds, Kato-Temple); we stop when that is <= tol * |theta|. ``want`` is "max",
    "min" or "both". A randomized symmetry test (q1^T H q2 vs q2^T H q1 on the first two Lanczos
    vectors) rejects grossly non-symmetric input; non-finite products are rejected.
    ``v0`` (unit start vector) with ``hv0`` = H v0 may be given to reuse a product already made
    (it counts as a matvec).
    """
    if want not in ("max", "min", "both"):
        raise InputError(f"want must be 'max', 'min' or 'both', got {want!r}")
    if not tol > 0:
        raise InputError(f"tol must be > 0, got {tol}")
    m_cap = max(1, min(int(max_matvecs), n))
    rng = np.random.default_rng(seed)
    Q = np.empty((n, m_cap + 1))
    q = rng.standard_normal(n) if v0 is None else np.asarray(v0, dtype=np.float64)
    Q[:, 0] = q / np.linalg.norm(q)
    alphas: list[float] = []
    betas: list[float] = []
    hq_first: np.ndarray | None = None
    res = None
    for j in range(m_cap):
        w = matvec(Q[:, j]) if (j > 0 or hv0 is None) else np.array(hv0, dtype=np.float64)
        if w.shape != (n,) or not np.isfinite(w).all():
            raise InputError("matrix (or operator) contains NaN or Inf, or gave a wrong-shaped product")
        if j == 0:
            hq_first = w.copy()
        elif j == 1:
            a12, a21 = float(Q[:, 0] @ w), float(Q[:, 1] @ hq_first)
            scale = max(np.linalg.norm(hq_first), np.linalg.norm(w), 1e-300)
            if abs(a12 - a21) > symmetry_rtol * scale:
                raise InputError(f"matrix is not symmetric (randomized test: q1'Hq2 = {a12:.6g} vs "
                                 f"q2'Hq1 = {a21:.6g}); symmetrize it first")
        alpha = float(Q[:, j] @ w)
        w -= alpha * Q[:, j]
        if j > 0:
            w -= betas[-1] * Q[:, j - 1]
        for _ in range(2):  # full reorthogonalization; "twice is enough" (Kahan, in Parlett 1998)
            w -= Q[:, :j + 1] @ (Q[:, :j + 1].T @ w)
        beta = float(np.linalg.norm(w))
        alphas.append(alpha)
        k = j + 1
        T = np.diag(alphas) + np.diag(betas, 1) + np.diag(betas, -1)
        theta, S = np.linalg.eigh(T)
        r = beta * np.abs(S[-1, :])                       # residual norms of all Ritz pairs
        # the Ritz gap over-estimates the true gap (interlacing), so the r^2/gap estimate is only
        # used from k >= 3 on; k = 1 is never judged converged
        gaps_hi = theta[-1] - theta[-2] if k > 1 else math.inf
        gaps_lo = theta[1] - theta[0] if k > 1 else math.inf
        err_hi = min(r[-1], r[-1] ** 2 / gaps_hi if k > 2 and gaps_hi > 0 else math.inf)
        err_lo = min(r[0], r[0] ** 2 / gaps_lo if k > 2 and gaps_lo > 0 else math.inf)
        sc = max(abs(theta[-1]), abs(theta[0]), 1e-300)
        exhausted = beta <= 1e-14 * sc
        ok_hi = (k > 1 and err_hi <= tol * max(abs(theta[-1]), 1e-300)) or exhausted
        ok_lo = (k > 1 and err_lo <= tol * sc) or exhausted
        res = LanczosResult(theta_max=float(theta[-1]), theta_min=float(theta[0]), resid_max=float(r[-1]),
                            resid_min=float(r[0]), gap_max=float(gaps_hi), gap_min=float(gaps_lo), matvecs=k,
                            converged_max=bool(ok_hi), converged_min=bool(ok_lo))
        done = {"max": ok_hi, "min": ok_lo, "both": ok_hi and ok_lo}[want]
        if done or exhausted:
            break  # invariant subspace found: the Ritz values are eigenvalues
        betas.append(beta)
        Q[:, j + 1] = w / beta
    assert res is not None
    return res


def _checked_symv(matvec, dense, n: int, dt, seed: int):
    """For a dense float array: one full product (gemv) checks the whole matrix (NaN/Inf anywhere gives a
    non-finite product, and (H - sym_lower(H)) v0 != 0 exposes asymmetry), then BLAS symv does the rest.
    Returns (matvec, v0, H v0), the last two None when there is no symv."""
    symv = _symv_of(dense) if dense is not None else None
    if symv is None:
        return matvec, None, None
    v0 = np.random.default_rng(seed).standard_normal(n)
    v0 /= np.linalg.norm(v0)
    full = matvec(v0)
    if not np.isfinite(full).all():
        raise InputError("matrix contains NaN or Inf")
    hv0 = symv(v0)
    diff = float(np.abs(full - hv0).max())
    # gemv and symv round differently: allow ~10 sqrt(n) u (1.4e-6 = 12 u seen in float32 at n = 12560)
    if diff > (1e-8 + 10 * math.sqrt(n) * float(np.finfo(dt).eps)) * max(float(np.abs(full).max()), 1e-300):
        raise InputError(f"matrix is not symmetric (|H v - sym(H) v| = {diff:.3g} for a random v); "
                         "symmetrize it first")
    return symv, v0, hv0


def kappa_lanczos(H_or_linear_operator: Any, eps: float = 0.0, *, psd: bool = True, tol: float = 1e-6,
                  max_matvecs: int = 60, rank: int | None = None, seed: int = 0,
                  low_end_budget: int = 60) -> SpectrumEstimate:
    """kappa of H + eps*I from Lanczos extremes of H (dense array, sparse, torch or LinearOperator).

    lambda_max: Lanczos Ritz value (a lower bound of lambda_max; error estimate min(r, r^2/gap),
    used for ``kappa_upper``, which is therefore an estimate, while ``kappa_lower`` is a bound).
    Dense float32/float64 input is multiplied by BLAS symv (one triangle: half the memory
    traffic), after one full gemv product that checks finiteness and symmetry of the whole matrix
    (``matvecs`` counts the symv products; the check costs one more full matvec).
    lambda_min, for ``psd=True`` (H positive semi-definite, as GGN blocks are), decided in order:
      1. ``rank < n`` given (e.g. a factor M with r < n columns): H is singular, lambda_min = eps.
      2. dense H: 0 <= lambda_min(H) <= min_i h_ii (Rayleigh quotient of e_i; O(n) to read). If
         min h_ii <= max(tol * eps, n u lambda_max) the block is taken as singular: lambda_min = eps
         (kappa within a factor 1 + tol of the truth; a zero row makes it exact).
      3. otherwise the low end is estimated by the same Lanczos run continued up to
         ``low_end_budget`` matvecs in all; the smallest Ritz value is an upper bound of
         lambda_min, so kappa is then a lower bound unless the low end converged (see ``note``).
    For ``psd=False`` both ends come from Lanczos; if they straddle 0 (indefinite) min|lambda|
    needs the interior: for a dense array one shift-invert solve (an LU factorization, costly)
    is used, for an operator an InputError is raised.
    """
    t0 = time.perf_counter()
    if not (math.isfinite(eps) and eps >= 0):
        raise InputError(f"eps must be finite and >= 0, got {eps}")
    matvec, n, dense, dt = _matvec_of(H_or_linear_operator)
    if rank is not None and not 0 <= rank <= n:
        raise InputError(f"rank must be in [0, {n}], got {rank}")
    matvec, v0, hv0 = _checked_symv(matvec, dense, n, dt, seed)
    run = dict(matvec=matvec, n=n, tol=tol, seed=seed, v0=v0, hv0=hv0)
    if psd:
        return _kappa_psd(dense, eps, rank, dt, max_matvecs, low_end_budget, t0, run)
    return _kappa_both_ends(dense, eps, max(max_matvecs, low_end_budget), t0, run)


def _kappa_psd(dense, eps: float, rank: int | None, dt, max_matvecs: int, low_end_budget: int, t0: float,
               run: dict) -> SpectrumEstimate:
    """kappa of PSD H + eps I (see :func:`kappa_lanczos`, lambda_min rules 1-3)."""
    n, tol, u = run["n"], run["tol"], float(np.finfo(dt).eps)
    dmin, dmax = math.inf, 0.0
    if dense is not None:
        diag = np.diagonal(dense)
        if not np.isfinite(diag).all():
            raise InputError("matrix contains NaN or Inf")
        dmin, dmax = float(diag.min()), float(diag.max())
        if dmin < -_singular_tol(n, dt, max(abs(dmax), abs(dmin))):
            raise InputError(f"matrix is not positive semi-definite (diagonal entry {dmin:.3g} < 0); "
                             "pass psd=False")
    # lambda_max >= max h_ii, so n u max h_ii is a (slightly stricter) singularity tolerance
    stol = max(tol * eps, n * u * dmax)
    if rank is not None and rank < n:
        singular, note, lmin_hi = True, f"singular: rank {rank} < n = {n} given; lambda_min = eps", 0.0
    elif dmin <= stol:
        singular, lmin_hi = True, max(dmin, 0.0)
        note = (f"singular to tolerance: min diagonal {dmin:.3g} <= {stol:.3g} bounds lambda_min(H) "
                "(PSD); lambda_min = eps")
    else:
        singular = False
    budget = max_matvecs if singular else max(max_matvecs, low_end_budget)
    lz = lanczos_extremes(run["matvec"], n, tol=tol, max_matvecs=budget, want="max" if singular else "both",
                          seed=run["seed"], v0=run["v0"], hv0=run["hv0"])
    lmax = lz.theta_max
    lmax_hi = lmax + min(lz.resid_max, lz.resid_max ** 2 / lz.gap_max if lz.gap_max > 0 else math.inf)
    if singular:
        lmin_h = 0.0
    else:
        lmin_hi = min(lz.theta_min, dmin)
        lmin_h = max(lmin_hi, 0.0)
        note = (f"low end: Lanczos Ritz value after {lz.matvecs} matvecs, "
                + ("converged" if lz.converged_min else "NOT converged (an upper bound on lambda_min, "
                   "so kappa is a lower bound)"))
    lmin = lmin_h + eps
    kappa = math.inf if lmin <= 0 else (lmax + eps) / lmin
    k_lo = (lmax + eps) / (lmin_hi + eps) if lmin_hi + eps > 0 else math.inf
    k_hi = (lmax_hi + eps) / eps if eps > 0 else math.inf
    if not lz.converged_max:
        note += f"; lambda_max NOT converged in {lz.matvecs} matvecs"
    return SpectrumEstimate(kappa=kappa, lambda_min=lmin, lambda_max=lmax + eps,
                            method="lanczos(lambda_max)+psd-low-end", seconds=time.perf_counter() - t0,
                            exact=False, kappa_lower=k_lo, kappa_upper=k_hi, matvecs=lz.matvecs, note=note)


def _kappa_both_ends(dense, eps: float, budget: int, t0: float, run: dict) -> SpectrumEstimate:
    """kappa of (possibly indefinite) H + eps I: both ends by Lanczos, min|lambda| by shift-invert if they
    straddle 0 (see :func:`kappa_lanczos`)."""
    n = run["n"]
    lz = lanczos_extremes(run["matvec"], n, tol=run["tol"], max_matvecs=budget, want="both", seed=run["seed"],
                          v0=run["v0"], hv0=run["hv0"])
    lo, hi = lz.theta_min + eps, lz.theta_max + eps
    note = "both ends by Lanczos" + ("" if lz.converged_min and lz.converged_max else " (not all converged)")
    if lo > 0 or hi < 0:
        kappa = max(abs(lo), abs(hi)) / min(abs(lo), abs(hi))
        method = "lanczos(both ends)"
    else:
        if dense is None:
            raise InputError("H + eps*I is indefinite: min |lambda| needs a factorization (shift-invert); "
                             "pass the dense matrix")
        A = dense.astype(np.float64) + eps * np.eye(n)
        small = scipy.sparse.linalg.eigsh(A, k=1, sigma=0.0, which="LM", return_eigenvectors=False)
        kappa = max(abs(lo), abs(hi)) / abs(float(small[0])) if small[0] != 0 else math.inf
        method = "lanczos(both ends) + shift-invert(min|lambda|)"
        note += "; indefinite: min|lambda| by shift-invert at 0 (one LU factorization)"
    return SpectrumEstimate(kappa=kappa, lambda_min=lo, lambda_max=hi, method=method,
                            seconds=time.perf_counter() - t0, exact=False, matvecs=lz.matvecs, note=note)
