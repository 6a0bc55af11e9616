"""Matrix features that the cost models need: n, nnz, density, sparsity per row, kappa.

Features are taken of the *regularized* block ``H + eps*I`` (what is actually solved). The
condition number comes from ``qlsa_sim.linalg.spectrum`` with its method and cost recorded:
``exact`` (dense eigvalsh, the reference), ``lanczos`` (ARPACK extremes; for PSD H with
eps > 0, lambda_min >= eps is known), or ``auto`` (exact up to ``exact_max_n``).
A non-symmetric block (``rowwise-topk`` pruning of ``H + eps I``, sometimes ``global``) has ``symmetric=False``: its kappa
is ``sigma_max / sigma_min`` (``kappa_singular``: all singular values up to ``exact_max_n``, else
Lanczos with one LU), Cholesky and CG do not apply, and a QLSA solves its Hermitian dilation.

A block stored as a factor M (H = scale M M^T, r < n columns) with n > ``exact_max_n`` and no pruning takes its
features from M (``linalg/factor.py``), never forming the n x n matrix: kappa exactly (lambda_min = eps since
the rank is at most r < n; lambda_max of the r x r Gram by Lanczos to 1e-13 relative), ``max_abs_entry``,
``frobenius_norm`` and ``factor_frobenius_sq`` exactly from the Gram and the row norms, and the non-zeros from
the support of M: the zero rows and the diagonal exactly, the off-diagonal part from sampled pairs
(``density_method`` "sampled", ``density_error`` the Hoeffding half-width that holds with probability
>= 1 - 1e-6; ``max_nnz_per_row`` an upper bound and ``max_nnz_per_row_lower`` a lower bound, equal when exact).
A symmetric-check and the ``H + eps I`` copy are skipped (the storage guarantees symmetry; finiteness is read
off the Gram). The dense matrix is built only when something asks for it (:attr:`PreparedBlock.matrix`), and
the Gram is kept for a Woodbury solve (:attr:`PreparedBlock.gram`). ``factor_features`` "dense" keeps the
dense path for every block.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from functools import cached_property

import numpy as np

from qlsa_sim.errors import InputError, UnknownNameError
from qlsa_sim.linalg.factor import (
    DENSITY_SAMPLES,
    FactorSummary,
    dense_from_factor,
    factor_sparsity,
    mirror_lower,
    summarize_factor,
)

# conditioning, spectrum and sparsity (scipy: 0.2 s to import) are imported where they are used, so the cost models
# (which need only MatrixFeatures) and ``qlsa-sim estimate`` load without scipy

KAPPA_METHODS = ("auto", "exact", "lanczos")
PRUNE_STRATEGIES = ("symmetric-magnitude", "rowwise-topk", "random", "global")  # linalg/conditioning.STRATEGIES
FACTOR_FEATURES = ("auto", "dense")


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
    factor_features: str = "auto"  # auto: features of a large factored block from its factor; dense: never
    density_samples: int = DENSITY_SAMPLES       # sampled pairs of the factor path's density (linalg/factor.py)

    def __post_init__(self) -> None:
        if not (self.reg_eps >= 0 and np.isfinite(self.reg_eps)):
            raise InputError(f"regularization eps must be finite and >= 0, got {self.reg_eps}")
        if self.kappa_method not in KAPPA_METHODS:
            raise InputError(f"unknown kappa method {self.kappa_method!r}; known: {', '.join(KAPPA_METHODS)}")
        if not 0 <= self.density_tol < 1:
            raise InputError(f"density tolerance must be in [0, 1), got {self.density_tol}")
        if self.prune_density is not None and not 0 < self.prune_density <= 1:
            raise InputError(f"prune density must be in (0, 1], got {self.prune_density}")
        if self.prune_strategy not in PRUNE_STRATEGIES:
            raise UnknownNameError("pruning strategy", self.prune_strategy, PRUNE_STRATEGIES)
        if self.factor_features not in FACTOR_FEATURES:
            raise UnknownNameError("factor features", self.factor_features, FACTOR_FEATURES)
        if not (isinstance(self.density_samples, int) and self.density_samples >= 1):
            raise InputError(f"density samples must be an integer >= 1, got {self.density_samples!r}")


@dataclass(frozen=True)
class MatrixFeatures:
    """Features of ``H + eps*I``. ``seconds`` is what taking them cost (scheduler overhead).

    ``kappa`` = max|lambda| / min|lambda| (also for indefinite blocks, e.g. exact transformer
    Hessians); ``positive_definite`` says whether lambda_min > 0 (Cholesky applies).
    ``symmetric=False`` (rowwise-topk pruning): ``kappa`` = sigma_max / sigma_min, ``lambda_min`` and
    ``lambda_max`` hold sigma_min and sigma_max, ``positive_definite`` is False, and
    ``max_nnz_per_row`` counts rows and columns (the sparsity of the Hermitian dilation).
    ``density_method``: "exact" (counted), or "sampled" (from a factor: ``density`` is within
    ``density_error`` of the truth with probability >= 1 - 1e-6, ``max_nnz_per_row`` is an upper bound and
    ``max_nnz_per_row_lower`` a lower bound; module docstring). ``gram_seconds``: the part of ``seconds`` spent
    on the factor's Gram matrix, which a Woodbury solve of the block reuses; > 0 exactly when the features
    computed it (the factor path), and then Woodbury's modeled cost leaves it out (``cost/models.py``).
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
    density_method: str = "exact"
    density_error: float = 0.0
    max_nnz_per_row_lower: int | None = None   # None: max_nnz_per_row is exact
    gram_seconds: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


