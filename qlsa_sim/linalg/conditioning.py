"""Regularization and pruning of curvature blocks (Q-Newton paper, arXiv:2405.00252, Sec. 3 / Fig. 2(g)).

- :func:`regularize`: H + eps I with eps absolute, or relative to lambda_max(H) (Levenberg-
  Marquardt damping; Nocedal & Wright, Numerical Optimization, 2nd ed., Sec. 10.3).
- :func:`prune`: sparsify H to a target density with one of four strategies:

  ``symmetric-magnitude`` (ours, the paper's "symmetry-aware" pruning): symmetrize exactly,
      always keep the diagonal, keep the largest-|.| off-diagonal PAIRS (H_ij, H_ji) until the
      density budget is used; the mask is symmetric by construction. With ``keep_pd`` the result is
      checked by Cholesky and, if not positive definite, repaired (see below).
  ``rowwise-topk`` (the seed code's ``prune_matrix_for_quantum_sparsity``): in every row keep the
      k = round(d n) largest |.|; neither symmetric nor (in general) positive definite. Never repaired.
  ``random``: a uniformly random symmetric mask (diagonal kept) with expected density d; a
      magnitude-blind baseline. Repaired like symmetric-magnitude when ``keep_pd``.
  ``global``: global unstructured magnitude pruning: exactly the round(d n^2) largest |H_ij| over
      the whole matrix (ties broken arbitrarily), no symmetrization, no diagonal protection, no
      repair; a tie between H_ij and H_ji at the threshold, or torch.func.hessian's ~1e-18
      asymmetry, leaves the kept set non-symmetric.

  Repairs (``repair=``):
  ``shift`` (default): add sigma I with sigma = 1.01 |lambda_min| + n u ||H||_F, where lambda_min
      is the smallest Lanczos Ritz value of the pruned matrix (an upper bound of the true
      lambda_min), then verify by Cholesky and double sigma until it succeeds; ``eps_added``
      reports sigma.
  ``diagonal``: diagonal compensation: add D_ii = sum_j |R_ij| of the dropped entries R. Then
      H_pruned + D = H + (D - R) and D - R is diagonally dominant with a non-negative diagonal, so
      H_pruned + D >= H (Gershgorin): PD whenever H is, with no eigenvalue computation
      (Gershgorin circle theorem; the same diagonal compensation as Gustafsson 1978, BIT 18:142-156,
      modified incomplete Cholesky).
- :func:`newton_direction_error`: relative change of the Newton direction caused by pruning.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg

from qlsa_sim.errors import InputError, UnknownNameError
from qlsa_sim.linalg.alloc import empty_array
from qlsa_sim.linalg.spectrum import _as_array, check_symmetric, lanczos_extremes

STRATEGIES = ("symmetric-magnitude", "rowwise-topk", "random", "global")  # = features.PRUNE_STRATEGIES
REPAIRS = ("shift", "diagonal", "none")


def regularize(H: Any, eps: float, *, relative: bool = False,
               lambda_max: float | None = None) -> tuple[np.ndarray, float]:
    """Return (H + eps_abs * I, eps_abs); ``relative`` => eps_abs = eps * lambda_max(H).

    lambda_max is computed by Lanczos (:func:`~qlsa_sim.linalg.spectrum.lanczos_extremes`) unless given. The input is not
    modified (one copy is made).
    """
    A = _as_array(H)
    if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] == 0:
        raise InputError(f"expected a non-empty square matrix, got shape {A.shape}")
    if not (math.isfinite(eps) and eps >= 0):
        raise InputError(f"regularization eps must be finite and >= 0, got {eps}")
    if relative:
        if lambda_max is None:
            dt = A.dtype
            lambda_max = lanczos_extremes(lambda v: (A @ v.astype(dt, copy=False)).astype(np.float64),
                                          A.shape[0], tol=1e-6, want="max").theta_max
        if not (math.isfinite(lambda_max) and lambda_max > 0):
            raise InputError(f"relative regularization needs lambda_max > 0, got {lambda_max}")
        eps_abs = float(eps * lambda_max)
    else:
        eps_abs = float(eps)
    out = empty_array(A.shape, A.dtype if np.issubdtype(A.dtype, np.floating) else np.float64)
    np.copyto(out, A, casting="unsafe")  # (qlsa_sim.linalg.alloc: 3x faster than np.array's copy at n = 12560)
    out.flat[:: out.shape[0] + 1] += eps_abs
    return out, eps_abs


@dataclass(frozen=True)
class PruneResult:
    """A pruned matrix and what pruning did to it.

    ``density`` is the fraction of non-zero entries reached (<= target, except when the diagonal
    alone exceeds it or, for symmetric-magnitude, entries tie at the threshold);
    ``is_positive_definite`` is checked by Cholesky on symmetric results and is False
    for non-symmetric ones; ``eps_added`` is the shift of the ``shift`` repair (0 otherwise).
    """

    matrix: np.ndarray
    density: float
    target_density: float
    strategy: str
    is_symmetric: bool
    is_positive_definite: bool
    repaired: bool
    eps_added: float
    repair: str
    note: str = ""


def _is_pd(A: np.ndarray) -> bool:
    try:
        scipy.linalg.cholesky(A, lower=True, check_finite=False, overwrite_a=False)
        return True
    except np.linalg.LinAlgError:
        return False


def _kth_largest(values: np.ndarray, k: int) -> float:
    """The k-th largest entry (1-based) of a flat array (partial sort, in place on a copy)."""
    k = int(min(max(k, 1), values.size))
    return float(np.partition(values, values.size - k)[values.size - k])


def _symmetric_magnitude(H: np.ndarray, target: float) -> tuple[np.ndarray, str]:
    n = H.shape[0]
    P = 0.5 * (H + H.T)                      # exactly symmetric (torch.func.hessian is not)
    pairs = int(math.floor((target * n * n - n) / 2))
    if pairs <= 0:
        return np.diag(np.diagonal(P)).astype(P.dtype), "budget allows only the diagonal"
    a = np.abs(P)
    np.fill_diagonal(a, -1.0)
    nz_off = int(np.count_nonzero(a > 0))
    if 2 * pairs >= nz_off:
        note = f"target {target:g} is at or above the matrix's own density: nothing pruned"
        return P, note
    t = _kth_largest(a.ravel(), 2 * pairs)   # each pair appears twice in the full matrix
    del a
    keep_diag = np.diagonal(P).copy()
    step = max(1, (1 << 22) // n)
    for i in range(0, n, step):              # zero |P| < t row chunk by row chunk (mask symmetric)
        blk = P[i:i + step]
        blk[np.abs(blk) < t] = 0
    np.fill_diagonal(P, keep_diag)
    return P, f"kept |H_ij| >= {t:.3g} (ties kept) and the diagonal"


def _rowwise_topk(H: np.ndarray, target: float) -> tuple[np.ndarray, str]:
    n = H.shape[1]
    k = int(min(n, max(1, round(target * n))))
    P = np.zeros(H.shape, dtype=H.dtype)
    step = max(1, (1 << 22) // n)
    for i in range(0, H.shape[0], step):
        blk = H[i:i + step]
        idx = np.argpartition(np.abs(blk), n - k, axis=1)[:, n - k:]
        rows = np.arange(blk.shape[0])[:, None]
        P[i:i + step][rows, idx] = blk[rows, idx]
    return P, f"kept the {k} largest |.| of every row"


def _global(H: np.ndarray, target: float) -> tuple[np.ndarray, str]:
    k = int(min(H.size, max(1, round(target * H.size))))
    a = np.abs(H)
    nz = int(np.count_nonzero(a))
    if k >= nz:
        return H.copy(), f"target {target:g} is at or above the matrix's own density: nothing pruned"
    idx = np.argpartition(a.ravel(), a.size - k)[a.size - k:]
    H = np.ascontiguousarray(H)   # exactly k entries (ties broken arbitrarily)
    del a
    P = np.zeros(H.shape, dtype=H.dtype)          # C order, so ravel() is a view
    P.ravel()[idx] = H.ravel()[idx]
    return P, f"kept the {k} largest |H_ij| over the whole matrix"


def _random(H: np.ndarray, target: float, seed: int) -> tuple[np.ndarray, str]:
    n = H.shape[0]
    P = 0.5 * (H + H.T)
    q = min(1.0, max(0.0, (target * n * n - n) / (n * n - n))) if n > 1 else 1.0
    rng = np.random.default_rng(seed)
    step = max(1, (1 << 22) // n)
    # draw the upper triangle row chunk by row chunk, mirror it: a symmetric Bernoulli(q) mask
    for i in range(0, n, step):
        u = rng.random((min(step, n - i), n), dtype=np.float32) >= q   # True = drop
        rows = np.arange(i, i + u.shape[0])[:, None]
        upper = np.arange(n)[None, :] > rows
        drop = u & upper
        r_idx, c_idx = np.nonzero(drop)
        P[r_idx + i, c_idx] = 0
        P[c_idx, r_idx + i] = 0
    return P, f"random symmetric mask, keep probability {q:.3g} off the diagonal"


def _repair(P: np.ndarray, H: np.ndarray, how: str) -> tuple[np.ndarray, float, bool, str]:
    """Make the symmetric P positive definite; returns (P', eps_added, ok, note)."""
    n = P.shape[0]
    if how == "diagonal":
        R = 0.5 * (H + H.T) - P                  # dropped entries (zero diagonal)
        P = P + np.diag(np.abs(R).sum(axis=1))
        ok = _is_pd(P)
        return P, 0.0, ok, "diagonal compensation" + ("" if ok else " (H itself is not PD: still not PD)")
    lz = lanczos_extremes(lambda v: P @ v, n, tol=1e-6, max_matvecs=min(n, 80), want="min")
    floor = n * np.finfo(P.dtype).eps * float(np.linalg.norm(P))
    sigma = 1.01 * max(0.0, -lz.theta_min) + floor
    for attempt in range(40):
        Q = P.copy()
        Q.flat[:: n + 1] += sigma
        if _is_pd(Q):
            return Q, sigma, True, f"shift by {sigma:.3g} (Lanczos lambda_min {lz.theta_min:.3g}, {attempt + 1} Cholesky)"
        sigma *= 2.0
    return P, 0.0, False, "shift repair failed"


def prune(H: Any, target_density: float, strategy: str = "symmetric-magnitude", *, keep_pd: bool = True,
          seed: int = 0, repair: str = "shift") -> PruneResult:
    """Prune H to at most ``target_density`` (fraction of non-zeros) with ``strategy`` (module doc).

    ``keep_pd`` (symmetric-magnitude and random only): check by Cholesky and repair with
    ``repair`` ("shift", "diagonal" or "none") if the result is not positive definite.
    Positive definiteness of every symmetric result is checked by Cholesky (O(n^3)/3 flops).
    """
    if strategy not in STRATEGIES:
        raise UnknownNameError("pruning strategy", strategy, STRATEGIES)
    if repair not in REPAIRS:
        raise UnknownNameError("pruning repair", repair, REPAIRS)
    if not (isinstance(target_density, (int, float)) and 0 < target_density <= 1):
        raise InputError(f"target density must be in (0, 1], got {target_density}")
    A = _as_array(H)
    check_symmetric(A, name="prune input", rtol=1e-6)
    A = A.astype(np.float64, copy=False) if not np.issubdtype(A.dtype, np.floating) else A
    if strategy == "symmetric-magnitude":
        P, note = _symmetric_magnitude(A, target_density)
    elif strategy == "rowwise-topk":
        P, note = _rowwise_topk(A, target_density)
    elif strategy == "global":
        P, note = _global(A, target_density)
    else:
        P, note = _random(A, target_density, seed)
    sym = bool(np.array_equal(P, P.T))
    pd = sym and _is_pd(P)
    repaired, eps_added = False, 0.0
    if keep_pd and strategy in ("symmetric-magnitude", "random") and not pd and repair != "none":
        P, eps_added, pd, rnote = _repair(P, A, repair)
        repaired = True
        note += "; " + rnote
    elif keep_pd and strategy in ("rowwise-topk", "global"):
        note += "; not repaired (rival strategy, kept as the seed code / plain pruning does it)"
    d = float(np.count_nonzero(P)) / P.size
    return PruneResult(matrix=P, density=d, target_density=float(target_density), strategy=strategy,
                       is_symmetric=sym, is_positive_definite=bool(pd), repaired=repaired,
                       eps_added=float(eps_added), repair=repair if repaired else "none", note=note)


def newton_direction_error(H: Any, g: Any, H_pruned: Any, eps: float) -> float:
    """||x_p - x|| / ||x|| with x = (H + eps I)^-1 g and x_p = (H_pruned + eps I)^-1 g (LU solves)."""
    A = _as_array(H).astype(np.float64, copy=False)
    P = _as_array(H_pruned).astype(np.float64, copy=False)
    g = _as_array(g).astype(np.float64, copy=False).reshape(-1)
    n = A.shape[0] if A.ndim == 2 else -1
    if A.ndim != 2 or A.shape != (n, n) or P.shape != (n, n) or g.shape != (n,):
        raise InputError(f"shapes do not match: H {A.shape}, H_pruned {P.shape}, g {g.shape}")
    if not (math.isfinite(eps) and eps >= 0):
        raise InputError(f"eps must be finite and >= 0, got {eps}")
    if not (np.isfinite(A).all() and np.isfinite(P).all() and np.isfinite(g).all()):
        raise InputError("H, H_pruned or g contains NaN or Inf")
    I = eps * np.eye(n)
    try:
        x = np.linalg.solve(A + I, g)
        xp = np.linalg.solve(P + I, g)
    except np.linalg.LinAlgError as e:
        raise InputError(f"singular system in newton_direction_error ({e}); raise eps") from None
    nx = float(np.linalg.norm(x))
    if nx == 0:
        raise InputError("the unpruned Newton direction is zero (g = 0)")
    return float(np.linalg.norm(xp - x)) / nx
