"""Matrix features that the cost models need: n, nnz, density, sparsity per row, kappa.

Features are taken of the *regularized* block ``H + eps*I`` (what is actually solved). The
condition number comes from ``qlsa_sim.linalg.spectrum`` with its method and cost recorded:
``exact`` (dense eigvalsh, the reference), ``lanczos`` (ARPACK extremes; for PSD H with
eps > 0, lambda_min >= eps is known), or ``auto`` (exact up to ``exact_max_n``).
A non-symmetric block (``rowwise-topk`` pruning of ``H + eps I``, sometimes ``global``) has ``symmetric=False``: its kappa
is ``sigma_max / sigma_min`` (``kappa_singular``: all singular values up to ``exact_max_n``, else
Lanczos with one LU), Cholesky and CG do not apply, and a QLSA solves its Hermitian dilation.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import numpy as np

from qlsa_sim.errors import InputError, UnknownNameError
from qlsa_sim.linalg.conditioning import STRATEGIES, prune, regularize
from qlsa_sim.linalg.sparsity import nnz_per_row as _nnz_per_row
from qlsa_sim.linalg.spectrum import check_symmetric, kappa_exact, kappa_from_factor, kappa_lanczos, kappa_singular

KAPPA_METHODS = ("auto", "exact", "lanczos")


@dataclass(frozen=True)
class FeatureConfig:
    """How features are taken. ``reg_eps`` is absolute, or relative to lambda_max if ``reg_relative``."""

    reg_eps: float = 1e-3
    reg_relative: bool = False
    density_tol: float = 0.0       # |H_ij| > density_tol * max|H| counts as non-zero
    kappa_method: str = "auto"
    exact_max_n: int = 1024        # above this, Lanczos (cheap) rather than eigvalsh (O(n^3))
    psd: bool = True               # curvature blocks (GGN, ReLU-MLP Hessian) are PSD
    prune_density: float | None = None           # prune H + eps I to this density (None: no pruning)
    prune_strategy: str = "symmetric-magnitude"  # see linalg/conditioning.py (rowwise-topk: non-symmetric)

    def __post_init__(self) -> None:
        if not (self.reg_eps >= 0 and np.isfinite(self.reg_eps)):
            raise InputError(f"regularization eps must be finite and >= 0, got {self.reg_eps}")
        if self.kappa_method not in KAPPA_METHODS:
            raise InputError(f"unknown kappa method {self.kappa_method!r}; known: {', '.join(KAPPA_METHODS)}")
        if not 0 <= self.density_tol < 1:
            raise InputError(f"density tolerance must be in [0, 1), got {self.density_tol}")
        if self.prune_density is not None and not 0 < self.prune_density <= 1:
            raise InputError(f"prune density must be in (0, 1], got {self.prune_density}")
        if self.prune_strategy not in STRATEGIES:
            raise UnknownNameError("pruning strategy", self.prune_strategy, STRATEGIES)


@dataclass(frozen=True)
class MatrixFeatures:
    """Features of ``H + eps*I``. ``seconds`` is what taking them cost (scheduler overhead).

    ``kappa`` = max|lambda| / min|lambda| (also for indefinite blocks, e.g. exact transformer
    Hessians); ``positive_definite`` says whether lambda_min > 0 (Cholesky applies).
    ``symmetric=False`` (rowwise-topk pruning): ``kappa`` = sigma_max / sigma_min, ``lambda_min`` and
    ``lambda_max`` hold sigma_min and sigma_max, ``positive_definite`` is False, and
    ``max_nnz_per_row`` counts rows and columns (the sparsity of the Hermitian dilation).
    """

    n: int
    nnz: int
    density: float
    density_tol: float
    max_nnz_per_row: int
    max_abs_entry: float
    reg_eps: float
    kappa: float
    lambda_min: float
    lambda_max: float
    kappa_method: str
    kappa_exact: bool
    positive_definite: bool
    kappa_seconds: float
    seconds: float
    factor_rank: int | None = None   # columns r of a stored factor (H = scale M M^T), if any
    symmetric: bool = True
    frobenius_norm: float = math.nan           # ||A||_F of the matrix solved (NaN: unknown, e.g. a grid point)
    factor_frobenius_sq: float | None = None   # ||M||_F^2 of the stored factor (A = scale M M^T + eps I)
    factor_scale: float | None = None          # its scale

    def as_dict(self) -> dict:
        return asdict(self)


def matrix_features(H: np.ndarray, config: FeatureConfig = FeatureConfig(), *, name: str = "matrix",
                    factor: np.ndarray | None = None, factor_scale: float = 1.0) -> MatrixFeatures:
    """Features of the block as solved (regularized, pruned if configured); see :func:`prepare_block`."""
    return prepare_block(H, config, name=name, factor=factor, factor_scale=factor_scale)[1]


def prepare_block(H: np.ndarray, config: FeatureConfig = FeatureConfig(), *, name: str = "matrix",
                  factor: np.ndarray | None = None, factor_scale: float = 1.0) -> tuple[np.ndarray, MatrixFeatures]:
    """The matrix to solve, ``prune(H + eps I)`` (or ``H + eps I``), and its features.

    Raises InputError on bad shape, NaN/Inf or asymmetry of ``H``. With the block's ``factor`` M
    (H = factor_scale M M^T) and no pruning, kappa comes exactly from the r x r Gram matrix
    (``kappa_from_factor``) unless ``kappa_method="exact"``. Offline replay and live training
    both call this, so they see the same features and make the same decisions.
    """
    t0 = time.perf_counter()
    H = np.asarray(H, dtype=np.float64)
    check_symmetric(H, name=name)
    A, eps_abs = regularize(H, config.reg_eps, relative=config.reg_relative)
    pruned = config.prune_density is not None
    if pruned:
        A = prune(A, config.prune_density, config.prune_strategy, keep_pd=config.psd).matrix
        factor = None  # the factor describes the unpruned block
    max_abs = float(max(A.max(), -A.min())) if A.size else 0.0  # max|A_ij| without an n x n |A| temporary
    tol = config.density_tol * max_abs
    method = config.kappa_method
    if method == "auto":
        method = "exact" if A.shape[0] <= config.exact_max_n else "lanczos"
    # symmetric-magnitude and random keep the pairs (i, j), (j, i) together; rowwise-topk breaks them, and
    # global (exactly k entries) may split a pair of equal magnitude at its threshold
    symmetric = (not pruned or config.prune_strategy in ("symmetric-magnitude", "random")
                 or bool(np.array_equal(A, A.T)))
    if not symmetric:
        spec = kappa_singular(A, exact_max_n=A.shape[0] if method == "exact" else 0)  # "auto" resolved above
    elif factor is not None and method != "exact":
        spec = kappa_from_factor(factor, eps_abs, scale=factor_scale)
    elif method == "exact":
        spec = kappa_exact(A)
    else:  # Lanczos on H with the shift known (PSD: lambda_min >= eps), or on the pruned matrix itself
        spec = kappa_lanczos(A, 0.0, psd=config.psd) if pruned else kappa_lanczos(H, eps_abs, psd=config.psd)
    nnz_rows = _nnz_per_row(A, tol)
    max_nnz = int(nnz_rows.max()) if symmetric else int(max(nnz_rows.max(), _nnz_per_row(A.T, tol).max()))
    n = int(A.shape[0])
    fsq = float(np.einsum("ij,ij->", factor, factor, dtype=np.float64)) if factor is not None else None
    features = MatrixFeatures(
        n=n, nnz=int(nnz_rows.sum()), density=float(nnz_rows.sum()) / float(A.size),
        density_tol=config.density_tol,
        max_nnz_per_row=max_nnz, max_abs_entry=max_abs, reg_eps=float(eps_abs),
        kappa=float(spec.kappa), lambda_min=float(spec.lambda_min), lambda_max=float(spec.lambda_max),
        kappa_method=spec.method, kappa_exact=bool(spec.exact),
        positive_definite=symmetric and bool(spec.lambda_min > 0),
        kappa_seconds=float(spec.seconds), seconds=time.perf_counter() - t0,
        factor_rank=None if factor is None else int(factor.shape[1]), symmetric=symmetric,
        frobenius_norm=float(np.linalg.norm(A)), factor_frobenius_sq=fsq,
        factor_scale=None if factor is None else float(factor_scale))
    return A, features
