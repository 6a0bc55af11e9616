"""Crossover grids: log10 of the modeled QLSA / classical time ratio over (kappa, density) at fixed n, and the
break-even kappa. Every figure is MODELED (``cost/models.py``; grid points through ``grid_features``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from qlsa_sim.core.names import Solver
from qlsa_sim.cost.models import SecondsFn, seconds_fn
from qlsa_sim.cost.profile import CalibrationProfile
from qlsa_sim.errors import InputError
from qlsa_sim.linalg.features import MatrixFeatures

KAPPA_RANGE = (1.0, 1e8)
DENSITY_RANGE = (1e-4, 1.0)


def seconds_grid(fn: SecondsFn, n: int, kappas: np.ndarray, densities: np.ndarray, *, progress: bool = False,
                 desc: str = "grid") -> np.ndarray:
    """``fn(n, kappa, density)`` on the grid (rows: density, columns: kappa). MODELED."""
    from qlsa_sim.core.logs import progress as progress_of

    rows = progress_of(densities, desc, unit="row", enabled=progress)
    return np.array([[fn(n, k, d) for k in kappas] for d in rows])


def ratio_grid(quantum: SecondsFn, classical: SecondsFn, n: int, kappas: np.ndarray, densities: np.ndarray
               ) -> np.ndarray:
    """log10(T_quantum / T_classical) on the grid (rows: density, columns: kappa). MODELED."""
    return np.log10(seconds_grid(quantum, n, kappas, densities) / seconds_grid(classical, n, kappas, densities))


def classical_rivals(profile: CalibrationProfile, factor_rank: int | None = None, *, best: bool = True
                     ) -> list[tuple[str, SecondsFn]]:
    """(name, seconds function) of every calibrated classical solver on a grid block (Woodbury only with a
    factor rank, computing its own Gram), and, if ``best``, of the best of them."""
    rivals = [(m.solver, seconds_fn(m, factor_rank)) for m in profile.classical_models
              if m.solver != Solver.WOODBURY or factor_rank is not None]
    if best:
        singles = tuple(fn for _, fn in rivals)
        rivals.append(("best classical", lambda n_, k, d: min(fn(n_, k, d) for fn in singles)))
    return rivals


def crossover_grids(quantum: SecondsFn, rivals: Sequence[tuple[str, SecondsFn]], n: int, *, resolution: int = 40,
                    progress: bool = False) -> tuple[list[tuple[str, np.ndarray]], np.ndarray, np.ndarray]:
    """(one (label, log10 quantum / rival ratio grid) per rival, kappas, densities) on log-spaced axes; the
    quantum grid is priced once (the resource model counts circuits: ``progress`` shows its rows)."""
    kappas = np.geomspace(*KAPPA_RANGE, resolution)
    dens = np.geomspace(*DENSITY_RANGE, resolution)
    q = seconds_grid(quantum, n, kappas, dens, progress=progress, desc=f"crossover map, QLSA at n={n}")
    return [(label, np.log10(q / seconds_grid(fn, n, kappas, dens))) for label, fn in rivals], kappas, dens


def break_even_kappa(quantum: SecondsFn, classical: SecondsFn, n: int, density: float, kappa_max: float = 1e16
                     ) -> float:
    """Smallest kappa on a fine log grid where the QLSA is no longer cheaper (MODELED); inf if never."""
    for k in np.geomspace(1.0, kappa_max, 321):
        if quantum(n, k, density) >= classical(n, k, density):
            return float(k)
    return math.inf


def with_kappa(f: MatrixFeatures, kappa: float) -> MatrixFeatures:
    """The block ``f`` at condition number ``kappa``, its size and sparsity kept: the block's own encodings (and
    classical solvers) priced at another kappa.

    A rank-deficient block stored as a factor, A = scale M M^T + eps I with r < n, has lambda_min(A) = eps, so
    another kappa is another shift: eps' = lambda_max(H) / (kappa - 1). The factor stays (Woodbury and the factor
    encoding still apply) and the entries follow exactly: ||A'||_F^2 = ||H||_F^2 + 2 eps' tr H + n eps'^2 with
    tr H = scale ||M||_F^2, and max|A'_ij| = max_i H_ii + eps' (a PSD matrix's largest entry is on its diagonal).
    Any other block (or kappa <= 1) keeps its entries and Frobenius norm with lambda_min = lambda_max / kappa, and
    drops the factor form."""
    kappa = float(kappa)
    if (f.factor_rank is not None and f.factor_rank < f.n and f.symmetric and kappa > 1.0
            and f.factor_frobenius_sq is not None and f.factor_scale is not None and math.isfinite(f.max_abs_entry)):
        eps = f.reg_eps
        lmax_h = f.lambda_max - eps
        trace_h = f.factor_scale * f.factor_frobenius_sq
        fro_h_sq = max(f.frobenius_norm ** 2 - 2 * eps * trace_h - f.n * eps ** 2, 0.0)
        new_eps = lmax_h / (kappa - 1.0)
        return replace(f, kappa=kappa, reg_eps=new_eps, lambda_min=new_eps, lambda_max=lmax_h + new_eps,
                       max_abs_entry=f.max_abs_entry - eps + new_eps,
                       frobenius_norm=math.sqrt(fro_h_sq + 2 * new_eps * trace_h + f.n * new_eps ** 2))
    return replace(f, kappa=kappa, lambda_min=f.lambda_max / kappa, factor_rank=None,
                   factor_frobenius_sq=None, factor_scale=None)


def break_even_kappa_of_block(f: MatrixFeatures, quantum, classical: Sequence, *, kappa_max: float = 1e16,
                              decades_tol: float = 0.05, classical_scale: float = 1.0) -> float:
    """The smallest kappa (to ``decades_tol`` decades, by bisection in log kappa) at which the QLSA priced by
    ``quantum`` on the block ``f`` (:func:`with_kappa`) is no longer cheaper than the best of the ``classical``
    models that apply, times ``classical_scale`` (1: as modeled; a run's MEASURED / modeled ratio of its classical
    solves prices the classical side as it ran); inf if it stays cheaper up to ``kappa_max``, 1 if it never is.
    MODELED."""
    if not (math.isfinite(classical_scale) and classical_scale > 0):
        raise InputError(f"classical_scale must be finite and > 0, got {classical_scale}")

    def quantum_dearer(k: float) -> bool:
        g = with_kappa(f, k)
        best = classical_scale * min(m.estimate(g).seconds for m in classical if m.applies(g))
        return quantum.estimate(g).seconds >= best

    lo, hi = 0.0, math.log10(kappa_max)
    if quantum_dearer(1.0):
        return 1.0
    if not quantum_dearer(kappa_max):
        return math.inf
    while hi - lo > decades_tol:
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if quantum_dearer(10 ** mid) else (mid, hi)
    return float(10 ** hi)