def matrix_features(H: np.ndarray | None, config: FeatureConfig = FeatureConfig(), *, name: str = "matrix",
                    factor: np.ndarray | None = None, factor_scale: float = 1.0) -> MatrixFeatures:
    """Features of the block as solved (regularized, pruned if configured); see :func:`prepare`."""
    return prepare(H, config, name=name, factor=factor, factor_scale=factor_scale).features


def prepare_block(H: np.ndarray | None, config: FeatureConfig = FeatureConfig(), *, name: str = "matrix",
                  factor: np.ndarray | None = None, factor_scale: float = 1.0) -> tuple[np.ndarray, MatrixFeatures]:
    """The matrix to solve, ``prune(H + eps I)`` (or ``H + eps I``), and its features (:func:`prepare`, with the
    matrix built)."""
    p = prepare(H, config, name=name, factor=factor, factor_scale=factor_scale)
    return p.matrix, p.features


@dataclass(frozen=True, eq=False)
class PreparedBlock:
    """A block as the scheduler prepared it: its features, and the matrix a solver solves,
    ``A = prune(H + eps I)``, built on first use (:attr:`matrix`) when the features came from the factor.

    ``factor``/``scale``: the stored factor (H = scale M M^T), None once pruned (it no longer describes A);
    ``gram``: ``M^T M`` (float64) when the features computed it, for a Woodbury solve to reuse."""

    features: MatrixFeatures
    dense: np.ndarray | None = field(default=None, repr=False)
    factor: np.ndarray | None = field(default=None, repr=False)
    scale: float = 1.0
    gram: np.ndarray | None = field(default=None, repr=False)

    @property
    def from_factor(self) -> bool:
        """Whether the features came from the factor (the dense matrix is then built only on first use)."""
        return self.dense is None and self.factor is not None

    @property
    def matrix_built(self) -> bool:
        """Whether :attr:`matrix` exists already (a dense-path block, or one asked for before)."""
        return self.dense is not None or "matrix" in self.__dict__

    @cached_property
    def matrix(self) -> np.ndarray:
        """``A`` (float64, n x n); for a block whose features came from its factor, ``scale * M M^T + eps I`` built
        now (``linalg/factor.dense_from_factor``; equal to the dense path's matrix up to rounding)."""
        if self.dense is not None:
            return self.dense
        lower = self.__dict__.pop("_lower", None)
        if lower is not None:
            return mirror_lower(lower)
        return dense_from_factor(self.factor, self.scale, self.features.reg_eps)

    def lower_matrix(self) -> np.ndarray:
        """``A`` with (at least) its lower triangle right: what a Cholesky solve reads. For a block whose features came
        from its factor and whose :attr:`matrix` is not built, the upper triangle is left zero (saves the mirror);
        :attr:`matrix` completes the same array later if asked."""
        if self.matrix_built:
            return self.matrix
        if "_lower" not in self.__dict__:
            self.__dict__["_lower"] = dense_from_factor(self.factor, self.scale, self.features.reg_eps, mirror=False)
        return self.__dict__["_lower"]


def uses_factor_path(n: int, config: FeatureConfig, factor: np.ndarray | None) -> bool:
    """Whether the features of a block come from its factor (module docstring): a factor of r < n columns,
    n > ``exact_max_n``, no pruning, kappa not forced "exact", and ``factor_features`` "auto"."""
    return (factor is not None and config.factor_features == "auto" and config.prune_density is None
            and config.kappa_method != "exact" and n > config.exact_max_n and factor.ndim == 2
            and factor.shape[0] == n and 0 < factor.shape[1] < n)


