"""Calibration: measure dense SPD solves here, fit paper Eq. 3; fit paper Eq. 4 to the resource model.

The result is a :class:`~qlsa_sim.cost.profile.CalibrationProfile` (saved as JSON under
``calibration/`` by ``cost/profile.py``) holding the machine, the raw timings, the fitted constants and
the fit quality (R^2). Fits minimize *relative* squared error (weights
1/T, so that small-n timings count as much as large ones) with non-negative constants
(``scipy.optimize.nnls``); R^2 is reported on the raw seconds and on log10 seconds, always on
all sizes. Eq. 3 (Cholesky, LU) is fitted by :func:`fit_eq3`, by default "asymptotic" (c1 from
the largest sizes), which extrapolates to larger n far better than one relative fit over all sizes.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import nnls
from threadpoolctl import threadpool_info

from qlsa_sim.core.logs import progress as progress_of
from qlsa_sim.core.names import Solver
from qlsa_sim.core.threads import pinned_threads
from qlsa_sim.cost import classical_solvers as cs
from qlsa_sim.cost.models import (
    ClassicalCubicModel,
    ClassicalFlopModel,
    QuantumEq4Model,
    QuantumResourceModel,
    eq4_regressor,
    grid_features,
)
from qlsa_sim.cost.profile import CalibrationProfile, ClassicalFit, MemoryFit, QuantumFit
from qlsa_sim.errors import InputError, UnknownNameError
from qlsa_sim.linalg import solvers


@dataclass(frozen=True)
class LinearFit:
    """``y ~ a * x + b`` with its quality."""

    a: float
    b: float
    r2: float
    r2_log: float


def fit_linear_relative(x: Sequence[float], y: Sequence[float]) -> LinearFit:
    """Fit ``y = a x + b`` with a, b >= 0 minimizing sum(((a x + b - y) / y)^2)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.shape != y.shape or x.size < 2:
        raise InputError(f"need at least two (x, y) points of equal length, got {x.size} and {y.size}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()) or (y <= 0).any():
        raise InputError("fit data must be finite with positive y")
    w = 1.0 / y
    (a, b), _ = nnls(np.column_stack([x * w, w]), np.ones_like(y))
    return LinearFit(float(a), float(b), *_r2(y, a * x + b))


def _r2(y: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    """R^2 of ``pred`` against ``y`` on raw and on log10 values."""
    r2 = 1.0 - float(np.sum((y - pred) ** 2)) / max(float(np.sum((y - y.mean()) ** 2)), 1e-300)
    ly, lp = np.log10(y), np.log10(np.maximum(pred, 1e-300))
    r2_log = 1.0 - float(np.sum((ly - lp) ** 2)) / max(float(np.sum((ly - ly.mean()) ** 2)), 1e-300)
    return r2, r2_log


EQ3_FITS = ("asymptotic", "relative")
EQ3_FIT_RULES = {
    "asymptotic": "c1 = n^3 coefficient of a non-negative relative-error fit of c1 n^3 + b n^2 to the medians "
                  "minus the overhead (median at the smallest n) at n >= max n / 4 (at least the 3 largest sizes), "
                  "the n^2 term (blocked-factorization panel work) then dropped; c2 = overhead - c1 n_min^3, >= 0",
    "relative": "c1, c2 by non-negative least squares on relative error (weights 1/T) of the medians at all sizes",
}


@dataclass(frozen=True)
class Eq3Fit:
    """Paper Eq. 3 constants ``t = c1 n^3 + c2``, the rule that fitted them (``EQ3_FIT_RULES``),
    the sizes c1 was fitted on and R^2 of the model on all sizes (raw and log10 seconds)."""

    c1: float
    c2: float
    r2: float
    r2_log: float
    method: str
    c1_sizes: tuple[int, ...]

    def seconds(self, n: float) -> float:
        return self.c1 * float(n) ** 3 + self.c2


def fit_eq3(n: Sequence[float], t: Sequence[float], method: str = "asymptotic") -> Eq3Fit:
    """Fit paper Eq. 3, ``t = c1 n^3 + c2``, to dense-solve seconds ``t`` at sizes ``n``.

    "relative": :func:`fit_linear_relative` on all sizes; it weighs the overhead-dominated small
    sizes as much as the large ones, so with a BLAS whose GFLOP/s still rise at the largest
    calibrated n it over-predicts at larger n (1.9-3.6x at 6x the largest n, measured).
    "asymptotic": a blocked factorization costs ~ c1 n^3 (level-3 updates) + b n^2 (panels,
    level-2) + overhead, so c1 is fitted with b to t minus the overhead (the median t at the
    smallest n) on the largest sizes (n >= max n / 4, at least the 3 largest); b is then dropped
    and c2 is that overhead minus c1 n_min^3. If that c1 is 0 (overhead-dominated or noisy
    sizes), c1 is fitted alone, by relative error, to the band's seconds. Measured with sizes up
    to N = 2048 (1 thread; bench/bench_calibration_extrapolation.py): 0.55-0.9x at N (the dropped
    b n^2), 0.7-1.1x at 2N, 0.9-1.3x at 3N-6N.
    """
    if method not in EQ3_FITS:
        raise UnknownNameError("Eq. 3 fit", method, EQ3_FITS)
    n, t = np.asarray(n, float), np.asarray(t, float)
    if n.shape != t.shape or n.ndim != 1 or np.unique(n).size < 2:
        raise InputError(f"Eq. 3 fit needs timings at two or more distinct sizes, got sizes {n.tolist()}")
    if not (np.isfinite(n).all() and np.isfinite(t).all()) or (n <= 0).any() or (t <= 0).any():
        raise InputError("Eq. 3 fit needs finite, positive sizes and seconds")
    if method == "relative":
        f = fit_linear_relative(n ** 3, t)
        return Eq3Fit(f.a, f.b, f.r2, f.r2_log, method, tuple(int(v) for v in np.unique(n)))
    sizes = np.unique(n)
    band = n >= min(n.max() / 4, sizes[-min(3, sizes.size)])
    overhead = float(np.median(t[n == n.min()]))
    w, y = 1.0 / t[band], 1.0 - overhead / t[band]          # relative error of (t - overhead)
    (c1, _), _ = nnls(np.column_stack([n[band] ** 3 * w, n[band] ** 2 * w]), y)
    if c1 <= 0:   # n^3 term not resolved: c1 n^3 alone on the band's seconds (always > 0)
        (c1,), _ = nnls((n[band] ** 3 * w)[:, None], np.ones(int(band.sum())))
    c2 = max(0.0, overhead - c1 * n.min() ** 3)
    return Eq3Fit(float(c1), c2, *_r2(t, c1 * n ** 3 + c2), method, tuple(int(v) for v in np.unique(n[band])))


def random_spd(n: int, rng: np.random.Generator, kappa: float | None = None) -> np.ndarray:
    """Dense SPD test matrix: ``A A^T / n + I``, or ``Q diag(geomspace(1, kappa)) Q^T`` if ``kappa``."""
    A = rng.standard_normal((n, n))
    if kappa is None:
        return A @ A.T / n + np.eye(n)
    Q, _ = np.linalg.qr(A)
    return (Q * np.geomspace(1.0, kappa, n)) @ Q.T


def _time(fn: Callable[[], Any], repeats: int, budget_seconds: float) -> tuple[list[float], Any]:
    times, out = [], None
    for r in range(max(1, repeats)):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        if r >= 1 and sum(times) > budget_seconds:
            break
    return times, out


def _residual(A, x, b) -> float:
    return float(np.linalg.norm(A @ x - b) / np.linalg.norm(b))


def time_dense_solves(solver: str, sizes: Sequence[int], *, repeats: int = 5, seed: int = 0,
                      progress: bool = True, budget_seconds: float = 2.0) -> list[dict]:
    """MEASURED seconds of one dense ``cholesky`` or ``lu`` solve (float64, ``linalg.solvers``) per n.

    Every repeat and the median are kept; repeats at large n stop after ``budget_seconds``.
    """
    fn = {"cholesky": solvers.cholesky_solve, "lu": solvers.lu_solve}[solver]
    rng = np.random.default_rng(seed)
    out = []
    for n in progress_of(list(sizes), f"calibrate {solver}", unit="n", enabled=progress):
        A, b = random_spd(int(n), rng), rng.standard_normal(int(n))
        times, x = _time(lambda: fn(A, b), repeats, budget_seconds)
        out.append({"n": int(n), "seconds": times, "median": float(np.median(times)),
                    "flops": (cs.cholesky_flops if solver == "cholesky" else cs.lu_flops)(n),
                    "relative_residual": _residual(A, x, b)})
    return out


def time_cg_solves(sizes: Sequence[int], kappas: Sequence[float], *, rtol: float, repeats: int = 3,
                   seed: int = 0, progress: bool = True) -> list[dict]:
    """MEASURED CG solves on dense SPD matrices of known kappa; flops from the MEASURED iterations."""
    rng = np.random.default_rng(seed + 1)
    out = []
    for n in progress_of(list(sizes), "calibrate cg", unit="n", enabled=progress):
        for kappa in kappas:
            A, b = random_spd(int(n), rng, kappa), rng.standard_normal(int(n))
            times, (x, iters) = _time(lambda: solvers.cg_solve(A, b, rtol=rtol), repeats, 2.0)
            out.append({"n": int(n), "kappa": float(kappa), "iterations": int(iters),
                        "modeled_iterations": cs.cg_iterations(kappa, rtol),
                        "flops": float(iters) * (2.0 * n * n + 10.0 * n), "seconds": times,
                        "median": float(np.median(times)), "relative_residual": _residual(A, x, b)})
    return out


def time_woodbury_solves(shapes: Sequence[tuple[int, int]], *, repeats: int = 3, seed: int = 0,
                         progress: bool = True, eps: float = 1e-3) -> list[dict]:
    """MEASURED Woodbury solves of (M M^T / r + eps I) x = b for factors M of shape (n, r)."""
    rng = np.random.default_rng(seed + 2)
    out = []
    for n, r in progress_of(list(shapes), "calibrate woodbury", unit="shape", enabled=progress):
        M, b = rng.standard_normal((n, r)), rng.standard_normal(n)
        times, x = _time(lambda: solvers.woodbury_solve(M, b, eps, scale=1.0 / r), repeats, 2.0)
        resid = float(np.linalg.norm(M @ (M.T @ x) / r + eps * x - b) / np.linalg.norm(b))
        out.append({"n": int(n), "r": int(r), "flops": cs.woodbury_flops(n, r), "seconds": times,
                    "median": float(np.median(times)), "relative_residual": resid})
    return out


#: Working sets of the GEMV ladder (bytes): from well inside a server's last-level cache to well past it.
MEMORY_LADDER_BYTES = tuple(float(2 ** k) for k in range(23, 30))  # 8 MiB .. 512 MiB
#: A working set counts as cached while its GEMV streams at least this many times the memory bandwidth.
CACHED_SPEEDUP = 2.0


def time_gemv_ladder(sizes_bytes: Sequence[float] = MEMORY_LADDER_BYTES, *, repeats: int = 5,
                     progress: bool = True) -> list[dict]:
    """MEASURED float64 GEMVs y = A x, A square with 8 n^2 of about each of ``sizes_bytes``: bytes per second."""
    out = []
    for size in progress_of(list(sizes_bytes), "calibrate memory", unit="size", enabled=progress):
        n = max(2, int(round((float(size) / cs.FLOAT64_BYTES) ** 0.5)))
        A, x = np.ones((n, n)), np.ones(n)
        A @ x  # first touch of the pages
        times, _ = _time(lambda: A @ x, max(repeats, 3), 2.0)
        best = float(min(times))
        out.append({"n": n, "bytes": cs.FLOAT64_BYTES * n * n, "seconds": times, "best": best,
                    "bandwidth_Bps": cs.FLOAT64_BYTES * n * n / best})
    return out


def fit_memory(timings: Sequence[dict]) -> tuple[float, float]:
    """(bandwidth, cache bytes) from a GEMV ladder: the bandwidth is the median of the two largest working sets'
    rates (past the cache); the cache is the largest working set up to which every rung streamed at least
    ``CACHED_SPEEDUP`` times that (0 if none did)."""
    rows = sorted(timings, key=lambda r: r["bytes"])
    if len(rows) < 2:
        raise InputError("the memory ladder needs at least two working sets")
    bw = float(np.median([r["bandwidth_Bps"] for r in rows[-2:]]))
    cache = 0.0
    for r in rows:
        if r["bandwidth_Bps"] < CACHED_SPEEDUP * bw:
            break
        cache = float(r["bytes"])
    return bw, cache


def measure_memory(sizes_bytes: Sequence[float] = MEMORY_LADDER_BYTES, *, repeats: int = 5,
                   progress: bool = True) -> MemoryFit:
    """The roofline's memory side of this machine (:func:`time_gemv_ladder`, :func:`fit_memory`)."""
    t = time_gemv_ladder(sizes_bytes, repeats=repeats, progress=progress)
    return MemoryFit(*fit_memory(t), timings=tuple(t))


EQ4_KAPPAS = (2.0, 10.0, 1e2, 1e3, 1e4, 1e5)
EQ4_DENSITIES = (0.01, 0.1, 0.5, 1.0)


def eq4_grid(ns: Sequence[int]) -> list[tuple[int, float, float]]:
    """(n, kappa, density) points of the Eq. 4 fit at the sizes ``ns`` (kappa 2..1e5, density 0.01..1)."""
    sizes = sorted({int(n) for n in ns})
    if not sizes or sizes[0] < 2:
        raise InputError(f"the Eq. 4 fit needs block sizes n >= 2, got {list(ns)}")
    return [(n, k, d) for n in sizes for k in EQ4_KAPPAS for d in EQ4_DENSITIES]


def default_quantum_grid(n_max: int = 1 << 14) -> list[tuple[int, float, float]]:
    """(n, kappa, density) points spanning 16..n_max (6 sizes) for the Eq. 4 fit when no sizes are known."""
    return eq4_grid([int(v) for v in np.unique(np.geomspace(16, n_max, 6).astype(int))])


def refit_eq4(profile: CalibrationProfile, sizes: Sequence[int], method: str = "log", *, progress: bool = False
              ) -> CalibrationProfile:
    """``profile`` with paper Eq. 4 refitted to its resource model at the block sizes being replayed: Eq. 4's
    ln(n/eps) cannot follow the resource model's growth with n (the data loading grows with n s), so a fit
    across sizes is wrong everywhere; at the replayed sizes it is as close as its form allows. The fit's
    error per size is kept (``QuantumFit.error_by_n``). Nothing is measured."""
    rm = profile.resources
    fit, rows = fit_quantum_eq4(rm, eq4_grid(sizes), method, progress=progress)
    eq4 = QuantumFit(QuantumEq4Model(fit.a, fit.b, rm.precision, rm.preset, rm.hardware), fit.r2, fit.r2_log,
                     f"{method}: {EQ4_FIT_RULES[method]}; at the replayed sizes n = "
                     f"{', '.join(str(n) for n in sorted(set(int(v) for v in sizes)))}", tuple(rows),
                     tuple(eq4_error_by_n(rows, fit.a, fit.b)))
    return replace(profile, eq4=eq4)


EQ4_FITS = ("log", "relative")
EQ4_FIT_RULES = {
    "log": "least squares on log seconds (q1, q2 >= 0; every grid point weighs the same in decades), so Eq. 4 is "
           "as close as its form allows at every size of the grid, large blocks included",
    "relative": "non-negative least squares on relative error (weights 1/T) over the grid (dominated by the "
                "smallest, cheapest points; kept for comparison)",
}


def fit_linear_log(x: Sequence[float], y: Sequence[float]) -> LinearFit:
    """Fit ``y = a x + b`` with a, b >= 0 minimizing sum((ln(a x + b) - ln y)^2), from the relative fit."""
    from scipy.optimize import least_squares

    x, y = np.asarray(x, float), np.asarray(y, float)
    start = fit_linear_relative(x, y)
    ly = np.log(y)

    def resid(p: np.ndarray) -> np.ndarray:
        return np.log(np.exp(p[0]) * x + np.exp(p[1])) - ly

    p0 = np.log([max(start.a, 1e-300), max(start.b, 1e-300)])
    sol = least_squares(resid, p0, method="lm" if x.size >= 2 else "trf")
    a, b = (float(v) for v in np.exp(sol.x))
    best = (a, b) if np.sum(resid(sol.x) ** 2) <= np.sum(resid(p0) ** 2) else (start.a, start.b)
    return LinearFit(best[0], best[1], *_r2(y, best[0] * x + best[1]))


def eq4_error_by_n(rows: Sequence[dict], q1: float, q2: float) -> list[dict]:
    """Per grid size n: how far Eq. 4 is from the resource model (ratio Eq. 4 / resource seconds; median, min
    and max over the grid's kappas and densities). A ratio < 1 means Eq. 4 makes the QLSA cheaper."""
    out = []
    for n in sorted({r["n"] for r in rows}):
        ratios = np.array([(q1 * r["x"] + q2) / r["seconds"] for r in rows if r["n"] == n])
        out.append({"n": int(n), "median_ratio": float(np.median(ratios)), "min_ratio": float(ratios.min()),
                    "max_ratio": float(ratios.max()), "points": int(ratios.size)})
    return out


def fit_quantum_eq4(model: QuantumResourceModel, grid: Sequence[tuple[int, float, float]], method: str = "log",
                    *, progress: bool = False) -> tuple[LinearFit, list[dict]]:
    """Fit paper Eq. 4 to the resource model's modeled seconds over ``grid`` (``EQ4_FIT_RULES[method]``);
    ``progress`` shows the grid points as the resource model prices them (it counts circuits)."""
    if method not in EQ4_FITS:
        raise UnknownNameError("Eq. 4 fit", method, EQ4_FITS)
    rows = []
    for n, kappa, d in progress_of(grid, "Eq. 4 fit to the resource model", unit="point", enabled=progress):
        f = grid_features(n, kappa, d)
        rows.append({"n": n, "kappa": kappa, "density": d, "nnz_per_row": f.max_nnz_per_row,
                     "x": eq4_regressor(n, kappa, d, model.precision), "seconds": model.estimate(f).seconds})
    fit = (fit_linear_log if method == "log" else fit_linear_relative)([r["x"] for r in rows],
                                                                      [r["seconds"] for r in rows])
    return fit, rows


def machine_info(threads: int) -> dict:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"hostname": platform.node(), "platform": platform.platform(), "python": platform.python_version(),
            "cpu": cpu, "cpu_count": os.cpu_count(), "numpy": np.__version__,
            "blas": [{k: d.get(k) for k in ("internal_api", "version", "num_threads")} for d in threadpool_info()],
            "threads_used": threads}


CLASSICAL_SOLVERS = tuple(Solver)
FLOP_FIT_RULE = "non-negative least squares on relative error (weights 1/T) of the medians"


def _fit_dense(solver: str, sizes: Sequence[int], repeats: int, seed: int, progress: bool, eq3_fit: str
               ) -> ClassicalFit:
    t = time_dense_solves(solver, sizes, repeats=repeats, seed=seed, progress=progress)
    e = fit_eq3([r["n"] for r in t], [r["median"] for r in t], eq3_fit)
    return ClassicalFit(ClassicalCubicModel(e.c1, e.c2, solver), e.r2, e.r2_log, e.method, e.c1_sizes,
                        t[-1]["flops"] / t[-1]["median"] / 1e9, tuple(t))


def _fit_flops(solver: str, timings: list[dict], rtol: float = 1e-2) -> ClassicalFit:
    f = fit_linear_relative([r["flops"] for r in timings], [r["median"] for r in timings])
    return ClassicalFit(ClassicalFlopModel(f.a, f.b, solver, rtol), f.r2, f.r2_log, FLOP_FIT_RULE,
                        timings=tuple(timings))


def calibrate(*, sizes: Sequence[int] = (32, 64, 128, 256, 512, 1024, 2048), repeats: int = 5, threads: int = 1,
              resource_model: QuantumResourceModel = QuantumResourceModel(), seed: int = 0,
              progress: bool = True, quantum_grid: Sequence[tuple[int, float, float]] | None = None,
              solvers_to_fit: Sequence[str] = CLASSICAL_SOLVERS, eq3_fit: str = "asymptotic",
              eq4_fit: str = "log", memory_sizes: Sequence[float] = MEMORY_LADDER_BYTES) -> CalibrationProfile:
    """Measure classical solves (1 BLAS thread by default), fit Eq. 3 (Cholesky, LU; by
    :func:`fit_eq3` with ``eq3_fit``) and a*flops+b (CG, Woodbury) with the memory term of their roofline
    (:func:`measure_memory`); fit Eq. 4 to the resource model. Nothing is written."""
    import torch  # noqa: F401  - loaded before pinning: the dense solvers use torch from n = 256 on

    if len(set(sizes)) < 2:
        raise InputError("calibration needs at least two distinct matrix sizes")
    if eq3_fit not in EQ3_FITS:
        raise UnknownNameError("Eq. 3 fit", eq3_fit, EQ3_FITS)
    if eq4_fit not in EQ4_FITS:
        raise UnknownNameError("Eq. 4 fit", eq4_fit, EQ4_FITS)
    unknown = [s for s in solvers_to_fit if s not in CLASSICAL_SOLVERS]
    if unknown or Solver.CHOLESKY not in solvers_to_fit:
        raise InputError(f"solvers to fit must include cholesky and be among {', '.join(CLASSICAL_SOLVERS)}")
    fits: list[ClassicalFit] = []
    with pinned_threads(threads):
        for solver in (Solver.CHOLESKY, Solver.LU):
            if solver in solvers_to_fit:
                fits.append(_fit_dense(solver, sizes, repeats, seed, progress, eq3_fit))
        small = [n for n in sizes if n <= 1024] or list(sizes[:2])
        if Solver.CG in solvers_to_fit:
            t = time_cg_solves(small, (10.0, 1e3), rtol=resource_model.precision, repeats=repeats, seed=seed,
                               progress=progress)
            fits.append(_fit_flops(Solver.CG, t, resource_model.precision))
        if Solver.WOODBURY in solvers_to_fit:
            shapes = [(n, r) for n in (max(sizes) // 4, max(sizes)) for r in (16, 64, 256) if r < n]
            fits.append(_fit_flops(Solver.WOODBURY, time_woodbury_solves(shapes, repeats=repeats, seed=seed,
                                                                         progress=progress)))
        memory = (measure_memory(memory_sizes, repeats=repeats, progress=progress)
                  if {Solver.CG, Solver.WOODBURY} & set(solvers_to_fit) else None)
    qfit, qrows = fit_quantum_eq4(resource_model, quantum_grid or default_quantum_grid(), eq4_fit, progress=progress)
    rm = resource_model
    eq4 = QuantumFit(QuantumEq4Model(qfit.a, qfit.b, rm.precision, rm.preset, rm.hardware), qfit.r2, qfit.r2_log,
                     f"{eq4_fit}: {EQ4_FIT_RULES[eq4_fit]}", tuple(qrows),
                     tuple(eq4_error_by_n(qrows, qfit.a, qfit.b)))
    return CalibrationProfile(tuple(fits), eq4, rm, measured=True,
                              source=(f"measured here: Eq. 3 ({eq3_fit}): {EQ3_FIT_RULES[eq3_fit]}; CG, Woodbury: "
                                      f"{FLOP_FIT_RULE}; R^2 on all sizes"),
                              created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                              threads=threads, repeats=repeats, machine=tuple(machine_info(threads).items()),
                              memory=memory)