def prepare(H: np.ndarray | None, config: FeatureConfig = FeatureConfig(), *, name: str = "matrix",
            factor: np.ndarray | None = None, factor_scale: float = 1.0) -> PreparedBlock:
    """Features of the block as solved and the (possibly deferred) matrix, :class:`PreparedBlock`.

    ``H`` may be None when ``factor`` is given (H = factor_scale M M^T). Dense path: raises InputError on bad shape,
    NaN/Inf or asymmetry of ``H``; with the block's ``factor`` and no pruning, kappa comes exactly from the r x r
    Gram matrix (``kappa_from_factor``) unless ``kappa_method="exact"``. Factor path: module docstring. Offline
    replay and live training both call this, so they see the same features and make the same decisions.
    """
    t0 = time.perf_counter()
    if factor is not None:
        factor = factor.detach().cpu().numpy() if hasattr(factor, "detach") else np.asarray(factor)
    if H is None and factor is None:
        raise InputError(f"{name}: give the matrix or its factor")
    n = int(np.shape(H)[0]) if H is not None else int(factor.shape[0])
    if uses_factor_path(n, config, factor):
        f, summary = _factor_features(factor, float(factor_scale), config, name, t0)
        return PreparedBlock(f, None, factor, float(factor_scale), summary.gram)
    if H is None:
        H = factor_scale * (factor @ factor.T)  # as a trace reader rebuilds it (traces/store.py)
    A, f = _dense_features(H, config, name, factor, factor_scale, t0)
    return PreparedBlock(f, A, factor if config.prune_density is None else None, float(factor_scale))


def _dense_features(H: np.ndarray, config: FeatureConfig, name: str, factor: np.ndarray | None,
                    factor_scale: float, t0: float) -> tuple[np.ndarray, MatrixFeatures]:
    """``prune(H + eps I)`` and its features, every one counted or computed on the dense matrix."""
    from qlsa_sim.linalg.conditioning import prune, regularize
    from qlsa_sim.linalg.sparsity import nnz_per_row as _nnz_per_row
    from qlsa_sim.linalg.spectrum import check_symmetric, kappa_exact, kappa_from_factor, kappa_lanczos, kappa_singular

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


def _factor_features(M: np.ndarray, scale: float, config: FeatureConfig, name: str, t0: float
                     ) -> tuple[MatrixFeatures, FactorSummary]:
    """Features of ``scale M M^T + eps I`` from the factor alone (module docstring; ``linalg/factor.py``)."""
    from qlsa_sim.linalg.spectrum import gram_lambda_max, kappa_from_factor

    if not (math.isfinite(scale) and scale > 0):
        raise InputError(f"{name}: factor scale must be finite and > 0, got {scale}")
    s = summarize_factor(M, name=name)
    G = s.gram
    if config.reg_relative:
        eps = float(config.reg_eps * scale * gram_lambda_max(G).theta_max)
        if not eps > 0:
            raise InputError(f"{name}: relative regularization needs lambda_max > 0 (the factor is zero)")
    else:
        eps = float(config.reg_eps)
    spec = kappa_from_factor(None, eps, scale=scale, gram=G, n=s.n, lanczos_min_rank=1)
    max_abs = float(scale * s.row_sq.max()) + eps  # the largest diagonal entry (|H_ij| <= sqrt(H_ii H_jj))
    sp = factor_sparsity(M, s, scale, eps, config.density_tol * max_abs, samples=config.density_samples)
    tr = float(np.trace(G))
    fro_sq = scale * scale * float(np.einsum("ij,ij->", G, G)) + 2.0 * eps * scale * tr + s.n * eps * eps
    n = s.n
    f = MatrixFeatures(
        n=n, nnz=int(round(sp.nnz)), density=sp.nnz / float(n * n), density_tol=config.density_tol,
        max_nnz_per_row=sp.max_nnz_per_row, max_abs_entry=max_abs, reg_eps=eps, kappa=float(spec.kappa),
        lambda_min=float(spec.lambda_min), lambda_max=float(spec.lambda_max), kappa_method=spec.method,
        kappa_exact=bool(spec.exact), positive_definite=bool(spec.lambda_min > 0), kappa_seconds=float(spec.seconds),
        seconds=time.perf_counter() - t0, factor_rank=s.r, symmetric=True, frobenius_norm=math.sqrt(fro_sq),
        factor_frobenius_sq=tr, factor_scale=scale, density_method="sampled",
        density_error=sp.nnz_error / float(n * n), max_nnz_per_row_lower=sp.max_nnz_per_row_lower,
        gram_seconds=s.gram_seconds)
    return f, s
